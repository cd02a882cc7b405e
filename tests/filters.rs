//! Filters: our fixture sites against Jekyll's output, where Jekyll stops, and the clock.

use crate::test::Test;
use std::path::{Path, PathBuf};

fn pages(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            pages(&p, out);
        } else if p.extension().is_some_and(|x| x == "md" || x == "markdown") {
            out.push(p);
        }
    }
}

/// Every page of tests/fixtures/*/site renders as Jekyll rendered it (golden/), as
/// tests/conformance.sh checks, without the shared corpus. Pages that use markdownify
/// (kramdown's HTML) are left to conformance.sh.
#[test]
fn fixture_sites_render_as_jekyll_did() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut checked = 0;
    for f in std::fs::read_dir(&fixtures).unwrap() {
        let golden = f.unwrap().path().join("golden");
        if !golden.is_dir() {
            continue;
        }
        let site = golden.with_file_name("site");
        let mut goldens = Vec::new();
        pages(&golden, &mut goldens);
        for g in goldens {
            let rel = g.strip_prefix(&golden).unwrap();
            let src = site.join(rel);
            if std::fs::read_to_string(&src)
                .unwrap()
                .contains("markdownify")
            {
                continue;
            }
            let out = Test::new()
                .args(&["-q", "render", src.to_str().unwrap()])
                .run();
            let want = std::fs::read_to_string(&g).unwrap();
            assert_eq!(out.stdout, want, "{} differs from Jekyll's", src.display());
            checked += 1;
        }
    }
    assert!(checked >= 10, "only {checked} fixture pages");
}

/// (template, Jekyll's message) for filters that stop a Jekyll build; runbook stops too
/// (exit 2), at the filter.
const FATAL: &[(&str, &str)] = &[
    (r#"{{ "abcdef" | slice: 2.2 }}"#, "invalid integer"),
    (r#"{{ "abcdef" | slice: "x" }}"#, "invalid integer"),
    (r#"{{ "abc" | truncate: 2.5 }}"#, "invalid integer"),
    (r#"{{ site.list | pop: -1 }}"#, "negative array size"),
    (r#"{{ 5 | map: "a" }}"#, "cannot select the property 'a'"),
    (
        r#"{{ site.list | map: "a" }}"#,
        "cannot select the property 'a'",
    ),
    (
        r#"{{ site.list | sort_natural: "a" }}"#,
        "cannot select the property 'a'",
    ),
    (
        r#"{{ site.objs | where: "n" }}"#,
        "wrong number of arguments (given 2, expected 3)",
    ),
    (
        r#"{{ site.objs | where }}"#,
        "wrong number of arguments (given 1, expected 3)",
    ),
    (
        r#"{{ "a" | upcase: 1 }}"#,
        "wrong number of arguments (given 2, expected 1)",
    ),
    (
        r#"{{ "a" | append: "b", x: 1 }}"#,
        "wrong number of arguments (given 3, expected 2)",
    ),
    (
        r#"{{ "a" | date }}"#,
        "wrong number of arguments (given 1, expected 2)",
    ),
    (
        r#"{{ "a-b" | replace_last: "-" }}"#,
        "wrong number of arguments (given 2, expected 3)",
    ),
    (
        r#"{{ site.hash | where: "a", 1 }}"#,
        "no implicit conversion of String into Integer",
    ),
    (
        r#"{{ site.with_nil | where: "n", "x" }}"#,
        "undefined method `[]' for nil:NilClass",
    ),
    (
        r#"{{ site.with_nil | sort }}"#,
        "comparison of NilClass with String failed",
    ),
    (
        r#"{{ site.mixed | sort }}"#,
        "comparison of String with 4 failed",
    ),
    (
        r#"{{ "cba" | sort }}"#,
        "undefined method `sort' for \"cba\":String",
    ),
    (r#"{{ nil | sort }}"#, "Cannot sort a null object."),
    (
        r#"{{ site.objs | sort: "k", "middle" }}"#,
        "Invalid nils order: 'middle' is not a valid nils order. It must be 'first' or 'last'.",
    ),
    (
        r#"{{ site.list | concat: "x" }}"#,
        "concat filter requires an array argument",
    ),
    (
        r#"{{ "aGVsbG8" | base64_decode }}"#,
        "invalid base64 provided to base64_decode",
    ),
    (
        r#"{{ "YQ=" | base64_url_safe_decode }}"#,
        "invalid base64 provided to base64_url_safe_decode",
    ),
    (
        r#"{{ "%ff" | url_decode }}"#,
        "invalid byte sequence in UTF-8",
    ),
    (
        r#"{{ "garbage" | date_to_string }}"#,
        r#"Invalid Date: '"garbage"' is not a valid datetime."#,
    ),
    (
        r#"{{ site.list | date_to_rfc822 }}"#,
        "Invalid Date: '[1, 2, 3]' is not a valid datetime.",
    ),
    (
        r#"{{ "2016-01-01" | date: "100%" }}"#,
        "invalid format: 100%",
    ),
    (r#"{{ 1 | divided_by: 0 }}"#, "divided by 0"),
    // Jekyll's filters that need text
    (
        r#"{{ 42 | cgi_escape }}"#,
        "no implicit conversion of Integer into String",
    ),
    (
        r#"{{ nil | cgi_escape }}"#,
        "no implicit conversion of nil into String",
    ),
    (
        r#"{{ true | uri_escape }}"#,
        "Can't convert TrueClass into String.",
    ),
    (
        r#"{{ 42 | slugify }}"#,
        "undefined method `gsub' for 42:Integer",
    ),
    (
        r#"{{ nil | number_of_words }}"#,
        "undefined method `split' for nil:NilClass",
    ),
    (
        r#"{{ 4.5 | array_to_sentence_string }}"#,
        "undefined method `length' for 4.5:Float",
    ),
    (
        r#"{{ "abc" | array_to_sentence_string }}"#,
        "undefined method `join' for \"ab\":String",
    ),
    (
        r#"{{ site.day | to_integer }}"#,
        "undefined method `to_i' for #<Date: 2016-03-01 ((2457449j,0s,0n),+0s,2299161j)>",
    ),
    (
        r#"{{ "10:30" | relative_url }}"#,
        "Invalid scheme format: '10'",
    ),
];

const SITE: &str = "list: [1, 2, 3]\nhash: {a: 1, b: 2}\nwith_nil: [b, null, a]\nmixed: [3, 1, 2, x, 5, 4]\nobjs: [{n: one}]\nday: 2016-03-01\n";

#[test]
fn filters_that_stop_jekyll_stop_runbook_at_the_filter() {
    for (template, message) in FATAL {
        let page = format!("before\n  x {template}\n");
        let out = Test::new()
            .site(SITE)
            .page(&page)
            .args(&["render", "page.md"])
            .status(2)
            .stdout("")
            .stderr_contains(&format!("Liquid error: {message}"))
            .run();
        // located at the filter that raised, on line 2
        let name_at = template.rfind("| ").unwrap() + 2 + 4 + 1;
        let at = format!("page.md:2:{name_at}");
        assert!(
            out.stderr.contains(&at),
            "{template}: no {at} in\n{}",
            out.stderr
        );
    }
}

#[test]
fn filters_jekyll_does_not_have_are_ignored_with_a_warning() {
    // Liquid 5.5 added sum; Jekyll runs Liquid 5.4
    Test::new()
        .site(SITE)
        .page("{{ site.list | sum }}\n")
        .args(&["render", "page.md"])
        .stdout("123\n")
        .stderr_contains("warning: unknown filter `sum`")
        .run();
    Test::new()
        .site(SITE)
        .page("{{ site.list | sum }}\n")
        .args(&["render", "--strict", "page.md"])
        .status(2)
        .stderr_contains("unknown filter `sum`")
        .run();
}

const CLOCK: &str = "{{ site.time }}|{{ \"now\" | date: \"%s %Z\" }}|{{ \"today\" | date: \"%F\" }}|{{ site.time | date_to_xmlschema }}\n";

#[test]
fn the_build_time_is_source_date_epoch_in_tz() {
    Test::new()
        .site("x: 1\n")
        .page(CLOCK)
        .env("SOURCE_DATE_EPOCH", "1457947230")
        .env("TZ", "Europe/Paris")
        .args(&["render", "page.md"])
        .stdout("2016-03-14 10:20:30 +0100|1457947230 CET|2016-03-14|2016-03-14T10:20:30+01:00\n")
        .run();
    Test::new()
        .site("x: 1\n")
        .page(CLOCK)
        .env("SOURCE_DATE_EPOCH", "1457947230")
        .env("TZ", "UTC")
        .args(&["render", "page.md"])
        .stdout("2016-03-14 09:20:30 +0000|1457947230 UTC|2016-03-14|2016-03-14T09:20:30+00:00\n")
        .run();
}

#[test]
fn the_site_timezone_wins_over_tz_and_time_sets_site_time() {
    Test::new()
        .site("timezone: America/New_York\n")
        .page(CLOCK)
        .env("SOURCE_DATE_EPOCH", "1457947230")
        .env("TZ", "Europe/Paris")
        .args(&["render", "page.md"])
        .stdout("2016-03-14 05:20:30 -0400|1457947230 EDT|2016-03-14|2016-03-14T05:20:30-04:00\n")
        .run();
    // `time:` in the config (Jekyll's own override), or --var site.time
    Test::new()
        .site("timezone: Europe/Paris\ntime: 2024-05-06 07:08:09 +0000\n")
        .page("{{ site.time }}\n")
        .args(&["render", "page.md"])
        .stdout("2024-05-06 09:08:09 +0200\n")
        .run();
    Test::new()
        .site("timezone: Europe/Paris\n")
        .page("{{ site.time }} {{ site.time | date_to_long_string: \"ordinal\", \"US\" }}\n")
        .args(&["render", "page.md", "--var", "site.time=2020-01-02"])
        .stdout("2020-01-02 00:00:00 +0100 January 2nd, 2020\n")
        .run();
}

#[test]
fn yaml_dates_and_times_print_and_compare_as_in_jekyll() {
    Test::new()
        .site("timezone: UTC\nlaunch: 2016-03-14 10:20:30 +01:00\n")
        .page(
            "---\ndate: 2016-03-01\n---\n{{ page.date }} {{ site.launch }} {{ page.date | date: \"%b %-d, %Y\" }} {% if page.date == \"2016-03-01\" %}string{% else %}date{% endif %} {{ site.launch | date_to_rfc822 }}\n",
        )
        .args(&["render", "page.md"])
        .stdout("2016-03-01 2016-03-14 10:20:30 +0100 Mar 1, 2016 date Mon, 14 Mar 2016 09:20:30 +0000\n")
        .run();
}
