//! Liquid behaviour beyond the byte-for-byte conformance cases: diagnostics and modes.

use crate::test::{Test, renders, seed_page};

#[test]
fn seed_malformed_tag_renders_like_jekyll_and_warns_with_location() {
    let page = seed_page();
    let out = Test::new()
        .args(&["render", page.to_str().unwrap()])
        .stdout_contains("    eval $(ALICE)\n")
        .stderr_contains("infrastructure-mesos.markdown:53:12")
        .stderr_contains("renders this as `ALICE`")
        .run();
    assert!(out.stdout.contains("ai-bs-vm -g alibuild/mesos/master"));
}

#[test]
fn strict_render_fails_on_what_jekyll_forgives() {
    Test::new()
        .site("experiment: ALICE\n")
        .page("a {{ site.experment }} b\n")
        .args(&["render", "--strict", "page.md"])
        .status(2)
        .stderr_contains("undefined variable `site.experment`")
        .stderr_contains("page.md:1:6")
        .stderr_contains("did you mean `site.experiment`?")
        .stdout("")
        .run();
}

#[test]
fn lax_render_warns_on_undefined_and_unknown_filter() {
    Test::new()
        .site("x: 1\n")
        .page("[{{ site.nope }}] [{{ 'v' | frobnicate }}]\n")
        .args(&["render", "page.md"])
        .stdout("[] [v]\n")
        .stderr_contains("warning: undefined variable `site.nope`")
        .stderr_contains("warning: unknown filter `frobnicate`")
        .run();
}

#[test]
fn default_filter_and_conditions_do_not_warn_on_missing_values() {
    Test::new()
        .site("x: 1\n")
        .page("{{ page.author | default: 'anon' }}{% if page.meta %}m{% endif %}\n")
        .args(&["render", "--strict", "page.md"])
        .stdout("anon\n")
        .stderr_lacks("warning")
        .run();
}

#[test]
fn var_overrides_site_values_with_yaml_typing() {
    Test::new()
        .site("builduser: alibuild\n")
        .page("{{ site.builduser }} {% if site.flag %}on{% endif %} {{ site.n | plus: 1 }}\n")
        .args(&[
            "render",
            "page.md",
            "--var",
            "site.builduser=alice",
            "--var",
            "site.flag=yes",
            "--var",
            "site.n=41",
        ])
        .stdout("alice on 42\n")
        .run();
}

#[test]
fn nearest_site_yaml_wins_over_config_higher_up() {
    Test::new()
        .file("_config.yml", "who: top\n")
        .file("sub/site.yaml", "who: sub\n")
        .file("sub/page.md", "{{ site.who }}\n")
        .args(&["render", "sub/page.md"])
        .stdout("sub\n")
        .run();
}

#[test]
fn explicit_site_flag() {
    Test::new()
        .file("conf/other.yml", "who: other\n")
        .page("{{ site.who }}\n")
        .args(&["render", "page.md", "--site", "conf/other.yml"])
        .stdout("other\n")
        .run();
}

#[test]
fn bash_braces_are_text() {
    renders(
        "x: 1\n",
        "echo ${#arr[@]} | awk '{print $1}' {# not a comment #}\n",
        "echo ${#arr[@]} | awk '{print $1}' {# not a comment #}\n",
    );
}

#[test]
fn liquid_truthiness_and_yaml_1_1() {
    renders(
        "a: no\nb: 0\nc: ''\nd: on\n",
        "{% if site.a %}A{% endif %}{% if site.b %}B{% endif %}{% if site.c %}C{% endif %}{% if site.d %}D{% endif %}\n",
        "BCD\n",
    );
}

#[test]
fn assign_in_loop_is_visible_after_it() {
    renders(
        "l: [1, 2, 3]\n",
        "{% for i in site.l %}{% assign last = i %}{% endfor %}{{ last }}\n",
        "3\n",
    );
}

#[test]
fn html_output() {
    Test::new()
        .site("t: Title\n")
        .page("# {{ site.t }}\n\n```bash\necho hi\n```\n")
        .args(&["render", "--html", "page.md"])
        .stdout("<h1>Title</h1>\n<pre><code class=\"language-bash\">echo hi\n</code></pre>\n")
        .run();
}
