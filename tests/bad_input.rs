//! Bad input: a clear message naming file and line, exit 2, never a panic.

use crate::test::Test;

fn bad(page: &str, message: &str, location: &str) {
    Test::new()
        .site("x: 1\n")
        .page(page)
        .args(&["render", "page.md"])
        .status(2)
        .stderr_contains(message)
        .stderr_contains(location)
        .stdout("")
        .run();
}

#[test]
fn missing_page() {
    Test::new()
        .args(&["render", "nope.md"])
        .status(2)
        .stderr_contains("nope.md does not exist")
        .run();
}

#[test]
fn invalid_front_matter() {
    bad(
        "---\ntitle: [unclosed\n---\nbody\n",
        "invalid YAML",
        "page.md:",
    );
}

#[test]
fn front_matter_with_tabs() {
    bad(
        "---\ntitle: x\n\tother: y\n---\nbody\n",
        "invalid YAML",
        "page.md:3",
    );
}

#[test]
fn invalid_site_yaml() {
    Test::new()
        .site("a: 1\nb: [\n")
        .page("x\n")
        .args(&["render", "page.md"])
        .status(2)
        .stderr_contains("invalid YAML")
        .stderr_contains("site.yaml:")
        .run();
}

#[test]
fn unterminated_output_tag() {
    bad(
        "line\n  {{ site.x\n",
        "was not properly terminated",
        "page.md:2:3",
    );
}

#[test]
fn unterminated_block_tag() {
    bad("a {% if x\n", "was not properly terminated", "page.md:1:3");
}

#[test]
fn quote_brace_is_fatal_as_in_jekyll() {
    bad(
        "{{ \"a}b\" }}\n",
        "was not properly terminated",
        "page.md:1:1",
    );
}

#[test]
fn unclosed_block() {
    bad(
        "x\n{% if true %}\nnever closed\n",
        "'if' tag was never closed",
        "page.md:2:1",
    );
}

#[test]
fn mismatched_end() {
    bad(
        "{% for i in (1..2) %}{% endif %}\n",
        "'endif' is not a valid delimiter for for tags",
        "page.md:1:22",
    );
}

#[test]
fn unknown_tag() {
    bad(
        "\n\n  {% frobnicate %}\n",
        "Unknown tag 'frobnicate'",
        "page.md:3:3",
    );
}

#[test]
fn unterminated_raw() {
    bad(
        "{% raw %}\n{{ x }}\n",
        "'raw' tag was never closed",
        "page.md:1:1",
    );
}

#[test]
fn missing_include() {
    bad(
        "\n{% include nope.html %}\n",
        "Could not locate the included file 'nope.html'",
        "page.md:2:1",
    );
}

#[test]
fn recursive_include() {
    Test::new()
        .site("x: 1\n")
        .file("_includes/a.html", "a {% include b.html %}")
        .file("_includes/b.html", "b {% include a.html %}")
        .page("{% include a.html %}\n")
        .args(&["render", "page.md"])
        .status(2)
        .stderr_contains("include recursion")
        .stderr_contains("b.html:1:3")
        .run();
}

#[test]
fn include_escaping_the_site() {
    bad(
        "{% include ../../etc/passwd %}\n",
        "invalid characters or sequences",
        "page.md:1:1",
    );
}

#[test]
fn include_through_symlink_outside_root() {
    let t = Test::new().site("x: 1\n").page("{% include evil.html %}\n");
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.html"), "SECRET").unwrap();
    std::fs::create_dir_all(t.path().join("_includes")).unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("secret.html"),
        t.path().join("_includes/evil.html"),
    )
    .unwrap();
    let out = t
        .args(&["render", "page.md"])
        .status(2)
        .stderr_contains("outside the site")
        .run();
    assert!(!out.stdout.contains("SECRET"));
}

#[test]
fn include_with_liquid_error_points_into_the_include() {
    Test::new()
        .site("x: 1\n")
        .file("_includes/broken.html", "ok\n{% if %}\n")
        .page("{% include broken.html %}\n")
        .args(&["render", "page.md"])
        .status(2)
        .stderr_contains("_includes/broken.html:2:7")
        .run();
}

#[test]
fn binary_file() {
    Test::new()
        .site("x: 1\n")
        .file("page.md", b"abc\n\0\x01\x02")
        .args(&["render", "page.md"])
        .status(2)
        .stderr_contains("page.md:2: is a binary file")
        .run();
}

#[test]
fn non_utf8_file() {
    Test::new()
        .site("x: 1\n")
        .file("page.md", b"ok\ncaf\xe9\n")
        .args(&["render", "page.md"])
        .status(2)
        .stderr_contains("page.md:2:4: is not valid UTF-8")
        .run();
}

#[test]
fn empty_file_renders_empty() {
    Test::new()
        .site("x: 1\n")
        .page("")
        .args(&["render", "page.md"])
        .stdout("")
        .run();
}

#[test]
fn bad_var_flag() {
    Test::new()
        .page("x\n")
        .args(&["render", "page.md", "--var", "builduser=x"])
        .status(2)
        .stderr_contains("only site values can be set")
        .run();
}

#[test]
fn division_by_zero_fails_like_jekyll() {
    bad(
        "a\n{{ 1 | divided_by: 0 }}\n",
        "divided by 0",
        "page.md:2:8",
    );
}

#[test]
fn invalid_data_file_fails_the_page_that_reads_it() {
    Test::new()
        .site("x: 1\n")
        .file("_data/hosts.yml", "a: [1,\n")
        .page("{{ site.data.hosts.a }}\n")
        .args(&["render", "page.md"])
        .status(2)
        .stderr_contains("_data/hosts.yml:")
        .run();
}

#[test]
fn check_reads_all_data_files() {
    Test::new()
        .site("x: 1\n")
        .file("_data/broken.json", "{\"a\": }")
        .page("no data used\n")
        .args(&["check", "page.md"])
        .status(1)
        .stderr_contains("invalid JSON")
        .stderr_contains("_data/broken.json:1:")
        .run();
}

#[test]
fn symlink_loops_in_a_site_are_not_followed() {
    let t = Test::new()
        .site("x: 1\ncollections: [notes]\n")
        .file(
            "a.md",
            "{% for p in site.pages %}{{ p.name }} {% endfor %}{{ site.data.k.v }}\n",
        )
        .file("_data/k.yml", "v: 1\n")
        .file("_notes/n.md", "---\n---\nnote\n");
    for (link, to) in [("loop", "."), ("_data/again", ".."), ("_notes/up", "..")] {
        std::os::unix::fs::symlink(to, t.path().join(link)).unwrap();
    }
    let out = t.args(&["render", ".", "-o", "out"]).run();
    assert_eq!(
        std::fs::read_to_string(out.dir.join("out/a.md")).unwrap(),
        "a.md 1\n"
    );
}

#[test]
fn blocks_nested_10000_deep_are_refused_not_a_crash() {
    let page = format!(
        "{}x{}\n",
        "{% if true %}".repeat(10_000),
        "{% endif %}".repeat(10_000)
    );
    bad(&page, "blocks are nested more than 100 deep", "page.md:1:");
}

#[test]
fn a_condition_with_10000_operators_is_refused_not_a_crash() {
    let page = format!(
        "{{% if {} %}}x{{% endif %}}\n",
        vec!["true"; 10_000].join(" and ")
    );
    bad(&page, "Syntax Error in tag 'if'", "page.md:1:");
}

#[test]
fn brackets_nested_10000_deep_read_as_nothing() {
    Test::new()
        .site("x: 1\n")
        .page(&format!(
            "[{{{{ {}x{} }}}}]\n",
            "[".repeat(10_000),
            "]".repeat(10_000)
        ))
        .args(&["render", "page.md"])
        .stdout("[]\n")
        .stderr_contains("expression nested too deep")
        .run();
}

#[test]
fn includes_nested_too_deep() {
    let mut t = Test::new().site("x: 1\n").page("{% include i0.html %}\n");
    for i in 0..150 {
        t = t.file(
            &format!("_includes/i{i}.html"),
            format!("{{% include i{}.html %}}", i + 1),
        );
    }
    t.file("_includes/i150.html", "end")
        .args(&["render", "page.md"])
        .status(2)
        .stderr_contains("includes nested more than 100 deep")
        .stderr_contains("_includes/i99.html:1:1")
        .run();
}

// ---------------------------------------------------------------------------------------
// YAML: front matter and site config

#[test]
fn front_matter_with_bad_indentation() {
    bad(
        "---\ntitle: x\n  bad: y\n---\nbody\n",
        "invalid YAML: mapping values are not allowed",
        "page.md:3:6",
    );
}

#[test]
fn front_matter_with_an_unclosed_quote() {
    bad(
        "---\ntitle: \"unclosed\n---\nbody\n",
        "invalid YAML",
        "page.md:2:8",
    );
}

#[test]
fn front_matter_with_an_unclosed_flow_mapping() {
    bad(
        "---\nmap: {a: 1\n---\nbody\n",
        "invalid YAML",
        "page.md:3:1",
    );
}

#[test]
fn site_config_with_a_tab() {
    Test::new()
        .site("x: 1\n\tb: 2\n")
        .page("x\n")
        .args(&["render", "page.md"])
        .status(2)
        .stderr_contains("invalid YAML")
        .stderr_contains("site.yaml:2:1")
        .stderr_contains("does not allow tabs")
        .stdout("")
        .run();
}

// Duplicate keys: Psych (hence Jekyll) takes the last value without a word, so `render`
// does the same (it promises Jekyll's output) but warns with file:line:column at the second
// key; `check` counts the warning as a problem (exit 1): a page that says two things is a
// mistake worth failing CI for, and a warning alone would scroll by.

#[test]
fn duplicate_key_in_front_matter_warns_and_check_refuses() {
    let page = "---\na: 1\na: 2\n---\nx {{ page.a }}\n";
    Test::new()
        .site("x: 1\n")
        .page(page)
        .args(&["render", "page.md"])
        .stdout("x 2\n")
        .stderr_contains("duplicate YAML key `a`: the last value wins")
        .stderr_contains("page.md:3:1")
        .run();
    Test::new()
        .site("x: 1\n")
        .page(page)
        .args(&["check", "page.md"])
        .status(1)
        .stderr_contains("duplicate YAML key `a`")
        .stderr_contains("page.md:3:1")
        .stderr_contains("1 problem")
        .run();
}

#[test]
fn duplicate_key_in_site_config_warns_and_check_refuses() {
    Test::new()
        .site("x: 1\ny: 0\nx: 2\n")
        .page("{{ site.x }}\n")
        .args(&["render", "page.md"])
        .stdout("2\n")
        .stderr_contains("duplicate YAML key `x`")
        .stderr_contains("site.yaml:3:1")
        .run();
    Test::new()
        .site("x: 1\ny: 0\nx: 2\n")
        .page("{{ site.x }}\n")
        .args(&["check", "page.md"])
        .status(1)
        .stderr_contains("site.yaml:3:1")
        .run();
}

/// Nine anchors of nine aliases each: 9^9 strings if expanded.
fn billion_laughs(indent: &str) -> String {
    let mut s = format!(
        "{indent}a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n"
    );
    for (prev, name) in ["a", "b", "c", "d", "e", "f", "g", "h"]
        .iter()
        .zip(["b", "c", "d", "e", "f", "g", "h", "i"])
    {
        s.push_str(&format!(
            "{indent}{name}: &{name} [{}]\n",
            vec![format!("*{prev}"); 9].join(",")
        ));
    }
    s
}

#[test]
fn yaml_alias_bomb_in_front_matter_is_refused() {
    let page = format!("---\n{}---\n{{{{ page.i }}}}\n", billion_laughs(""));
    for cmd in ["render", "list"] {
        Test::new()
            .site("x: 1\n")
            .page(&page)
            .args(&[cmd, "page.md"])
            .status(2)
            .stderr_contains("YAML aliases expand to more than 1000000 values")
            .stderr_contains("page.md:8:8")
            .stdout("")
            .run();
    }
}

#[test]
fn yaml_alias_bomb_in_site_config_is_refused() {
    Test::new()
        .site(&billion_laughs(""))
        .page("{{ site.i | jsonify }}\n")
        .args(&["render", "page.md"])
        .status(2)
        .stderr_contains("YAML aliases expand")
        .stderr_contains("site.yaml:7:8")
        .stdout("")
        .run();
}

// ---------------------------------------------------------------------------------------
// Liquid

#[test]
fn unterminated_output_tag_at_end_of_file() {
    bad(
        "a\n{{",
        "Variable '{{' was not properly terminated",
        "page.md:2:1",
    );
}

#[test]
fn unterminated_block_tag_at_end_of_file() {
    bad(
        "a\n{%",
        "Tag '{%' was not properly terminated",
        "page.md:2:1",
    );
}

#[test]
fn unterminated_output_tag_inside_a_code_block() {
    bad(
        "# S\n\n```bash\necho {{ site.x\n```\n",
        "was not properly terminated",
        "page.md:4:6",
    );
}

#[test]
fn unterminated_block_tag_inside_a_code_block() {
    bad(
        "```bash\necho ok\n  {% if x\n```\n",
        "was not properly terminated",
        "page.md:3:3",
    );
}

#[test]
fn unterminated_comment() {
    bad(
        "a\n{% comment %}\nx\n",
        "'comment' tag was never closed",
        "page.md:2:1",
    );
}

#[test]
fn unclosed_capture() {
    bad(
        "a\n{% capture x %}\nfoo\n",
        "'capture' tag was never closed",
        "page.md:2:1",
    );
}

#[test]
fn unclosed_for() {
    bad(
        "a\n\n{% for i in (1..2) %}\nfoo\n",
        "'for' tag was never closed",
        "page.md:3:1",
    );
}

#[test]
fn unknown_tag_inside_a_code_block() {
    bad(
        "# S\n\n```bash\n{% sudo rm %}\n```\n",
        "Unknown tag 'sudo'",
        "page.md:4:1",
    );
}

#[test]
fn unknown_filter_is_an_error_in_strict_and_a_warning_in_lax() {
    let page = "a\n{{ \"x\" | nofilter }}\n";
    Test::new()
        .site("x: 1\n")
        .page(page)
        .args(&["render", "--strict", "page.md"])
        .status(2)
        .stderr_contains("error: unknown filter `nofilter`")
        .stderr_contains("page.md:2:10")
        .stdout("")
        .run();
    Test::new()
        .site("x: 1\n")
        .page(page)
        .args(&["render", "page.md"])
        .stdout("a\nx\n")
        .stderr_contains("warning: unknown filter `nofilter`")
        .stderr_contains("page.md:2:10")
        .run();
}

// ---------------------------------------------------------------------------------------
// Code fences: Markdown closes an unterminated fence at the end of the page, so the page
// still renders (exit 0, what Jekyll does); `list` warns, `check` counts it (exit 1).

#[test]
fn unterminated_backtick_fence() {
    let page = "# T\n\n```bash\necho hi\n";
    Test::new()
        .site("x: 1\n")
        .page(page)
        .args(&["check", "page.md"])
        .status(1)
        .stderr_contains("code fence ``` is never closed")
        .stderr_contains("page.md:3:1")
        .run();
    Test::new()
        .site("x: 1\n")
        .page(page)
        .args(&["render", "page.md"])
        .stdout(page)
        .run();
}

#[test]
fn unterminated_tilde_fence() {
    let page = "# T\n\n~~~bash\necho hi\n";
    Test::new()
        .site("x: 1\n")
        .page(page)
        .args(&["check", "page.md"])
        .status(1)
        .stderr_contains("code fence ~~~ is never closed")
        .stderr_contains("page.md:3:1")
        .run();
    Test::new()
        .site("x: 1\n")
        .page(page)
        .args(&["list", "page.md"])
        .stderr_contains("code fence ~~~ is never closed")
        .stderr_contains("page.md:3:1")
        .run();
}

// ---------------------------------------------------------------------------------------
// Includes

#[test]
fn include_of_an_absolute_path() {
    let out = Test::new()
        .site("x: 1\n")
        .page("x\n{% include /etc/passwd %}\n")
        .args(&["render", "page.md"])
        .status(2)
        .stderr_contains("Could not locate the included file '/etc/passwd'")
        .stderr_contains("page.md:2:1")
        .run();
    assert!(!out.stdout.contains("root:"));
}

#[test]
fn include_relative_escaping_the_site() {
    let t = Test::new();
    std::fs::write(t.path().join("outside.md"), "SECRET").unwrap();
    let out = t
        .file("site/site.yaml", "x: 1\n")
        .file("site/page.md", "{% include_relative ../outside.md %}\n")
        .args(&["render", "site/page.md"])
        .status(2)
        .stderr_contains("invalid characters or sequences: ../outside.md")
        .stderr_contains("site/page.md:1:1")
        .run();
    assert!(!out.stdout.contains("SECRET"));
}

#[test]
fn include_relative_through_a_symlink_out_of_the_site() {
    let t = Test::new()
        .file("site/site.yaml", "x: 1\n")
        .file("site/page.md", "a\n{% include_relative link.md %}\n")
        .file("outside.md", "SECRET");
    std::os::unix::fs::symlink("../outside.md", t.path().join("site/link.md")).unwrap();
    let out = t
        .args(&["render", "site/page.md"])
        .status(2)
        .stderr_contains("included file 'link.md' is outside the site")
        .stderr_contains("site/page.md:2:1")
        .run();
    assert!(!out.stdout.contains("SECRET"));
}

#[test]
fn missing_include_inside_an_include() {
    Test::new()
        .site("x: 1\n")
        .file(
            "_includes/outer.html",
            "one\ntwo {% include inner.html %}\n",
        )
        .page("{% include outer.html %}\n")
        .args(&["render", "page.md"])
        .status(2)
        .stderr_contains("Could not locate the included file 'inner.html'")
        .stderr_contains("_includes/outer.html:2:5")
        .run();
}

// ---------------------------------------------------------------------------------------
// Files

#[test]
fn non_utf8_site_config() {
    Test::new()
        .file("site.yaml", b"x: 1\ny: caf\xe9\n")
        .page("{{ site.x }}\n")
        .args(&["render", "page.md"])
        .status(2)
        .stderr_contains("site.yaml:2:7: is not valid UTF-8 (byte 0xe9)")
        .stdout("")
        .run();
}

#[test]
fn non_utf8_include_names_the_include_and_its_line() {
    Test::new()
        .site("x: 1\n")
        .file("_includes/a.html", b"ok\ncaf\xe9\n")
        .page("x\n{% include a.html %}\n")
        .args(&["render", "page.md"])
        .status(2)
        .stderr_contains("_includes/a.html:2:4: is not valid UTF-8")
        .stderr_contains("page.md:2:1")
        .stdout("")
        .run();
}

#[test]
fn non_utf8_data_file_is_reported_once() {
    let out = Test::new()
        .site("x: 1\n")
        .file("_data/d.yml", b"k: caf\xe9\n")
        .page("{{ site.data.d.k }} {{ site.data.d.k }}\n")
        .args(&["render", "page.md"])
        .status(2)
        .stderr_contains("_data/d.yml:1:7: is not valid UTF-8")
        .run();
    assert_eq!(
        out.stderr.matches("is not valid UTF-8").count(),
        1,
        "{}",
        out.stderr
    );
    let out = Test::new()
        .site("x: 1\n")
        .file("_data/d.yml", b"k: caf\xe9\n")
        .page("{{ site.data.d.k }}\n")
        .args(&["check", "page.md"])
        .status(1)
        .stderr_contains("_data/d.yml:1:7: is not valid UTF-8")
        .run();
    assert_eq!(
        out.stderr.matches("is not valid UTF-8").count(),
        1,
        "{}",
        out.stderr
    );
}

#[test]
fn binary_site_config() {
    Test::new()
        .file("site.yaml", b"x: 1\n\x7fELF\0\0\x02")
        .page("x\n")
        .args(&["render", "page.md"])
        .status(2)
        .stderr_contains("site.yaml:2: is a binary file")
        .stdout("")
        .run();
}

/// An empty page is a valid page: nothing to render, list or check (exit 0), and `run`
/// says, naming the page, that there is nothing to run.
#[test]
fn empty_page() {
    Test::new()
        .site("x: 1\n")
        .page("")
        .args(&["list", "page.md"])
        .stdout_contains("page.md\n0 sections, 0 steps")
        .run();
    Test::new()
        .site("x: 1\n")
        .page("")
        .args(&["check", "page.md"])
        .stderr_contains("1 page checked, 0 problems")
        .run();
    Test::new()
        .site("x: 1\n")
        .page("")
        .args(&["run", "page.md", "--yes"])
        .stderr_contains("page.md has no runnable steps")
        .run();
}

#[test]
fn empty_site_config_is_an_empty_mapping() {
    Test::new()
        .site("")
        .page("a{{ site.x }}b\n")
        .args(&["render", "page.md"])
        .stdout("ab\n")
        .run();
    Test::new()
        .site("")
        .page("a{{ site.x }}b\n")
        .args(&["check", "page.md"])
        .status(1)
        .stderr_contains("undefined variable `site.x`")
        .stderr_contains("page.md:1:5")
        .run();
}

#[test]
fn directory_passed_to_list() {
    Test::new()
        .site("x: 1\n")
        .file("docs/page.md", "x\n")
        .args(&["list", "docs"])
        .status(2)
        .stderr_contains("docs is a directory, not a page")
        .stdout("")
        .run();
}

#[test]
fn list_of_a_page_that_does_not_exist() {
    Test::new()
        .site("x: 1\n")
        .args(&["list", "nope.md"])
        .status(2)
        .stderr_contains("nope.md does not exist")
        .stdout("")
        .run();
}

// ---------------------------------------------------------------------------------------
// Huge inputs: they finish and do not crash. Timings are for `bench/huge.sh` (release
// build); here, in the debug build, each case takes well under a few seconds.

/// A 50 MB page: sections of prose, each with a step that uses a site variable and a Liquid
/// error at its very end (so the message must carry the right line of a 50 MB file).
#[test]
fn page_of_50_mb() {
    let para = "Plain prose about the service, with a [link](http://example.com/) and \
                *emphasis* and `code`. "
        .repeat(8);
    let mut page = String::with_capacity(51 << 20);
    let mut i = 0;
    while page.len() < 50 << 20 {
        page.push_str(&format!(
            "## Part {i}\n\n{para}\n\n```bash\necho {{{{ site.x }}}} {i}\n```\n\n"
        ));
        i += 1;
    }
    let lines = page.matches('\n').count();
    let out = Test::new()
        .site("x: 1\n")
        .page(&page)
        .args(&["render", "page.md"])
        .run();
    assert_eq!(out.stdout.len(), page.len() - i * "{{ site.x }}".len() + i);
    page.push_str("{{ oops\n");
    Test::new()
        .site("x: 1\n")
        .page(&page)
        .args(&["render", "page.md"])
        .status(2)
        .stderr_contains(&format!("page.md:{}:1", lines + 1))
        .stdout("")
        .run();
}

#[test]
fn ten_thousand_steps() {
    let mut page = String::from("# Steps\n\n");
    for i in 0..10_000 {
        page.push_str(&format!("Step {i}:\n\n```bash\necho {i} <host>\n```\n\n"));
    }
    let out = Test::new()
        .site("x: 1\n")
        .page(&page)
        .args(&["list", "--json", "page.md"])
        .run();
    let json: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let text = json.to_string();
    assert!(text.contains("steps-10000"), "last step missing");
    // the last placeholder is reported at its line
    Test::new()
        .site("x: 1\n")
        .page(&page)
        .args(&["check", "page.md"])
        .stderr_contains(&format!("page.md:{}:", 2 + 9_999 * 6 + 4))
        .stderr_contains("10000 placeholders to fill at run time")
        .run();
    Test::new()
        .site("x: 1\n")
        .page(&page)
        .args(&["run", "page.md", "--dry-run", "--set", "host=h"])
        .stdout_contains("[10000/10000]")
        .run();
}

/// Render, list and check a page that must finish with exit 0 and no message.
fn finishes(page: &str) {
    for cmd in ["render", "list", "check"] {
        Test::new()
            .site("x: 1\n")
            .page(page)
            .args(&[cmd, "page.md"])
            .stderr_lacks("error")
            .run();
    }
}

#[test]
fn lists_nested_10000_deep() {
    finishes(&format!("{}item\n", "- ".repeat(10_000)));
    finishes(&format!("{}item\n", "1. ".repeat(10_000)));
}

#[test]
fn blockquotes_nested_10000_deep() {
    finishes(&format!("{}deep\n", "> ".repeat(10_000)));
    finishes(&format!("{}deep\n", "> - ".repeat(5_000)));
}

#[test]
fn liquid_blocks_nested_10000_deep_in_list_and_check() {
    let page = format!(
        "# A\n\n{}x{}\n",
        "{% for i in (1..2) %}".repeat(10_000),
        "{% endfor %}".repeat(10_000)
    );
    Test::new()
        .site("x: 1\n")
        .page(&page)
        .args(&["list", "page.md"])
        .status(2)
        .stderr_contains("blocks are nested more than 100 deep")
        .stderr_contains("page.md:3:")
        .run();
    Test::new()
        .site("x: 1\n")
        .page(&page)
        .args(&["check", "page.md"])
        .status(1)
        .stderr_contains("blocks are nested more than 100 deep")
        .stderr_contains("page.md:3:")
        .run();
}

// ---------------------------------------------------------------------------------------
// Run inputs

/// A value with quotes, `$(...)`, backticks, `;` and a newline is one literal argument in
/// every spot a placeholder can sit, and none of the commands in it runs.
#[test]
fn placeholder_value_with_shell_metacharacters_is_one_argument() {
    let page = "# S\n\n```bash\nprintf '[%s]\\n' <X>\nprintf '[%s]\\n' \"<X>\"\nprintf '[%s]\\n' '<X>'\necho \"$(printf '[%s]' <X>)\"\n```\n";
    let value = "a\"b'c $(touch canary1) `touch canary2` ;touch canary3 &&\nnext line";
    let one = format!("[{value}]\n");
    let out = Test::new()
        .site("x: 1\n")
        .page(page)
        .args(&["run", "page.md", "--yes", "--set", &format!("X={value}")])
        .stdout(&one.repeat(4))
        .stderr_contains("[1/1] S > s-1")
        .stderr_contains("line 3")
        .run();
    for canary in ["canary1", "canary2", "canary3"] {
        assert!(!out.dir.join(canary).exists(), "{canary} was created");
    }
}

/// The same value shown by a dry run: quoted, nothing executed.
#[test]
fn placeholder_value_with_shell_metacharacters_in_a_dry_run() {
    let out = Test::new()
        .site("x: 1\n")
        .page("# S\n\n```bash\necho <X>\n```\n")
        .args(&[
            "run",
            "page.md",
            "--dry-run",
            "--set",
            "X=$(touch canary); touch canary2",
        ])
        .stdout_contains("echo '$(touch canary); touch canary2'")
        .stdout_contains("page.md:3")
        .run();
    assert!(!out.dir.join("canary").exists());
    assert!(!out.dir.join("canary2").exists());
}

/// A newline inside a value is data, not a second command line: the pre-flight check of
/// commands on PATH must not read `next` as a command.
#[test]
fn a_newline_in_a_value_is_not_a_command_for_the_preflight() {
    Test::new()
        .site("x: 1\n")
        .page("# S\n\n```bash\necho <X>\n```\n")
        .args(&["run", "page.md", "--dry-run", "--set", "X=one\nnext line"])
        .stdout_contains("page.md:3")
        .stderr_lacks("`next`")
        .run();
}

#[test]
fn set_for_a_name_the_page_does_not_have() {
    Test::new()
        .site("x: 1\n")
        .page("# S\n\n```bash\nssh <host>\n```\n")
        .args(&["run", "page.md", "--yes", "--set", "hots=a"])
        .status(2)
        .stderr_contains("--set hots: no placeholder or variable of that name")
        .stderr_contains("placeholders here: host")
        .stderr_contains("page.md")
        .stdout("")
        .run();
}

/// Runs go under $XDG_STATE_HOME; when that is a regular file the run directory cannot be
/// created (ENOTDIR: chmod would not stop root, which runs these tests). Nothing runs.
#[test]
fn runs_directory_that_cannot_be_created() {
    let t = Test::new()
        .site("x: 1\n")
        .page("# S\n\n```bash\necho ran > ran.txt\n```\n")
        .file("state-file", "not a directory\n");
    let state = t.path().join("state-file");
    let out = t
        .env("XDG_STATE_HOME", state.to_str().unwrap())
        .args(&["run", "page.md", "--yes"])
        .status(2)
        .stderr_contains("state-file/runbook/runs")
        .stderr_contains("Not a directory")
        .stdout("")
        .run();
    assert!(!out.dir.join("ran.txt").exists());
    Test::new()
        .site("x: 1\n")
        .page("# S\n\n```bash\necho ran\n```\n")
        .file("state-file", "")
        .args(&["run", "page.md", "--yes", "--runs-dir", "state-file/runs"])
        .status(2)
        .stderr_contains("state-file/runs: Not a directory")
        .stdout("")
        .run();
}

/// A disk that fills up during a run, simulated with RLIMIT_FSIZE (writes past 4 KiB fail
/// with EFBIG; SIGXFSZ ignored so they fail instead of killing runbook): the run stops with
/// a message naming the file that could not grow, no panic, the journal stays readable, and
/// once there is room again `--resume` goes on from where it stopped.
#[test]
fn runs_directory_that_fills_up() {
    use std::os::unix::process::CommandExt;
    let mut page = String::from("# S\n\n");
    for _ in 0..20 {
        page.push_str("```bash\nseq 1 200\n```\n\n");
    }
    let t = Test::new().site("x: 1\n").page(&page);
    let dir = t.path().to_path_buf();
    let mut cmd = crate::test::runbook_in(&dir, &["run", "page.md", "--yes"]);
    // SAFETY: only async-signal-safe calls between fork and exec
    unsafe {
        cmd.pre_exec(|| {
            libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
            let lim = libc::rlimit {
                rlim_cur: 4096,
                rlim_max: 4096,
            };
            if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("state/runbook/runs/"), "{stderr}");
    assert!(stderr.contains("File too large"), "{stderr}");
    let run = crate::test::the_run(&dir);
    let journal = std::fs::read_to_string(run.join("journal.jsonl")).unwrap();
    let lines: Vec<&str> = journal.lines().collect();
    // every complete line is JSON (a cut-off last line is what resume ignores)
    for l in &lines[..lines.len() - 1] {
        serde_json::from_str::<serde_json::Value>(l).unwrap();
    }
    let done = journal.matches("\"step-end\"").count();
    assert!(done < 20, "the limit did not stop the run");
    // room again: resume runs the rest
    let out = crate::test::runbook_in(&dir, &["run", "--resume", "--yes"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("[20/20]"), "{stderr}");
    let journal = std::fs::read_to_string(run.join("journal.jsonl")).unwrap();
    assert!(journal.matches("\"step-end\"").count() >= 20);
}
