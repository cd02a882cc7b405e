//! The command line as a user meets it: man pages for every subcommand and option.

use crate::test::Test;

#[test]
fn man_documents_every_subcommand_and_option() {
    let top = Test::new().args(&["man"]).run();
    for sub in ["render", "list", "check", "run", "completions", "man"] {
        assert!(top.stdout.contains(&format!("runbook\\-{sub}(1)")), "{sub}");
        let page = Test::new().args(&["man", sub]).run().stdout;
        assert!(page.starts_with(".ie") || page.contains(&format!(".TH runbook-{sub} 1")));
        let help = Test::new().args(&[sub, "--help"]).run().stdout;
        // every long option the subcommand's --help shows is in its man page
        for word in help.split_whitespace() {
            if let Some(opt) = word.strip_prefix("--") {
                let opt = opt.trim_end_matches(|c: char| !c.is_ascii_alphanumeric());
                if opt.is_empty() || opt == "help" {
                    continue;
                }
                let roff = format!("\\-\\-{}", opt.replace('-', "\\-"));
                assert!(page.contains(&roff), "runbook man {sub} lacks --{opt}");
            }
        }
    }
    Test::new()
        .args(&["man", "nope"])
        .status(2)
        .stderr_contains("no subcommand `nope` (man pages: render, list, check, run")
        .run();
}

#[test]
fn run_on_a_directory_lists_the_pages_it_could_run() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let out = Test::new()
        .args(&["run", root.join("runbooks").to_str().unwrap()])
        .stdout_contains("build-infrastructure.md")
        .stdout_contains("hello.md")
        .stdout_contains("prepare-a-workspace, use-the-workspace, clean-up")
        .run();
    assert!(!out.dir.join("state").exists(), "nothing ran");
    // asking to run a directory as a page is still a usage error
    Test::new()
        .args(&["run", root.join("runbooks").to_str().unwrap(), "--yes"])
        .status(2)
        .stderr_contains("lists the pages it could run")
        .run();
}
