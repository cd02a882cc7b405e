//! `render DIR -o OUT`, `check` and the CLI surface.

use crate::test::{Test, seed_page};

#[test]
fn check_is_clean_on_shipped_runbooks() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    Test::new()
        .args(&["check", root.join("runbooks").to_str().unwrap()])
        .stderr_contains("2 pages checked, 0 problems")
        .run();
}

#[test]
fn check_reports_seed_problem_with_snippet_and_exit_1() {
    let page = seed_page();
    let out = Test::new()
        .args(&["check", page.to_str().unwrap()])
        .status(1)
        .stderr_contains("error: Liquid syntax error")
        .stderr_contains("53 |     eval $({{site.experiment Release Testing}})")
        .stderr_contains("   |            ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^")
        .run();
    assert!(
        out.stderr.contains("1 page checked, 1 problem"),
        "{}",
        out.stderr
    );
}

#[test]
fn check_json() {
    let out = Test::new()
        .site("a: 1\n")
        .page("x\n{{ site.b }}\n")
        .args(&["check", "--json", "page.md"])
        .status(1)
        .run();
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let p = &v["problems"][0];
    assert_eq!(p["code"], "undefined-variable");
    assert_eq!(p["line"], 2);
    assert_eq!(p["column"], 4);
    assert_eq!(p["severity"], "error");
}

#[test]
fn help_has_examples_and_exit_codes() {
    Test::new()
        .args(&["--help"])
        .stdout_contains("Examples:")
        .stdout_contains("Exit status:")
        .run();
}

#[test]
fn usage_error_exits_2() {
    Test::new()
        .args(&["render"])
        .status(2)
        .stderr_contains("Usage")
        .run();
}

#[test]
fn completions_and_man_page() {
    // each subcommand's own options are there, before the global ones (clap builds a
    // subcommand's arguments only when it is given, except for these)
    Test::new()
        .args(&["completions", "bash"])
        .stdout_contains("_runbook()")
        .stdout_contains("opts=\"-o -v -q -h --output --html --strict --site --var --verbose")
        .stdout_contains("--dry-run")
        .run();
    Test::new()
        .args(&["man"])
        .stdout_contains(".TH runbook")
        .run();
    Test::new()
        .args(&["man", "run"])
        .stdout_contains("dry\\-run")
        .run();
}

#[test]
fn list_seed_page_text() {
    let page = seed_page();
    let out = Test::new().args(&["list", page.to_str().unwrap()]).run();
    let s = &out.stdout;
    assert!(s.contains("creating-a-master-2"), "{s}");
    assert!(
        s.contains("<alimesosXX> line 85:20, sets $MACHINE_NAME"),
        "{s}"
    );
    assert!(
        s.contains("<X> line 86:24, sets $ZONE, hint: <X> needs to be in {a,b,c}"),
        "{s}"
    );
    assert!(s.contains("<slave name> line 162:38"), "{s}");
    assert!(
        s.contains("site variables: site.experiment, site.master_hostgroup"),
        "{s}"
    );
    // the malformed tag is reported while listing too
    assert!(
        out.stderr.contains("infrastructure-mesos.markdown:53:12"),
        "{}",
        out.stderr
    );
}

#[test]
fn list_json_has_stable_ids_and_source_lines() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Test::new()
        .args(&[
            "list",
            "--json",
            root.join("runbooks/build-infrastructure.md")
                .to_str()
                .unwrap(),
        ])
        .run();
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let sections = v["sections"].as_array().unwrap();
    let ids: Vec<&str> = sections.iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "set-up-the-openstack-environment",
            "create-a-master",
            "create-a-slave",
            "delete-a-slave",
            "reboot-a-slave"
        ]
    );
    let master = &sections[1]["steps"];
    assert_eq!(master[1]["id"], "create-a-master-2");
    assert_eq!(
        master[1]["code"].as_str().unwrap().lines().next(),
        Some("MACHINE_NAME=<alimesosXX>")
    );
    assert_eq!(master[1]["placeholders"][0]["name"], "alimesosXX");
    assert_eq!(master[1]["placeholders"][0]["assigned_to"], "MACHINE_NAME");
    // lines are in the source file (front matter included)
    let src = std::fs::read_to_string(root.join("runbooks/build-infrastructure.md")).unwrap();
    let line = master[1]["lines"][0].as_u64().unwrap() as usize;
    assert!(
        src.lines()
            .nth(line - 1)
            .unwrap()
            .contains("MACHINE_NAME=<{{site.exp_prefix}}mesosXX>")
    );
    assert!(
        v["site_variables"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x == "site.landb_admin")
    );
}

#[test]
fn check_reports_unclosed_fence() {
    Test::new()
        .site("x: 1\n")
        .page("# T\n\n```bash\necho hi\n")
        .args(&["check", "page.md"])
        .status(1)
        .stderr_contains("code fence ``` is never closed")
        .stderr_contains("page.md:3:1")
        .run();
}

#[test]
fn check_lists_placeholders_as_notes_without_failing() {
    Test::new()
        .site("x: 1\n")
        .page("# T\n\n```bash\nssh <host name> uptime 2>&1 < /dev/null\n```\n")
        .args(&["check", "page.md"])
        .stderr_contains("note: placeholder `<host name>`")
        .stderr_contains("page.md:4:5")
        .stderr_contains("1 page checked, 0 problems, 1 placeholder to fill at run time")
        .run();
}

#[test]
fn quiet_hides_warnings_and_verbose_shows_the_tools_log() {
    let page = seed_page();
    let out = Test::new()
        .args(&["-q", "render", page.to_str().unwrap()])
        .stderr_lacks("warning")
        .run();
    assert!(out.stdout.contains("eval $(ALICE)"));
    assert_eq!(out.stderr, "");
    Test::new()
        .args(&["-vv", "render", page.to_str().unwrap()])
        .stderr_contains("DEBUG runbook::site: site loaded")
        .stderr_contains("warning: Liquid syntax error")
        .run();
}

#[test]
fn render_output_file_is_written_whole() {
    let out = Test::new()
        .site("x: 1\n")
        .page("{{ site.x }}\n")
        .args(&["render", "page.md", "-o", "out/page.md"])
        .stdout("")
        .run();
    assert_eq!(
        std::fs::read_to_string(out.dir.join("out/page.md")).unwrap(),
        "1\n"
    );
    let leftovers: Vec<_> = std::fs::read_dir(out.dir.join("out")).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "no temporary file left behind");
}

#[test]
fn render_tree_reports_failing_pages_and_exits_2() {
    Test::new()
        .site("x: 1\n")
        .file("a.md", "{{ site.x }}\n")
        .file("b.md", "{% if %}\n")
        .args(&["render", ".", "-o", "out"])
        .status(2)
        .stderr_contains("b.md:1:7")
        .stderr_contains("1 of 2 pages failed to render")
        .run();
}

#[test]
fn loops_computed_once_per_build_still_warn_on_every_page() {
    let page = "{% for i in (1..2) %}[{{ i }}{{ site.nope }}]{% endfor %}\n";
    let out = Test::new()
        .site("x: 1\n")
        .file("a.md", page)
        .file("b.md", page)
        .file(
            "c.md",
            "{% assign site = 'mine' %}{% for i in (1..2) %}{{ site }}{% endfor %}\n",
        )
        .args(&["render", ".", "-o", "out"])
        .run();
    assert!(out.stderr.contains("a.md:1:"), "{}", out.stderr);
    assert!(out.stderr.contains("b.md:1:"), "{}", out.stderr);
    for f in ["a.md", "b.md"] {
        assert_eq!(
            std::fs::read_to_string(out.dir.join("out").join(f)).unwrap(),
            "[1][2]\n"
        );
    }
    // a page that assigns `site` sees its own value
    assert_eq!(
        std::fs::read_to_string(out.dir.join("out/c.md")).unwrap(),
        "minemine\n"
    );
}

#[test]
fn locations_on_a_page_of_25000_lines() {
    let mut page = String::from("# Big\n\n");
    for i in 0..25_000 {
        page.push_str(&format!("line {{{{ site.x }}}} {i}\n"));
    }
    page.push_str("\n```bash\nssh <host>\n```\n");
    let out = Test::new()
        .site("x: 1\n")
        .page(&page)
        .args(&["list", "--json", "page.md"])
        .run();
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let p = &v["sections"][0]["steps"][0]["placeholders"][0];
    assert_eq!(p["line"], 25_005);
    assert_eq!(p["column"], 5);
}

/// Names in `dir` (sorted), to see what a render left beside its output.
fn names(dir: &std::path::Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn a_new_output_tree_appears_whole_and_leaves_no_staging_folder() {
    let out = Test::new()
        .site("x: 1\n")
        .file("src/a.md", "a {{ site.x }}\n")
        .file(
            "src/sub/b.md",
            "{% for p in site.pages %}{{ p.path }} {% endfor %}\n",
        )
        .args(&["render", "src", "-o", "build/out"])
        .run();
    assert_eq!(names(&out.dir.join("build")), ["out"]);
    let read = |rel: &str| std::fs::read_to_string(out.dir.join("build/out").join(rel)).unwrap();
    assert_eq!(read("a.md"), "a 1\n");
    // the page that lists the site sees both pages, read once for the index and the render
    assert_eq!(read("sub/b.md"), "src/a.md src/sub/b.md \n");
}

#[test]
fn rendering_into_a_tree_that_has_files_replaces_pages_one_by_one() {
    let out = Test::new()
        .site("x: 2\n")
        .file("src/a.md", "a {{ site.x }}\n")
        .file("out/a.md", "old\n")
        .file("out/keep.txt", "not ours\n")
        .args(&["render", "src", "-o", "out"])
        .run();
    assert_eq!(names(&out.dir.join("out")), ["a.md", "keep.txt"]);
    assert_eq!(
        std::fs::read_to_string(out.dir.join("out/a.md")).unwrap(),
        "a 2\n"
    );
    assert!(
        names(&out.dir).iter().all(|n| !n.contains("runbook-")),
        "{:?}",
        names(&out.dir)
    );
}

#[test]
fn an_output_folder_that_cannot_be_made_leaves_nothing_behind() {
    // `out` is a file: the output tree cannot be created there
    let out = Test::new()
        .site("x: 1\n")
        .file("src/a.md", "a\n")
        .file("out", "a file\n")
        .args(&["render", "src", "-o", "out"])
        .status(2)
        .stderr_contains("out")
        .run();
    assert_eq!(
        std::fs::read_to_string(out.dir.join("out")).unwrap(),
        "a file\n"
    );
    assert!(
        names(&out.dir).iter().all(|n| !n.contains("runbook-")),
        "{:?}",
        names(&out.dir)
    );
}

#[test]
fn an_include_rendered_once_per_build_gives_every_page_what_it_would_alone() {
    let pure = "{% assign n = include.count | plus: 1 %}{% for i in (1..n) %}{{ i }}{% endfor %}|{{ include.t | upcase }}";
    let reads_caller = "{{ who }}:{{ include.p }}";
    let reads_page = "{{ page.title }}:{{ include.p }}";
    let warns = "{{ include.missing.deep }}{{ include.p }}";
    let page = |title: &str, who: &str| {
        format!(
            "---\ntitle: {title}\n---\n{{% assign who = \"{who}\" %}}\
             {{% include pure.html count=2 t=\"x\" %}} n={{{{ n }}}}\n\
             {{% include caller.html p=1 %}}\n{{% include page.html p=1 %}}\n\
             {{% include warns.html p=1 %}}\n\
             {{% for who in (7..8) %}}{{% include caller.html p=1 %}}{{% endfor %}}\n"
        )
    };
    let out = Test::new()
        .site("x: 1\n")
        .file("_includes/pure.html", pure)
        .file("_includes/caller.html", reads_caller)
        .file("_includes/page.html", reads_page)
        .file("_includes/warns.html", warns)
        .file("src/a.md", page("A", "alice"))
        .file("src/b.md", page("B", "bob"))
        .args(&["render", "src", "-o", "out", "--site", "site.yaml"])
        .run();
    let read = |rel: &str| std::fs::read_to_string(out.dir.join("out").join(rel)).unwrap();
    assert_eq!(read("a.md"), "123|X n=3\nalice:1\nA:1\n1\n7:18:1\n");
    assert_eq!(read("b.md"), "123|X n=3\nbob:1\nB:1\n1\n7:18:1\n");
    // an include that warns is rendered on each page, so each page gets its warning
    let warned = out
        .stderr
        .matches("undefined variable `include.missing`")
        .count();
    assert_eq!(warned, 2, "{}", out.stderr);
}

#[test]
fn an_output_folder_given_as_a_symlink_is_written_through() {
    let t = Test::new()
        .site("x: 3\n")
        .file("src/a.md", "a {{ site.x }}\n");
    std::fs::create_dir(t.path().join("real")).unwrap();
    std::os::unix::fs::symlink(t.path().join("real"), t.path().join("link")).unwrap();
    let out = t.args(&["render", "src", "-o", "link"]).run();
    assert!(out.dir.join("link").is_symlink());
    assert_eq!(
        std::fs::read_to_string(out.dir.join("real/a.md")).unwrap(),
        "a 3\n"
    );
}

#[test]
fn a_staging_folder_left_by_a_killed_render_is_cleared() {
    // pid 2^22 + 1 is above Linux's pid_max: no such process
    let out = Test::new()
        .site("x: 1\n")
        .file("src/a.md", "a\n")
        .file(".out.runbook-4194305/a.md", "half\n")
        .args(&["render", "src", "-o", "out"])
        .run();
    assert_eq!(
        names(&out.dir)
            .iter()
            .filter(|n| n.contains("runbook-"))
            .count(),
        0
    );
    assert_eq!(
        std::fs::read_to_string(out.dir.join("out/a.md")).unwrap(),
        "a\n"
    );
}
