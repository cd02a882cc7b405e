//! `render DIR -o OUT`, `check` and the CLI surface.

use crate::test::{Test, corpus};

#[test]
fn renders_a_whole_tree_identically_to_single_pages() {
    let site = corpus().join("sites/alisw+alisw.github.io@b32e9a6d");
    let out = Test::new()
        .args(&["render", site.to_str().unwrap(), "-o", "out"])
        .run();
    let golden = corpus().join("golden/alisw+alisw.github.io@b32e9a6d");
    let mut n = 0;
    for entry in std::fs::read_dir(&golden).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "markdown" || e == "md") {
            let ours = std::fs::read(out.dir.join("out").join(p.file_name().unwrap())).unwrap();
            assert_eq!(ours, std::fs::read(&p).unwrap(), "{}", p.display());
            n += 1;
        }
    }
    assert!(n >= 15, "{n} pages compared");
}

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
    let page = corpus().join("sites/alisw+alisw.github.io/infrastructure-mesos.markdown");
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
    Test::new()
        .args(&["completions", "bash"])
        .stdout_contains("_runbook()")
        .run();
    Test::new()
        .args(&["man"])
        .stdout_contains(".TH runbook")
        .run();
}
