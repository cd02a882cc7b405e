//! Transcripts as lessons write them, through the binary: `list --json` says which blocks
//! are steps, with which command and under which heading; `check` and the dry run report
//! a step that bash would refuse to parse, at its line.

use crate::test::Test;

fn lesson() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/pages/transcript-lesson.md"
    ))
    .unwrap()
}

#[test]
fn list_json_gives_transcript_commands_under_their_headings() {
    let out = Test::new()
        .site("x: 1\n")
        .page(&lesson())
        .args(&["list", "--json", "page.md"])
        .run();
    let v: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let mut steps = Vec::new();
    for s in v["sections"].as_array().unwrap() {
        for st in s["steps"].as_array().unwrap() {
            steps.push((
                st["index"].as_u64().unwrap(),
                s["id"].as_str().unwrap().to_string(),
                st["runnable"].as_bool().unwrap(),
                st["code"].as_str().unwrap().to_string(),
            ));
        }
    }
    steps.sort();
    let runnable: Vec<(&str, &str)> = steps
        .iter()
        .filter(|s| s.2)
        .map(|s| (s.1.as_str(), s.3.as_str()))
        .collect();
    assert_eq!(
        runnable[0].1,
        "for f in *.csv\ndo\n  echo \"$f\"\n  head -n 2 \"$f\" | tail -n 1\ndone\n"
    );
    assert_eq!(runnable[1].1, "ls -F\n");
    assert_eq!(
        runnable[4..7],
        [
            ("solution", "wc -l *.csv\n"),
            ("counting-lines", "wc -l *.csv | sort -n | tail -n 1\n"),
            // after the callout, the reader is back in the section
            ("looping-over-files", "rm -f *.tmp\n"),
        ]
    );
    assert_eq!(runnable.len(), 9, "{runnable:#?}");
    // output and file contents are listed, not runnable, and say why
    let skipped: Vec<&str> = steps
        .iter()
        .filter(|s| !s.2 && s.3.starts_with(['P', 'o', 'm', '#']))
        .map(|s| s.3.lines().next().unwrap())
        .collect();
    assert_eq!(
        skipped,
        [
            "Permission denied (publickey).",
            "origin  https://example.org/learner/weather.git (fetch)",
            "module load python",
            "#!/bin/bash"
        ]
    );
    // the structure: callouts name the section they sit in
    let sections: Vec<(&str, &serde_json::Value, u64)> = v["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap(),
                &s["parent"],
                s["quote_depth"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        sections,
        [
            ("looping-over-files", &serde_json::Value::Null, 0),
            (
                "counting-lines",
                &serde_json::json!("looping-over-files"),
                1
            ),
            ("solution", &serde_json::json!("counting-lines"), 2),
            ("root-commands", &serde_json::Value::Null, 0),
        ]
    );
    // the text listing shows callouts quoted
    let out = Test::new()
        .site("x: 1\n")
        .page(&lesson())
        .args(&["list", "page.md"])
        .stdout_contains("\n> > ## Solution  #solution line 89")
        .run();
    assert!(
        out.stdout
            .contains("  run  looping-over-files-11  bash:105  rm -f *.tmp"),
        "{}",
        out.stdout
    );
    // a whole section brings its callouts
    Test::new()
        .site("x: 1\n")
        .page(&lesson())
        .args(&[
            "run",
            "page.md",
            "--dry-run",
            "--section",
            "looping-over-files",
        ])
        .stdout_contains("wc -l *.csv | sort -n")
        .stdout_contains("[7/7]")
        .run();
}

const BROKEN: &str = "---\ntitle: broken\n---\n# Broken\n\nFine:\n\n```bash\n$ for f in *.dat\n> do\n>   echo $f\n> done\n```\n\nNot fine:\n\n```bash\n$ if [ -e <file> ]; then\n>   cat <file>\n> done\n```\n\n```bash\nls\necho \"open\n```\n";

#[test]
fn check_and_dry_run_report_what_bash_refuses_at_its_line() {
    Test::new()
        .site("x: 1\n")
        .page(BROKEN)
        .args(&["check", "page.md"])
        .status(1)
        .stderr_contains("error: step broken-2 does not parse as bash: syntax error near unexpected token `done'")
        .stderr_contains("page.md:20:1")
        .stderr_contains("error: step broken-3 does not parse as bash")
        .stderr_contains("page.md:25:1")
        .stderr_contains("2 problems")
        .stderr_lacks("broken-1 does not parse")
        .run();
    Test::new()
        .site("x: 1\n")
        .page(BROKEN)
        .args(&["run", "page.md", "--dry-run"])
        .status(1)
        .stderr_contains("page.md:20:1")
        .stderr_contains("step broken-3 does not parse as bash")
        .run();
    // a page that runs another shell is not judged by bash
    Test::new()
        .site("x: 1\n")
        .page(&BROKEN.replace("title: broken", "title: broken\nrunbook: {shell: sh}"))
        .args(&["check", "page.md"])
        .stderr_lacks("does not parse")
        .run();
}

#[test]
fn a_subshell_written_against_its_command_is_a_command() {
    Test::new()
        .site("x: 1\n")
        .page("# R\n\n```bash\n(cd /tmp && ls)\n```\n\n```bash\n(sleep 1 &) ; wait\n```\n\n```\n(1 row)\n```\n")
        .args(&["list", "page.md"])
        .stdout_contains("3 steps (2 runnable)")
        .stdout_contains("  skip r-3  -:11  (1 row)")
        .run();
}
