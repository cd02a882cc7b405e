//! `check --format` for machines (GitHub annotations, SARIF, JUnit, JSON), `--deny`/`--allow`,
//! and `list --format json`: each read back with a parser of its format.

use crate::test::Test;

/// A site with a page of each kind of problem `check` fails on, a healthy page, and a page
/// whose only note is a placeholder.
fn bad_site() -> Test {
    Test::new()
        .file("_config.yml", "title: T\nbuilduser: alibuild\n")
        .file(
            "docs/bad page.md",
            "---\ntitle: Bad\n---\n# Bad\n\nHello {{ site.nope }}.\n\n```bash\nfor x in a b; do echo $x\n```\n",
        )
        .file(
            "docs/good.md",
            "---\ntitle: Good\n---\n# Good\n\n```bash\necho {{ site.builduser }}\n```\n",
        )
        .file(
            "docs/fill.md",
            "---\ntitle: Fill\n---\n# Fill\n\n```bash\nssh <host name>\n```\n",
        )
}

#[test]
fn github_annotations_name_file_line_column_and_rule() {
    let out = bad_site()
        .args(&["check", "docs", "--format", "github"])
        .status(1)
        .run();
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines.contains(
            &"::error file=docs/bad page.md,line=6,col=10,endLine=6,endColumn=18,title=undefined-variable::undefined variable `site.nope`%0Ahelp: define it in the site config, or pass `--var site.KEY=VALUE`"
        ),
        "{}",
        out.stdout
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("::error file=docs/bad page.md,line=9,")
                && l.contains("title=shell-syntax::")),
        "{}",
        out.stdout
    );
    // a placeholder does not fail the check: a notice
    assert!(
        lines.iter().any(
            |l| l.starts_with("::notice file=docs/fill.md,line=7,col=5,")
                && l.contains("title=placeholder-unfilled::")
        ),
        "{}",
        out.stdout
    );
    assert!(lines.iter().all(|l| l.starts_with("::")), "{}", out.stdout);
}

#[test]
fn sarif_is_valid_and_has_a_rule_for_every_result() {
    let out = bad_site()
        .args(&["check", "docs", "--format", "sarif"])
        .status(1)
        .run();
    // the crate's own types read it back
    let typed: serde_sarif::sarif::Sarif = serde_json::from_str(&out.stdout).expect("SARIF");
    assert_eq!(typed.runs.len(), 1);
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["version"], "2.1.0");
    let run = &v["runs"][0];
    assert_eq!(run["tool"]["driver"]["name"], "runbook");
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 3, "{results:#?}");
    for r in results {
        let id = r["ruleId"].as_str().unwrap();
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], id);
        assert!(!rules[index]["help"]["text"].as_str().unwrap().is_empty());
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(loc["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        assert!(
            loc["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
                .starts_with("docs/"),
            "{r}"
        );
        assert!(loc["region"]["startLine"].as_u64().unwrap() > 0);
    }
    let undefined = results
        .iter()
        .find(|r| r["ruleId"] == "undefined-variable")
        .unwrap();
    assert_eq!(undefined["level"], "error");
    let loc = &undefined["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "docs/bad%20page.md");
    assert_eq!(loc["region"]["startLine"], 6);
    assert_eq!(loc["region"]["startColumn"], 10);
    // SARIF's end column is the one after the region
    assert_eq!(loc["region"]["endColumn"], 19);
    let note = results
        .iter()
        .find(|r| r["ruleId"] == "placeholder-unfilled")
        .unwrap();
    assert_eq!(note["level"], "note");
}

#[test]
fn junit_has_a_case_per_page_failed_by_its_problems() {
    let out = bad_site()
        .args(&["check", "docs", "--format", "junit"])
        .status(1)
        .run();
    let report = quick_junit::Report::deserialize_from_str(&out.stdout).expect("JUnit XML");
    assert_eq!(report.test_suites.len(), 1);
    let cases = &report.test_suites[0].test_cases;
    let mut names: Vec<&str> = cases.iter().map(|c| c.name.as_str()).collect();
    names.sort();
    assert_eq!(names, ["docs/bad page.md", "docs/fill.md", "docs/good.md"]);
    for c in cases {
        let failed = matches!(c.status, quick_junit::TestCaseStatus::NonSuccess { .. });
        assert_eq!(
            failed,
            c.name.as_str() == "docs/bad page.md",
            "{:?}",
            c.name
        );
        if let quick_junit::TestCaseStatus::NonSuccess {
            message,
            ty,
            description,
            ..
        } = &c.status
        {
            assert!(
                message
                    .as_ref()
                    .unwrap()
                    .as_str()
                    .starts_with("2 problems:")
            );
            assert_eq!(
                ty.as_ref().unwrap().as_str(),
                "undefined-variable,shell-syntax"
            );
            let text = description.as_ref().unwrap().as_str();
            assert!(
                text.contains("docs/bad page.md:6:10: error[undefined-variable]: undefined variable `site.nope`"),
                "{text}"
            );
            assert_eq!(c.properties.len(), 2);
        }
    }
}

#[test]
fn deny_and_allow_change_what_fails_without_hiding_it() {
    // a placeholder fails when denied
    Test::new()
        .file("_config.yml", "title: T\n")
        .file("p.md", "# P\n\n```bash\nssh <host>\n```\n")
        .args(&["check", "p.md", "--deny", "placeholder-unfilled"])
        .status(1)
        .stderr_contains("[placeholder-unfilled]")
        .stderr_contains("1 page checked, 1 problem")
        .run();
    // an allowed undefined variable is still said, and passes
    Test::new()
        .file("_config.yml", "title: T\n")
        .file("p.md", "# P\n\n{{ site.nope }}\n")
        .args(&["check", "p.md", "--allow", "undefined-variable"])
        .status(0)
        .stderr_contains("undefined variable `site.nope` [undefined-variable]")
        .stderr_contains("1 page checked, 0 problems, 1 allowed")
        .run();
    let out = Test::new()
        .file("_config.yml", "title: T\n")
        .file("p.md", "# P\n\n{{ site.nope }}\n")
        .args(&[
            "check",
            "p.md",
            "--allow",
            "undefined-variable",
            "--format",
            "json",
        ])
        .status(0)
        .run();
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(v["failing"], 0);
    assert_eq!(v["problems"][0]["rule"], "undefined-variable");
    assert_eq!(v["problems"][0]["fails"], false);
    // a rule runbook does not have is a usage error naming the rules
    Test::new()
        .file("p.md", "# P\n")
        .args(&["check", "p.md", "--deny", "no-such-rule"])
        .status(2)
        .stderr_contains("`no-such-rule` is not a rule of runbook's; the rules are: liquid-syntax,")
        .run();
}

#[test]
fn json_is_the_alias_and_list_json_is_the_model() {
    let a = bad_site()
        .args(&["check", "docs", "--json"])
        .status(1)
        .run();
    let b = bad_site()
        .args(&["check", "docs", "--format", "json"])
        .status(1)
        .run();
    assert_eq!(a.stdout, b.stdout);
    let list = |args: &[&str]| {
        Test::new()
            .file("_config.yml", "title: T\n")
            .file(
                "p.md",
                "# P\n\nRun it:\n\n```bash\nssh <host> # the admin host\n```\n",
            )
            .args(args)
            .run()
            .stdout
    };
    let json = list(&["list", "p.md", "--format", "json"]);
    assert_eq!(json, list(&["list", "p.md", "--json"]));
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let step = &v["sections"][0]["steps"][0];
    assert_eq!(step["id"], "p-1");
    assert_eq!(step["code"], "ssh <host> # the admin host\n");
    assert_eq!(step["placeholders"][0]["name"], "host");
    assert_eq!(step["placeholders"][0]["hint"], "the admin host");
}
