//! Liquid behaviour beyond the byte-for-byte conformance cases: diagnostics and modes.

use crate::test::{Test, renders, seed_page};
use std::path::Path;

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

/// The liquid-tags fixture rendered as one build (`render DIR -o OUT`, where loops and
/// includes computed once are reused from page to page) is Jekyll's output byte for byte.
#[test]
fn liquid_tags_fixture_renders_as_jekyll_in_one_build() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/liquid-tags");
    let out = Test::new()
        .args(&["render", root.join("site").to_str().unwrap(), "-o", "out"])
        .run();
    let mut pages = 0;
    for entry in std::fs::read_dir(root.join("golden")).unwrap() {
        let golden = entry.unwrap().path();
        if golden.extension().is_none_or(|e| e != "md") {
            continue;
        }
        let name = golden.file_name().unwrap();
        let ours = std::fs::read_to_string(out.dir.join("out").join(name)).unwrap();
        assert_eq!(
            ours,
            std::fs::read_to_string(&golden).unwrap(),
            "{}",
            name.to_string_lossy()
        );
        pages += 1;
    }
    assert!(pages >= 8, "{pages} pages compared");
}

#[test]
fn blank_blocks_render_nothing() {
    renders(
        "x: 1\n",
        "[{% if true %}\n  {% assign a = 1 %}\n{% endif %}][{% for i in (1..2) %}\n  {% capture c %}{{ i }}{% endcapture %}\n{% else %}\n{% endfor %}][{% unless false %} {% comment %}c{% endcomment %} {% # c %} {% endunless %}]{{ a }}{{ c }}\n",
        "[][][]12\n",
    );
    // not blank: an output tag, a non-empty raw, increment; capture keeps its own body
    renders(
        "x: 1\n",
        "[{% if true %} {{ '' }} {% endif %}][{% if true %} {% raw %}r{% endraw %} {% endif %}][{% capture c %} {% assign b = 1 %} {% endcapture %}{{ c }}]\n",
        "[  ][ r ][  ]\n",
    );
    // a case is blank or not as a whole, the text before its first `when` included
    renders(
        "x: 1\n",
        "[{% case 1 %} {% when 1 %} {% assign a = 1 %} {% endcase %}][{% case 1 %} t {% when 1 %} {% endcase %}]\n",
        "[][ ]\n",
    );
}

#[test]
fn tablerow_writes_liquids_html() {
    renders(
        "l: [a, b, c]\n",
        "{% tablerow i in site.l cols: 2 %}{{ i }}{{ tablerowloop.index }}{% endtablerow %}",
        "<tr class=\"row1\">\n<td class=\"col1\">a1</td><td class=\"col2\">b2</td></tr>\n<tr class=\"row2\"><td class=\"col1\">c3</td></tr>\n",
    );
}

#[test]
fn offset_continue_resumes_per_loop_name() {
    renders(
        "l: [1, 2, 3, 4, 5]\n",
        "{% for i in site.l limit: 2 %}{{ i }}{% endfor %}|{% for i in site.l offset: continue limit: 2 %}{{ i }}{% endfor %}|{% for j in site.l offset: continue limit: 1 %}{{ j }}{% endfor %}|{% for i in site.l offset: continue %}{{ i }}{% endfor %}\n",
        "12|34|1|5\n",
    );
}

#[test]
fn cycle_counters_are_per_render_and_shared_by_same_literals() {
    renders(
        "x: 1\n",
        "{% cycle 1, 2, 3 %}{% cycle 1, 2, 3 %}{% cycle 1, 2, 3 %}|{% cycle 'g': 1, 2 %}{% cycle 'g': 1, 2 %}{% cycle 'h': 1, 2 %}\n",
        "123|121\n",
    );
}

#[test]
fn counters_are_variables_apart_from_assigns() {
    renders(
        "x: 1\n",
        "{% increment n %}{% increment n %}{{ n }}|{% assign m = 5 %}{% increment m %}{{ m }}|{% decrement d %}{{ d }}\n",
        "012|05|-1-1\n",
    );
}

#[test]
fn case_renders_each_matching_when() {
    renders(
        "x: 1\n",
        "{% case 1 %}{% when 1, 1 %}a{% when 2 or 1 %}b{% else %}e{% endcase %}|{% for i in (1..3) %}{% case i %}{% when 1, 2 %}{{ i }}{% break %}{% endcase %}{% endfor %}\n",
        "aab|1\n",
    );
}

#[test]
fn for_else_only_for_an_empty_segment_and_second_else_never() {
    renders(
        "x: 1\n",
        "[{% for i in (1..3) %}{% break %}{% else %}E{% endfor %}][{% for i in (1..0) %}{% else %}E{% endfor %}][{% if false %}a{% else %}b{% else %}c{% endif %}]\n",
        "[][E][b]\n",
    );
}

#[test]
fn liquid_tag_and_inline_comments() {
    renders(
        "x: 1\n",
        "{% liquid\n  assign y = site.x | plus: 1\n  # a comment\n  if y == 2\n    echo 'two'\n  endif\n%}{% # gone %}{%# gone too %}.\n",
        "two.\n",
    );
    Test::new()
        .site("x: 1\n")
        .page("a\n{% liquid\n  assign y = 1\n  {{ y }}\n%}\n")
        .args(&["render", "page.md"])
        .status(2)
        .stderr_contains("page.md:4:3")
        .stderr_contains("Unknown tag")
        .run();
    Test::new()
        .site("x: 1\n")
        .page("{% # one\n   not a comment line %}\n")
        .args(&["render", "page.md"])
        .status(2)
        .stderr_contains("page.md:2:4")
        .stderr_contains("Each line of comments must be prefixed")
        .run();
}

/// What stops `jekyll build` stops runbook, with the place.
#[test]
fn fatal_where_jekyll_stops() {
    for (page, message, at) in [
        (
            "x\n{{ 'hello' | slice: 2.2 }}\n",
            "invalid integer",
            "page.md:2:14",
        ),
        (
            "x\n{% for i in site.l limit: 'foo' %}{{ i }}{% endfor %}\n",
            "invalid integer",
            "page.md:2:1",
        ),
        (
            "{% for i in site.l offset: 1.5 %}{% endfor %}\n",
            "invalid integer",
            "page.md:1:1",
        ),
        (
            "{{ 5 | map: 'name' }}\n",
            "cannot select the property 'name'",
            "page.md:1:8",
        ),
        (
            "{{ site.l | where: 'a' }}\n",
            "wrong number of arguments",
            "page.md:1:13",
        ),
        (
            "a {%- raw -%} b {%- endraw -%} c\n",
            "'raw' tag was never closed",
            "page.md:1:3",
        ),
        (
            "{% raw x %}{% endraw %}\n",
            "Syntax Error in 'raw'",
            "page.md:1:1",
        ),
        (
            "{% comment %}{% if %}{% endcomment %}\n",
            "Syntax Error in tag 'if'",
            "page.md:1:",
        ),
        (
            "{% tablerow i in site.l cols: true %}{% endtablerow %}\n",
            "undefined method `to_i'",
            "page.md:1:1",
        ),
        ("{% cycle %}\n", "Syntax Error in 'cycle'", "page.md:1:1"),
        (
            "{% case 1 %}{% when 1 %}{% else x %}{% endcase %}\n",
            "Valid else condition",
            "page.md:1:25",
        ),
    ] {
        Test::new()
            .site("l: [1, 2]\n")
            .page(page)
            .args(&["render", "page.md"])
            .status(2)
            .stderr_contains(message)
            .stderr_contains(at)
            .stdout("")
            .run();
    }
}

/// Loops and includes computed once per build are reused on later pages: a page's cycle,
/// counter and loop-offset state must come out the same as when the page renders alone.
#[test]
fn build_wide_reuse_keeps_per_page_state() {
    let page = "{% include stripe.html n=1 %}{% include stripe.html n=1 %}{% increment c %}\
                {% include two.html x=1 %}{% for i in site.l offset: continue %}{{ i }}{% endfor %}\
                |{% for r in site.l %}{% for j in site.l limit: 1 %}{{ j }}{% endfor %}{% endfor %}\
                {% for j in site.l offset: continue %}{{ j }}{% endfor %}\n";
    let expected = "odd even 012 345|111112345\n";
    let t = Test::new()
        .site("l: [1, 2, 3, 4, 5]\n")
        .file("_includes/stripe.html", "{% cycle 'odd', 'even' %} ")
        .file(
            "_includes/two.html",
            "{% for i in site.l limit: 2 %}{{ i }}{% endfor %} ",
        )
        .file("a.md", page)
        .file("b.md", page)
        .file("c.md", page);
    let out = t.args(&["render", ".", "-o", "out"]).run();
    for f in ["a.md", "b.md", "c.md"] {
        assert_eq!(
            std::fs::read_to_string(out.dir.join("out").join(f)).unwrap(),
            expected,
            "{f}"
        );
    }
}
