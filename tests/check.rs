//! `check` is quiet on healthy sites: what Jekyll defines or leaves out is no problem.

use crate::test::Test;

#[test]
fn check_is_quiet_on_what_jekyll_defines_and_excludes() {
    let out = Test::new()
        .file(
            "_config.yml",
            "title: Q\nexclude: [vendor_docs, \"*.tmp.md\"]\ncollections:\n  episodes:\n    output: true\n",
        )
        .file("_data/dup.yml", "a: 1\na: 2\n")
        .file("vendor_docs/x.md", "---\ntitle: V\n---\n{{ nope }}\n")
        .file("notes.tmp.md", "---\ntitle: T\n---\n{{ nope_either }}\n")
        .file(
            "_episodes/01-first.md",
            "---\ntitle: First\n---\nnext: {{ page.next.title }} {{ page.next.url }}, previous: {{ page.previous.title }}\n",
        )
        .file(
            "_episodes/02-second.md",
            "---\ntitle: Second\n---\nprevious: {{ page.previous.title }}, next: {{ page.next.title }}\n",
        )
        .file(
            "aio.md",
            "---\ntitle: All\n---\n{% for e in site.episodes %}{{ e.content }}{% endfor %}\n{{ site.data.dup.a }}\n",
        )
        .file("other.md", "---\ntitle: O\n---\n{{ site.data.dup.a }}\n")
        .args(&["check", "."])
        .stderr_contains("4 pages checked, 1 problem")
        .status(1)
        .run();
    // the duplicate key, once for the site, not once per page that reads it
    assert_eq!(
        out.stderr.matches("duplicate YAML key").count(),
        1,
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("vendor_docs"), "{}", out.stderr);
    // a page named on the command line is checked even when the site excludes it
    Test::new()
        .file("_config.yml", "exclude: [vendor_docs]\n")
        .file("vendor_docs/x.md", "---\ntitle: V\n---\n{{ nope }}\n")
        .args(&["check", "vendor_docs/x.md"])
        .status(1)
        .stderr_contains("undefined variable `nope`")
        .run();
}

#[test]
fn check_is_quiet_on_lax_forms_jekyll_accepts() {
    Test::new()
        .file("_config.yml", "title: Q\n")
        .file(
            "_includes/callout.html",
            "{% if include.title %}<h2>{{ include.title }}</h2>{% endif %}\n<p>{{ page.[include.id] }}|{{ page[include.id] }}</p>\n",
        )
        .file(
            "index.md",
            "---\ntitle: Home\nintro: hi\n---\n# Home\n\n{% include callout.html id=\"intro\" %}\n\nRun ```inline``` here.\n\n```bash\nls\n```\n",
        )
        .args(&["check", "."])
        .stderr_lacks("error")
        .stderr_lacks("warning")
        .status(0)
        .run();
    // and it means what the lax parser makes of it
    Test::new()
        .file("_config.yml", "title: Q\n")
        .file(
            "p.md",
            "---\nk: intro\nintro: hi\n---\n{{ page.[page.k] }}\n",
        )
        .args(&["render", "p.md"])
        .stdout("hi\n")
        .stderr_lacks("warning")
        .run();
}

#[test]
fn host_variables_are_no_problem_without_a_host() {
    Test::new()
        .site("x: 1\n")
        .page("# H\n\n```bash\necho {{ host.rack }}\n```\n")
        .args(&["check", "page.md"])
        .stderr_contains("note: `host` is a variable of the host the steps run on")
        .stderr_contains("1 page checked, 0 problems\n")
        .status(0)
        .run();
}
