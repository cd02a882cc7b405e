//! A guided run on a terminal: confirm, skip, edit, a step that reads the terminal, quit,
//! resume; the recipe picker; Ctrl-C.

use crate::pty::Screen;
use crate::test::Test;

const PAGE: &str = "# Steps\n\n```bash\necho one\n```\n\n```bash\necho two\n```\n\n```bash\nread -p 'name? ' N\necho \"hello $N\"\n```\n\n```bash\necho four\n```\n";

#[test]
fn confirm_skip_edit_read_quit_then_resume() {
    let t = Test::new()
        .site("x: 1\n")
        .page(PAGE)
        // an "editor" that adds a line to the command
        .script("edit.sh", "#!/bin/sh\necho 'echo edited' >> \"$1\"\n");
    let dir = t.path().to_path_buf();
    let editor = dir.join("edit.sh");
    let env = [
        ("EDITOR", editor.to_str().unwrap()),
        ("VISUAL", editor.to_str().unwrap()),
    ];
    let mut s = Screen::start(&dir, &["run", "page.md"], &env);
    s.expect("[1/4] Steps > steps-1");
    s.expect("    echo one\n");
    s.expect("Run this step? [y]es / [s]kip / [e]dit / [a]ll remaining / [q]uit:");
    s.send("maybe");
    s.expect("`maybe` is not an answer");
    s.clear();
    s.send("y");
    s.expect("one\n");
    s.expect("exit status 0");
    s.expect("[2/4] Steps > steps-2");
    s.expect("Run this step?");
    s.clear();
    s.send("s");
    s.expect("[3/4] Steps > steps-3");
    assert!(!s.text.contains("two\n"), "a skipped step ran:\n{}", s.text);
    s.expect("Run this step?");
    s.clear();
    s.send("e");
    s.expect("    echo edited\n");
    s.expect("Run this step?");
    s.clear();
    s.send("y");
    // the step reads the terminal
    s.expect("name? ");
    s.send("Ann");
    s.expect("hello Ann");
    s.expect("edited");
    s.expect("[4/4] Steps > steps-4");
    s.expect("Run this step?");
    s.send("q");
    let (code, screen) = s.finish();
    assert_eq!(code, 1, "{screen}");
    assert!(screen.contains("run quit"), "{screen}");

    let mut s = Screen::start(&dir, &["run", "--resume"], &env);
    s.expect("resuming run");
    s.expect("[4/4] Steps > steps-4");
    s.expect("Run this step?");
    s.send("y");
    s.expect("four");
    let (code, screen) = s.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("run ok"), "{screen}");
    assert!(
        !screen.contains("hello"),
        "steps that succeeded ran again:\n{screen}"
    );
}

#[test]
fn picker_offers_the_recipes() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let t = Test::new();
    let dir = t.path().to_path_buf();
    let page = root.join("runbooks/hello.md");
    let mut s = Screen::start(
        &dir,
        &["run", page.to_str().unwrap(), "--set", "audience=you"],
        &[],
    );
    s.expect("This page has several recipes:");
    s.expect("1) Prepare a workspace");
    s.expect("3) Clean up");
    s.expect("Which to run?");
    s.send("9");
    s.expect("`9` is not an answer");
    s.send("q");
    let (code, screen) = s.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(!screen.contains("[1/"), "{screen}");
}

#[test]
fn ctrl_c_stops_the_step_and_its_children_and_asks() {
    let t = Test::new()
        .site("x: 1\n")
        .page("# S\n\n```bash\nsleep 41.5 &\nsleep 42.5\n```\n\n```bash\necho after\n```\n");
    let dir = t.path().to_path_buf();
    let mut s = Screen::start(&dir, &["run", "page.md"], &[]);
    s.expect("Run this step?");
    s.send("y");
    // wait for the step to be running, then Ctrl-C as typed on the keyboard
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while !pgrep("sleep 42.5") {
        assert!(
            std::time::Instant::now() < deadline,
            "the step never started"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    s.clear();
    // ETX, as Ctrl-C types it: the terminal turns it into SIGINT for the step's process group
    s.raw_write(&[3]).unwrap();
    s.expect("The step was interrupted. Quit the run (it can be resumed)?");
    s.send("y");
    let (code, screen) = s.finish();
    assert_eq!(code, 130, "{screen}");
    assert!(!screen.contains("after"), "{screen}");
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(!pgrep("sleep 42.5"), "the step survived Ctrl-C");
    // the background child was in the step's process group too
    let left = pgrep("sleep 41.5");
    crate::test::kill_all("sleep 41.5");
    assert!(!left, "a child of the step survived Ctrl-C");
}

fn pgrep(cmdline: &str) -> bool {
    !crate::test::processes(cmdline).is_empty()
}

#[test]
fn resume_asks_for_lost_secrets() {
    let page = "# S\n\n```bash\nexport API_TOKEN=tok-000111\n```\n\n```bash\ntest -f \"$FLAG\"\n```\n\n```bash\necho \"len ${#API_TOKEN}\"\n```\n";
    let (out, flag) = crate::run::fail_until_flag(page, &["run", "page.md", "--yes"], None);
    let mut s = Screen::start(
        &out.dir,
        &["run", "--resume"],
        &[("FLAG", flag.to_str().unwrap())],
    );
    s.expect("secret variables API_TOKEN were kept in memory only");
    s.expect("[r]un again from step s-1 / type the [v]alues / [c]ontinue without:");
    s.send("v");
    s.expect("value for <API_TOKEN> (hidden):");
    s.send("abcdefgh");
    s.expect("Run this step?");
    s.send("a");
    s.expect("len 8");
    let (code, screen) = s.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(
        !screen.contains("abcdefgh"),
        "the typed secret was echoed:\n{screen}"
    );
}

#[test]
fn after_a_failure_edit_then_retry() {
    let t = Test::new()
        .site("x: 1\n")
        .page("# S\n\n```bash\necho try; false\n```\n\n```bash\necho next\n```\n")
        .script("fix.sh", "#!/bin/sh\necho 'echo fixed' > \"$1\"\n");
    let dir = t.path().to_path_buf();
    let editor = dir.join("fix.sh");
    let mut s = Screen::start(
        &dir,
        &["run", "page.md"],
        &[
            ("EDITOR", editor.to_str().unwrap()),
            ("VISUAL", editor.to_str().unwrap()),
        ],
    );
    s.expect("Run this step?");
    s.send("y");
    s.expect("The step failed. [r]etry / [e]dit / [s]kip / [q]uit:");
    s.clear();
    s.send("r");
    // a retry runs at once
    s.expect("try\n");
    s.expect("The step failed.");
    s.clear();
    s.send("e");
    s.expect("    echo fixed\n");
    s.expect("Run this step?");
    s.send("y");
    s.expect("fixed\n");
    s.expect("[2/2]");
    s.expect("Run this step?");
    s.send("y");
    s.expect("next\n");
    let (code, screen) = s.finish();
    assert_eq!(code, 0, "{screen}");
}

#[test]
fn missing_values_are_asked_once_with_the_line_and_hint() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let page = root.join("runbooks/build-infrastructure.md");
    let t = Test::new();
    let dir = t.path().to_path_buf();
    let mut s = Screen::start(
        &dir,
        &[
            "run",
            page.to_str().unwrap(),
            "--dry-run",
            "--section",
            "create-a-master",
        ],
        &[],
    );
    // a dry run never asks
    s.expect("needs a value: <alimesosXX>");
    let (code, _) = s.finish();
    assert_eq!(
        code, 0,
        "missing values are asked at run time: the dry run is clean"
    );
    let mut s = Screen::start(
        &dir,
        &[
            "run",
            page.to_str().unwrap(),
            "--section",
            "create-a-master",
            "--step",
            "create-a-master-2",
        ],
        &[],
    );
    s.expect("<alimesosXX> in step create-a-master-2:");
    s.expect("    MACHINE_NAME=<alimesosXX>\n");
    s.expect("value for <alimesosXX>:");
    s.send("alimesos07");
    s.expect("<X> in step create-a-master-2:");
    s.expect("    ZONE=cern-geneva-<X> # <X> is one of a, b, c\n");
    s.expect("hint: <X> is one of a, b, c");
    s.send("b");
    s.expect("    MACHINE_NAME=alimesos07\n");
    s.expect("    ZONE=cern-geneva-b # <X> is one of a, b, c\n");
    s.expect("Run this step?");
    s.send("q");
    let (code, screen) = s.finish();
    assert_eq!(code, 1, "{screen}");
}

#[test]
fn the_step_terminal_follows_a_resize() {
    let t = Test::new()
        .site("x: 1\n")
        .page("# S\n\n```bash\nstty size; read -r _; stty size\n```\n");
    let dir = t.path().to_path_buf();
    let mut s = Screen::start(&dir, &["run", "page.md"], &[]);
    s.expect("Run this step?");
    s.send("y");
    s.expect("50 200\n");
    s.resize(30, 100);
    std::thread::sleep(std::time::Duration::from_millis(100));
    s.send("");
    s.expect("30 100\n");
    let (code, screen) = s.finish();
    assert_eq!(code, 0, "{screen}");
}

#[test]
fn a_retried_step_keeps_what_every_attempt_changed() {
    // the first attempt sets A and fails, the retry (in the state it left) sets B: the step's
    // snapshot holds both, and a resume later sees both
    let t = Test::new().site("x: 1\n").page(
        "# S\n\n```bash\nif [ -f tried ]; then B=2; else touch tried; A=1; false; fi\n```\n\n\
```bash\ntest -f flag\n```\n\n```bash\necho \"A=$A B=$B\"\n```\n",
    );
    let dir = t.path().to_path_buf();
    let mut s = Screen::start(&dir, &["run", "page.md"], &[]);
    s.expect("Run this step?");
    s.send("y");
    s.expect("The step failed. [r]etry / [e]dit / [s]kip / [q]uit:");
    s.clear();
    s.send("r");
    s.expect("[2/3]");
    s.expect("Run this step?");
    s.send("y");
    s.expect("The step failed.");
    s.send("q");
    let (code, screen) = s.finish();
    assert_eq!(code, 1, "{screen}");
    let snapshot = std::fs::read_to_string(
        std::fs::read_dir(crate::test::the_run(&dir).join("state"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.file_name().unwrap().to_str().unwrap().starts_with("001-"))
            .unwrap(),
    )
    .unwrap();
    assert!(
        snapshot.contains("A=\"1\"") && snapshot.contains("B=\"2\""),
        "{snapshot}"
    );
    std::fs::write(dir.join("flag"), "").unwrap();
    let again = crate::test::runbook_in(&dir, &["run", "--resume", "--yes"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&again.stdout),
        "A=1 B=2\n",
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

/// On a terminal the run stops at a manual step: done, skip, quit, and run when the step
/// names a command (its placeholder asked for then, its state carried, journaled like any
/// step). An edited command is journaled with what the page said, and the transcript shows
/// both.
#[test]
fn manual_steps_are_asked_about_and_edits_are_recorded() {
    let page = "# Delete\n\n1. Login to `admin.example.org`\n2. Set the name:\n\n   ```bash\n   NAME=vm-7; echo set >> log\n   ```\n\n3. Delete the machine with `echo deleting <machine> $NAME`\n4. Remove the old volumes by hand\n5. Check:\n\n   ```bash\n   echo check >> log\n   ```\n";
    let t = Test::new()
        .site("x: 1\n")
        .page(page)
        .script("edit.sh", "#!/bin/sh\nsed -i 's/check/checked/' \"$1\"\n");
    let dir = t.path().to_path_buf();
    let editor = dir.join("edit.sh");
    let env = [("VISUAL", editor.to_str().unwrap())];
    let mut s = Screen::start(&dir, &["run", "page.md"], &env);
    s.expect("by hand: Login to admin.example.org");
    s.expect("Done by hand? [d]one / [s]kip / [q]uit:");
    s.send("d");
    s.expect("Run this step?");
    s.send("y");
    s.expect("by hand: Delete the machine with echo deleting <machine> $NAME");
    s.expect("[d]one / [r]un the command / [s]kip / [q]uit:");
    s.send("r");
    s.expect("value for <machine>:");
    s.send("db-01");
    s.expect("deleting db-01 vm-7");
    s.expect("by hand: Remove the old volumes by hand");
    s.send("s");
    s.expect("Run this step?");
    s.send("e");
    s.expect("echo checked >> log");
    s.expect("Run this step?");
    s.send("y");
    let (code, screen) = s.finish();
    // skipping is the operator's decision: the run succeeded, and the summary says what
    // was skipped
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("delete-m3  by hand, skipped"), "{screen}");
    let log = std::fs::read_to_string(dir.join("log")).unwrap();
    assert_eq!(log, "set\nchecked\n");
    let run = std::fs::read_dir(dir.join("state/runbook/runs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let journal = std::fs::read_to_string(run.join("journal.jsonl")).unwrap();
    let events: Vec<serde_json::Value> = journal
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let manual: Vec<(&str, &str)> = events
        .iter()
        .filter(|e| e["event"] == "manual")
        .map(|e| (e["id"].as_str().unwrap(), e["decision"].as_str().unwrap()))
        .collect();
    assert_eq!(
        manual,
        [
            ("delete-m1", "done"),
            ("delete-m2", "run"),
            ("delete-m3", "skip")
        ]
    );
    let ran = events
        .iter()
        .find(|e| e["event"] == "step-end" && e["id"] == "delete-m2")
        .unwrap();
    assert_eq!(ran["command"], "echo deleting db-01 $NAME");
    let edited = events
        .iter()
        .find(|e| e["event"] == "step-end" && e["id"] == "delete-2")
        .unwrap();
    assert_eq!(edited["command"], "echo checked >> log\n");
    assert_eq!(edited["page_command"], "echo check >> log\n");
    let transcript = std::fs::read_to_string(run.join("transcript.md")).unwrap();
    assert!(
        transcript.contains("The operator edited the command. The page said:\n\n```bash\necho check >> log\n```\n\nWhat ran:\n\n```bash\necho checked >> log\n```"),
        "{transcript}"
    );
}

/// The picker marks the recipes that need another (for variables only it sets) and offers
/// to include it; the run then has what it needs.
#[test]
fn picker_marks_dependent_recipes_and_offers_what_they_need() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let t = Test::new();
    let dir = t.path().to_path_buf();
    let page = root.join("runbooks/hello.md");
    let mut s = Screen::start(
        &dir,
        &["run", page.to_str().unwrap(), "--set", "audience=you"],
        &[],
    );
    s.expect("2) Use the workspace");
    s.expect("needs prepare-a-workspace (for ");
    s.expect("Which to run?");
    s.send("2");
    s.expect("use-the-workspace reads ");
    s.expect("set only in prepare-a-workspace: run prepare-a-workspace first? [Y/n]");
    s.send("y");
    s.expect("[1/");
    s.send("a");
    s.expect("run ok");
    let (code, screen) = s.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(screen.contains("Hello, you!"), "{screen}");
}
