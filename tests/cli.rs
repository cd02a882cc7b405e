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

/// Every runbook command the README suggests (`cargo run --release -- ...`, in its code
/// blocks or inline) runs as written from the project's root and exits 0.
#[test]
fn the_readmes_first_tries_work() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let marker = "cargo run --release -- ";
    let mut commands = Vec::new();
    for line in readme.lines() {
        let mut rest = line;
        while let Some(at) = rest.find(marker) {
            let after = &rest[at + marker.len()..];
            // inline: up to the closing backtick; in a code block: up to a comment
            let end = after
                .find('`')
                .or_else(|| after.find("  #"))
                .unwrap_or(after.len());
            commands.push(after[..end].trim().to_string());
            rest = &after[end..];
        }
    }
    assert!(commands.len() >= 2, "{commands:?}");
    let state = tempfile::tempdir().unwrap();
    for c in &commands {
        let args: Vec<&str> = c.split_whitespace().collect();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_runbook"))
            .args(&args)
            .current_dir(root)
            .env("XDG_STATE_HOME", state.path())
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "`{c}`:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
