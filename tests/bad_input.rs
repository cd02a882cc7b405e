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
