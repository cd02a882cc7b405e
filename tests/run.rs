//! `runbook run`: dry runs, real runs with carried state, journal and secrets.

use crate::test::{Output, Test, dry_run_executes_nothing, runbook_in, the_run};
use std::path::Path;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Fake `ai-rc`, `ai-bs-vm`, `openstack`, `ai-kill-vm` that record their arguments (one per
/// line) and the OpenStack variables they see, in calls.log.
fn with_fake_tools(t: Test) -> Test {
    let record = r#"#!/bin/sh
log="$FAKE_LOG"
{ printf '== %s\n' "$(basename "$0")"; for a in "$@"; do printf 'arg: %s\n' "$a"; done
  printf 'env: OS_PROJECT_NAME=%s OS_PASSWORD=%s\n' "$OS_PROJECT_NAME" "$OS_PASSWORD"; } >> "$log"
"#;
    let ai_rc = r#"#!/bin/sh
printf '== ai-rc\narg: %s\n' "$1" >> "$FAKE_LOG"
printf 'export OS_PROJECT_NAME=%s\n' "'$1'"
printf 'export OS_PASSWORD=%s\n' "'fake-pw-0042'"
"#;
    t.script("bin/ai-rc", ai_rc)
        .script("bin/ai-bs-vm", record)
        .script("bin/openstack", record)
        .script("bin/ai-kill-vm", record)
}

fn fake_env(t: Test) -> Test {
    let bin = t.path().join("bin");
    let log = t.path().join("calls.log");
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    t.env("PATH", &path).env("FAKE_LOG", log.to_str().unwrap())
}

fn calls(out: &Output) -> String {
    std::fs::read_to_string(out.dir.join("calls.log")).unwrap_or_default()
}

fn journal(out: &Output) -> Vec<serde_json::Value> {
    std::fs::read_to_string(the_run(&out.dir).join("journal.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn run_dir(out: &Output) -> std::path::PathBuf {
    the_run(&out.dir)
}

fn seed_run(section: &str, sets: &[&str]) -> Output {
    let page = root().join("runbooks/build-infrastructure.md");
    let mut args = vec!["run", page.to_str().unwrap(), "--yes", "--section", section];
    for s in sets {
        args.push("--set");
        args.push(s);
    }
    let t = fake_env(with_fake_tools(Test::new()));
    t.args(&args).run()
}

#[test]
fn seed_create_master_passes_exact_arguments_and_carries_state() {
    let out = seed_run("create-a-master", &["alimesosXX=alimesos07", "X=b"]);
    let log = calls(&out);
    let expected = "== ai-rc\narg: ALICE Release Testing\n\
== ai-bs-vm\narg: -g\narg: alibuild/mesos/master\narg: -i\narg: CC7 Base - x86_64 [2015-06-12]\n\
arg: --nova-sshkey\narg: alibuild\narg: --nova-availabilityzone\narg: cern-geneva-b\narg: --nova-flavor\narg: hep2.4\n\
arg: --landb-mainuser\narg: alice-agile-admin\narg: --landb-responsible\narg: alice-agile-admin\narg: alimesos07\n\
env: OS_PROJECT_NAME=ALICE Release Testing OS_PASSWORD=fake-pw-0042\n";
    assert_eq!(log, expected);
    // the password exported by eval $(ai-rc ...) never reaches the run's files
    let dir = run_dir(&out);
    for f in [
        "journal.jsonl",
        "transcript.md",
        "runbook.log",
        "values.json",
    ] {
        let text = std::fs::read_to_string(dir.join(f)).unwrap();
        assert!(!text.contains("fake-pw-0042"), "{f} holds the secret");
    }
    for snap in std::fs::read_dir(dir.join("state")).unwrap() {
        let text = std::fs::read_to_string(snap.unwrap().path()).unwrap();
        assert!(
            !text.contains("fake-pw-0042"),
            "a snapshot holds the secret"
        );
        assert!(!text.contains("OS_PASSWORD"));
    }
    let ends: Vec<_> = journal(&out)
        .into_iter()
        .filter(|e| e["event"] == "step-end")
        .collect();
    assert_eq!(ends.len(), 3);
    assert!(ends.iter().all(|e| e["status"] == 0));
}

#[test]
fn seed_create_slave_uses_machine_name_from_the_step_before() {
    let out = seed_run("Create a slave", &["MACHINE_NAME=alibuild42"]);
    let log = calls(&out);
    assert!(log.contains("== openstack\narg: volume\narg: create\narg: --type\narg: io1\narg: --size\narg: 1000\narg: alibuild42-store\n"), "{log}");
    assert!(log.contains("arg: --nova-attach-new-volume\narg: vdc=1TB\narg: alibuild42\nenv: OS_PROJECT_NAME=ALICE Release Testing"), "{log}");
}

#[test]
fn seed_delete_and_reboot() {
    let out = seed_run("delete-a-slave", &["alibuildXX=alibuild42"]);
    let log = calls(&out);
    assert!(log.contains("== ai-kill-vm\narg: alibuild42\n"), "{log}");
    assert!(
        log.contains("== openstack\narg: volume\narg: delete\narg: alibuild42-store\n"),
        "{log}"
    );
    let out = seed_run("reboot-a-slave", &["slave name=alibuild42; rm -rf /"]);
    let log = calls(&out);
    // the value is one argument, quoted, never spliced into the command
    assert!(
        log.contains(
            "== openstack\narg: server\narg: reboot\narg: --hard\narg: alibuild42; rm -rf /\n"
        ),
        "{log}"
    );
}

#[test]
fn dry_run_of_the_seed_recipe_shows_resolved_commands_and_runs_nothing() {
    let page = root().join("runbooks/build-infrastructure.md");
    let t = fake_env(with_fake_tools(Test::new()));
    let out = t
        .args(&[
            "run",
            page.to_str().unwrap(),
            "--dry-run",
            "--section",
            "create-a-master",
            "--set",
            "MACHINE_NAME=alimesos07",
        ])
        .stdout_contains("[2/3] create-a-master-2")
        .stdout_contains("    MACHINE_NAME=alimesos07\n")
        .stdout_contains("    ZONE=cern-geneva-<X> # <X> is one of a, b, c")
        .stdout_contains("needs a value: <X>  (--set 'ZONE=VALUE')  hint: <X> is one of a, b, c")
        .stdout_contains("at run time: $MACHINE_NAME is set by step create-a-master-2")
        .stderr_contains(
            "note: placeholder `<X>` in step create-a-master-2 has no value: it is asked for at run time",
        )
        .stderr_contains("build-infrastructure.md:47:25")
        .stderr_lacks("nothing would run")
        .run();
    // a run without questions cannot ask: then a missing value is a problem of the plan
    fake_env(with_fake_tools(Test::new()))
        .args(&[
            "run",
            page.to_str().unwrap(),
            "--dry-run",
            "--yes",
            "--section",
            "create-a-master",
            "--set",
            "MACHINE_NAME=alimesos07",
        ])
        .status(1)
        .stderr_contains("error: placeholder `<X>` in step create-a-master-2 has no value")
        .stderr_contains("nothing would run")
        .run();
    assert_eq!(calls(&out), "", "a dry run executes nothing");
    assert!(
        !out.dir.join("state").exists(),
        "a dry run creates no run directory"
    );
}

#[test]
fn dry_run_of_every_fixture_page_executes_nothing() {
    // Every page of our own fixture sites and the shipped runbooks; the conformance target
    // does the same for every page of the shared corpus.
    let mut roots = vec![root().join("runbooks")];
    for e in std::fs::read_dir(root().join("tests/fixtures")).unwrap() {
        let site = e.unwrap().path().join("site");
        if site.is_dir() {
            roots.push(site);
        }
    }
    let pages = dry_run_executes_nothing(&roots);
    assert!(pages >= 9, "{pages} pages");
}

#[test]
fn hello_runs_anywhere_and_carries_shell_state() {
    let page = root().join("runbooks/hello.md");
    let out = Test::new()
        .args(&[
            "run",
            page.to_str().unwrap(),
            "--yes",
            "--set",
            "audience=world",
        ])
        .stdout_contains("Hello, world!\n")
        .stdout_contains("greeting.txt has 2 words\n")
        .stderr_contains("[6/6] Clean up > clean-up-1")
        .run();
    let journal = journal(&out);
    assert_eq!(journal.first().unwrap()["event"], "run-start");
    assert_eq!(journal.last().unwrap()["result"], "ok");
    let ends: Vec<_> = journal
        .iter()
        .filter(|e| e["event"] == "step-end")
        .collect();
    assert_eq!(ends.len(), 6);
    for e in &ends {
        for k in [
            "id",
            "command",
            "decision",
            "start",
            "end",
            "status",
            "output_bytes",
        ] {
            assert!(!e[k].is_null(), "{k} missing in {e}");
        }
    }
    let dir = run_dir(&out);
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    for f in ["journal.jsonl", "transcript.md", "values.json"] {
        assert_eq!(
            std::fs::metadata(dir.join(f)).unwrap().permissions().mode() & 0o777,
            0o600,
            "{f}"
        );
    }
    let transcript = std::fs::read_to_string(dir.join("transcript.md")).unwrap();
    assert!(transcript.contains("### use-the-workspace-1"));
    assert!(transcript.contains("Hello, world!"));
}

#[test]
fn a_failing_step_stops_the_run_and_keep_going_does_not() {
    let page =
        "# Steps\n\n```bash\necho one\n```\n\n```bash\nfalse\n```\n\n```bash\necho three\n```\n";
    let out = Test::new()
        .site("x: 1\n")
        .page(page)
        .args(&["run", "page.md", "--yes"])
        .status(1)
        .stdout("one\n")
        .stderr_contains("exit status 1")
        .run();
    assert_eq!(journal(&out).last().unwrap()["result"], "failed");
    Test::new()
        .site("x: 1\n")
        .page(page)
        .args(&["run", "page.md", "--yes", "--keep-going"])
        .status(1)
        .stdout("one\nthree\n")
        .run();
}

/// A step's commands get SIGPIPE's default action, as from a shell: `yes` ends by the signal
/// when `head` stops reading (runbook itself ignores writes to a closed pipe, with a handler
/// that exec resets), and no "Broken pipe" error is printed.
#[test]
fn a_steps_commands_get_sigpipe_as_from_a_shell() {
    let page = "# P\n\n```bash\nyes | head -1\necho \"statuses ${PIPESTATUS[*]}\"\n```\n";
    Test::new()
        .site("x: 1\n")
        .page(page)
        .args(&["run", "page.md", "--yes"])
        .stdout("y\nstatuses 141 0\n")
        .stderr_lacks("Broken pipe")
        .run();
}

#[test]
fn secrets_are_masked_in_output_and_files() {
    let page = "# S\n\n```bash\nexport API_TOKEN=tok-123456789\necho \"token is $API_TOKEN\"\n```\n\n```bash\necho \"again $API_TOKEN\"\necho \"pin <pin>\"\n```\n";
    let out = Test::new()
        .site("x: 1\n")
        .page(page)
        .args(&[
            "run",
            "page.md",
            "--yes",
            "--set",
            "pin=98765432",
            "--secret",
            "pin",
        ])
        .stdout("token is ********\nagain ********\npin ********\n")
        .stderr_lacks("tok-123456789")
        .stderr_lacks("98765432")
        .run();
    let dir = run_dir(&out);
    let mut files = vec![
        dir.join("journal.jsonl"),
        dir.join("transcript.md"),
        dir.join("runbook.log"),
        dir.join("values.json"),
    ];
    files.extend(
        std::fs::read_dir(dir.join("state"))
            .unwrap()
            .map(|e| e.unwrap().path()),
    );
    for f in files {
        let text = std::fs::read_to_string(&f).unwrap();
        assert!(
            !text.contains("tok-123456789") && !text.contains("98765432"),
            "{} holds a secret:\n{text}",
            f.display()
        );
    }
}

#[test]
fn without_a_terminal_run_needs_yes() {
    Test::new()
        .site("x: 1\n")
        .page("```bash\necho hi\n```\n")
        .args(&["run", "page.md"])
        .status(2)
        .stderr_contains("pass --yes")
        .stdout("")
        .run();
}

#[test]
fn set_for_an_unknown_name_is_refused() {
    Test::new()
        .site("x: 1\n")
        .page("```bash\nssh <host>\n```\n")
        .args(&["run", "page.md", "--dry-run", "--set", "hots=a"])
        .status(2)
        .stderr_contains("--set hots: no placeholder or variable of that name")
        .stderr_contains("placeholders here: host")
        .run();
}

#[test]
fn unknown_section_names_the_recipes() {
    let page = root().join("runbooks/build-infrastructure.md");
    Test::new()
        .args(&[
            "run",
            page.to_str().unwrap(),
            "--dry-run",
            "--section",
            "create-a-mastr",
        ])
        .status(2)
        .stderr_contains("no section `create-a-mastr`")
        .stderr_contains("create-a-master")
        .run();
}

#[test]
fn strict_liquid_error_in_a_step_blocks_the_run() {
    Test::new()
        .site("x: 1\n")
        .page("# A\n\n```bash\necho {{ site.nope }}\n```\n")
        .args(&["run", "page.md", "--yes"])
        .status(1)
        .stderr_contains("undefined variable `site.nope`")
        .stderr_contains("page.md:4:9")
        .stdout("")
        .run();
}

/// Run `page` with `args` where a step fails until $FLAG exists (exit 1, `stdout` if given),
/// then create the flag: what a resume then goes on from.
pub(crate) fn fail_until_flag(
    page: &str,
    args: &[&str],
    stdout: Option<&str>,
) -> (Output, std::path::PathBuf) {
    let t = Test::new().site("x: 1\n").page(page);
    let flag = t.path().join("flag");
    let mut t = t.env("FLAG", flag.to_str().unwrap()).args(args).status(1);
    if let Some(s) = stdout {
        t = t.stdout(s);
    }
    let out = t.run();
    std::fs::write(&flag, "").unwrap();
    (out, flag)
}

/// `runbook run --resume --yes` in `dir` (whose state dir holds the runs), with $FLAG set.
fn resume_yes(dir: &Path, flag: &Path) -> std::process::Output {
    runbook_in(dir, &["run", "--resume", "--yes"])
        .env("FLAG", flag)
        .output()
        .unwrap()
}

fn succeeded_once(out_dir: &Path) {
    let run = the_run(out_dir);
    let text = std::fs::read_to_string(run.join("journal.jsonl")).unwrap();
    let mut ok: std::collections::HashMap<String, usize> = Default::default();
    for line in text.lines() {
        let Ok(e) = serde_json::from_str::<serde_json::Value>(line) else {
            continue;
        };
        if e["event"] == "step-end" && e["status"] == 0 {
            *ok.entry(e["id"].as_str().unwrap().to_string()).or_default() += 1;
        }
    }
    let mut ids: Vec<_> = ok.iter().collect();
    ids.sort();
    assert_eq!(
        ids,
        [
            (&"s-1".to_string(), &1),
            (&"s-2".to_string(), &1),
            (&"s-3".to_string(), &1)
        ],
        "{text}"
    );
}

const THREE_STEPS: &str = "# S\n\n```bash\nX=kept; cd /tmp; echo one\n```\n\n```bash\nif [ -f \"$FLAG\" ]; then echo two; else sleep \"${NAP:-0}\"; false; fi\n```\n\n```bash\necho \"three $X $PWD\"\n```\n";

#[test]
fn resume_after_a_failure_goes_on_with_the_state_it_had() {
    let (out, flag) = fail_until_flag(THREE_STEPS, &["run", "page.md", "--yes"], Some("one\n"));
    let again = resume_yes(&out.dir, &flag);
    let stdout = String::from_utf8_lossy(&again.stdout);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(0), "{stderr}");
    assert_eq!(stdout, "two\nthree kept /tmp\n", "{stderr}");
    assert!(stderr.contains("resuming run"), "{stderr}");
    succeeded_once(&out.dir);
}

#[test]
fn resume_after_kill_9_in_the_middle_of_a_step() {
    let t = Test::new().site("x: 1\n").page(THREE_STEPS);
    let dir = t.path().to_path_buf();
    let flag = dir.join("flag");
    let state = dir.join("state");
    let mut child = runbook_in(&dir, &["run", "page.md", "--yes"])
        .env("FLAG", &flag)
        .env("NAP", "29.317")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // wait until step 2 has started
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let started = std::fs::read_dir(state.join("runbook/runs"))
            .ok()
            .and_then(|mut d| d.next())
            .and_then(|e| std::fs::read_to_string(e.unwrap().path().join("journal.jsonl")).ok())
            .is_some_and(|j| j.contains("\"event\":\"step-start\",\"id\":\"s-2\""));
        // and its command is running
        if started && !crate::test::processes("sleep 29.317").is_empty() {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "step 2 never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // runbook died with its step still sleeping: the resume stops it (below)
    assert!(!crate::test::processes("sleep 29.317").is_empty());
    // a journal line cut in half, as a kill during a write would leave it
    let run = std::fs::read_dir(state.join("runbook/runs"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let mut j = std::fs::OpenOptions::new()
        .append(true)
        .open(run.join("journal.jsonl"))
        .unwrap();
    std::io::Write::write_all(&mut j, b"{\"event\":\"step-e").unwrap();
    drop(j);
    std::fs::write(&flag, "").unwrap();
    let again = resume_yes(&dir, &flag);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("last line was cut off"), "{stderr}");
    let left = crate::test::processes("sleep 29.317");
    crate::test::kill_all("sleep 29.317");
    assert!(
        left.is_empty(),
        "the killed run's step still runs: {left:?}"
    );
    assert!(stderr.contains("still running: stopped them"), "{stderr}");
    let journal = std::fs::read_to_string(run.join("journal.jsonl")).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&again.stdout),
        "two\nthree kept /tmp\n",
        "{stderr}\n{journal}"
    );
    // the cut line is still there, and the resumed run's lines come after it
    succeeded_once(&dir);
    drop(t);
}

#[test]
fn resume_with_secrets_reruns_the_step_that_set_them() {
    let page = "# S\n\n```bash\nexport OS_PASSWORD=pw-123456\n```\n\n```bash\ntest -f \"$FLAG\"\n```\n\n```bash\necho \"pw length ${#OS_PASSWORD}\"\n```\n";
    let (out, flag) = fail_until_flag(page, &["run", "page.md", "--yes"], None);
    let again = resume_yes(&out.dir, &flag);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("secret variables OS_PASSWORD were kept in memory only"),
        "{stderr}"
    );
    assert!(
        stderr.contains("resuming run") && stderr.contains("from step s-1"),
        "{stderr}"
    );
    assert_eq!(String::from_utf8_lossy(&again.stdout), "pw length 9\n");
}

#[test]
fn resume_says_which_steps_changed() {
    let (out, flag) = fail_until_flag(THREE_STEPS, &["run", "page.md", "--yes"], None);
    let changed = THREE_STEPS.replace("echo \"three $X $PWD\"", "echo \"3 $X\"");
    std::fs::write(out.dir.join("page.md"), changed).unwrap();
    let again = resume_yes(&out.dir, &flag);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert!(
        stderr.contains("the page changed since this run started: s-3 (changed)"),
        "{stderr}"
    );
    assert_eq!(String::from_utf8_lossy(&again.stdout), "two\n3 kept\n");
}

#[test]
fn resume_takes_the_state_of_the_last_step_that_changed_it() {
    let page = "# S\n\n```bash\nX=kept\n```\n\n```bash\necho two\n```\n\n```bash\ntest -f \"$FLAG\" && echo \"three $X\"\n```\n";
    let (out, flag) = fail_until_flag(page, &["run", "page.md", "--yes"], Some("two\n"));
    let again = resume_yes(&out.dir, &flag);
    assert_eq!(
        String::from_utf8_lossy(&again.stdout),
        "three kept\n",
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

#[test]
fn front_matter_chooses_the_shell() {
    Test::new()
        .site("x: 1\n")
        .page("---\nrunbook:\n  shell: sh\n---\n# S\n\n```bash\necho \"${BASH_VERSION:-no bash}\"\n```\n")
        .args(&["run", "page.md", "--yes"])
        .stdout("no bash\n")
        .run();
    Test::new()
        .site("x: 1\n")
        .page("---\nrunbook:\n  shell: sh\n---\n# S\n\n```bash\necho \"${BASH_VERSION:+bash}\"\n```\n")
        .args(&["run", "page.md", "--yes", "--shell", "bash"])
        .stdout("bash\n")
        .run();
    // the dry run and each step say which shell runs them
    let page = "---\nrunbook:\n  shell: sh\n---\n# S\n\n```bash\necho hi\n```\n";
    Test::new()
        .site("x: 1\n")
        .page(page)
        .args(&["run", "page.md", "--dry-run"])
        .stdout_contains("steps run in `sh`, chosen by the page's front matter")
        .run();
    // a shell that is not there: refused before a run directory exists
    let out = Test::new()
        .site("x: 1\n")
        .page("---\nrunbook:\n  shell: no-such-shell\n---\n# S\n\n```bash\necho hi\n```\n")
        .args(&["run", "page.md", "--yes"])
        .status(2)
        .stderr_contains("names the shell `no-such-shell`, which is not installed here")
        .run();
    assert!(!out.dir.join("state").exists(), "no run directory");
    Test::new()
        .site("x: 1\n")
        .page("---\nrunbook:\n  shell: no-such-shell\n---\n# S\n\n```bash\necho hi\n```\n")
        .args(&["run", "page.md", "--dry-run"])
        .status(1)
        .stderr_contains("not installed here")
        .run();
}

#[test]
fn control_characters_are_shown_and_reported() {
    // `touch PWNED; echo ok # ESC[2K CR df -h /` looks like `df -h /` on a terminal
    let page = "# Disk\n\n```bash\ntouch PWNED; echo ok # \u{1b}[2K\r df -h /\n```\n";
    let shown = "touch PWNED; echo ok # \\e[2K\\r df -h /";
    Test::new()
        .site("x: 1\n")
        .page(page)
        .args(&["list", "page.md"])
        .stdout_contains(shown)
        .run();
    Test::new()
        .site("x: 1\n")
        .page(page)
        .args(&["run", "page.md", "--dry-run"])
        .stdout_contains(&format!("    {shown}\n"))
        .stderr_contains("page.md:4:24")
        .stderr_contains("control character `\\e`")
        .run();
    Test::new()
        .site("x: 1\n")
        .page(page)
        .args(&["check", "page.md"])
        .status(1)
        .stderr_contains("page.md:4:24")
        .stderr_contains("page.md:4:28")
        .stderr_contains("control character `\\r`")
        .run();
    let out = Test::new()
        .site("x: 1\n")
        .page(page)
        .args(&["run", "page.md", "--yes"])
        .stderr_contains(&format!("    {shown}\n"))
        .run();
    let transcript = std::fs::read_to_string(the_run(&out.dir).join("transcript.md")).unwrap();
    assert!(transcript.contains(shown), "{transcript}");
    assert!(!transcript.contains('\u{1b}'), "{transcript}");
    // a CRLF page is not full of control characters
    Test::new()
        .site("x: 1\n")
        .page("# Disk\r\n\r\n```bash\r\ndf -h /\r\n```\r\n")
        .args(&["check", "page.md"])
        .run();
}

#[test]
fn a_page_without_runnable_steps_has_nothing_to_run() {
    Test::new()
        .site("x: 1\n")
        .page("# Notes\n\n```yaml\nkey: value\n```\n")
        .args(&["run", "page.md", "--yes"])
        .stderr_contains("page.md has no runnable steps")
        .stdout("")
        .run();
}

#[test]
fn a_huge_output_is_shown_whole_and_kept_in_part() {
    let out = Test::new()
        .site("x: 1\n")
        .page("# S\n\n```bash\nhead -c 3000000 /dev/zero | tr '\\0' 'x'; echo; echo done\n```\n")
        .args(&["run", "page.md", "--yes"])
        .stdout_contains("done\n")
        .run();
    assert_eq!(out.stdout.len(), 3_000_000 + 6);
    let transcript = std::fs::read_to_string(run_dir(&out).join("transcript.md")).unwrap();
    assert!(transcript.contains("bytes of output not kept here"));
    assert!(transcript.contains("done"));
    assert!(transcript.len() < 1_200_000);
    let end = journal(&out)
        .into_iter()
        .find(|e| e["event"] == "step-end")
        .unwrap();
    assert_eq!(end["output_bytes"], 3_000_006);
}

#[test]
fn resume_after_a_placeholder_left_the_page() {
    let page = "# S\n\n```bash\necho <who>\n```\n\n```bash\ntest -f \"$FLAG\"\n```\n";
    let (out, flag) = fail_until_flag(
        page,
        &["run", "page.md", "--yes", "--set", "who=me"],
        Some("me\n"),
    );
    std::fs::write(
        out.dir.join("page.md"),
        "# S\n\n```bash\necho me\n```\n\n```bash\ntest -f \"$FLAG\"\n```\n",
    )
    .unwrap();
    let again = resume_yes(&out.dir, &flag);
    let stderr = String::from_utf8_lossy(&again.stderr);
    assert_eq!(again.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("s-1 (changed)"), "{stderr}");
}

#[test]
fn a_step_with_its_own_exit_trap_keeps_it_and_its_state() {
    Test::new()
        .site("x: 1\n")
        .page("# S\n\n```bash\ntrap 'echo my trap' EXIT\nB=2\n```\n\n```bash\necho \"B=$B\"\nexit 3\n```\n")
        .args(&["run", "page.md", "--yes"])
        .status(1)
        .stdout("my trap\nB=2\n")
        .run();
}

/// `run --dry-run` of the seed page (in its fixture site) with these extra arguments.
fn seed_dry_run(extra: &[&str]) -> Test {
    let page = crate::test::seed_page();
    let mut args = vec!["run", page.to_str().unwrap(), "--dry-run", "--lax"];
    args.extend_from_slice(extra);
    Test::new().args(&args)
}

#[test]
fn dry_run_shows_the_steps_done_by_hand_in_page_order() {
    let out = seed_dry_run(&["--section", "deleting-a-slave"])
        .stdout_contains("4 steps (3 done by hand), nothing is executed")
        .run();
    let s = &out.stdout;
    let at = |needle: &str| {
        s.find(needle)
            .unwrap_or_else(|| panic!("{needle:?} missing in\n{s}"))
    };
    let order = [
        at("[1/4] deleting-a-slave-m1  by hand"),
        at("  do by hand: Login to aiadm.cern.ch.\n"),
        at("[2/4] deleting-a-slave-1  "),
        at("    eval $(ai-rc \"ALICE Release Testing\")\n"),
        at("[3/4] deleting-a-slave-m2  by hand"),
        at("  do by hand: Delete the machine with ai-kill-vm <alibuildXX>\n"),
        at("  on request it runs: ai-kill-vm <alibuildXX>\n"),
        at("  asked if run: <alibuildXX>  (--set 'alibuildXX=VALUE')\n"),
        at("[4/4] deleting-a-slave-m3  by hand"),
        at("  do by hand: Delete the previously attached volumes.\n"),
    ];
    assert!(order.windows(2).all(|w| w[0] < w[1]), "{s}");
    // the line of the item in the page
    assert!(s.contains("infrastructure-mesos.markdown:152\n"), "{s}");
    // a placeholder of an inline command is no problem of the plan: exit 0
    assert!(!out.stderr.contains("alibuildXX"), "{}", out.stderr);
}

#[test]
fn a_selection_names_and_bounds_manual_steps() {
    // a value for the inline command's placeholder is filled in, quoted
    seed_dry_run(&[
        "--step",
        "deleting-a-slave-m2",
        "--set",
        "alibuildXX=alibuild 42",
    ])
    .stdout_contains("1 step (1 done by hand)")
    .stdout_contains("  on request it runs: ai-kill-vm 'alibuild 42'\n")
    .run();
    // --from / --to name manual steps and bound them
    let out = seed_dry_run(&[
        "--from",
        "creating-a-slave-4",
        "--to",
        "deleting-a-slave-m2",
        "--set",
        "MACHINE_NAME=alibuild42",
    ])
    .run();
    let ids: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with('['))
        .map(|l| l.split_whitespace().nth(1).unwrap())
        .collect();
    assert_eq!(
        ids,
        [
            "creating-a-slave-4",
            "deleting-a-slave-m1",
            "deleting-a-slave-1",
            "deleting-a-slave-m2"
        ]
    );
    // the code steps of a section keep their order and numbering among the manual ones
    let out = seed_dry_run(&[
        "--section",
        "creating-a-master",
        "--set",
        "alimesosXX=m",
        "--set",
        "X=a",
    ])
    .run();
    assert!(
        out.stdout.contains("[1/3] creating-a-master-m1  by hand"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("[2/3] creating-a-master-1  "),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("[3/3] creating-a-master-2  "),
        "{}",
        out.stdout
    );
    // a selection of steps done by hand only has nothing for runbook to run
    let page = crate::test::seed_page();
    Test::new()
        .args(&[
            "run",
            page.to_str().unwrap(),
            "--lax",
            "--yes",
            "--step",
            "deleting-a-slave-m3",
        ])
        .stderr_contains("only steps done by hand")
        .run();
}

fn shipped(page: &str) -> String {
    root()
        .join("runbooks")
        .join(page)
        .to_str()
        .unwrap()
        .to_string()
}

#[test]
fn a_step_alone_does_not_run_on_variables_an_unselected_step_sets() {
    let page = shipped("build-infrastructure.md");
    let t = fake_env(with_fake_tools(Test::new()));
    let out = t
        .args(&["run", &page, "--step", "create-a-master-3", "--dry-run"])
        .status(1)
        .stdout_contains("  not set: $ZONE is set by step create-a-master-2, which is not selected  (--set 'ZONE=VALUE')\n")
        .stdout_contains("  not set: $MACHINE_NAME is set by step create-a-master-2, which is not selected")
        .stderr_contains("error: `$ZONE` is read by step create-a-master-3 but set only by step create-a-master-2, which is not selected: it would be empty")
        .stderr_contains("build-infrastructure.md:55:42")
        .stderr_contains("error: `$MACHINE_NAME` is read by step create-a-master-3 but set only by step create-a-master-2")
        .stderr_contains("build-infrastructure.md:59:18")
        .stderr_contains("select it too (--step create-a-master-2), give it a value with --set 'ZONE=VALUE', or export ZONE before running")
        .stderr_contains("the plan has 2 problems: nothing would run")
        .run();
    assert_eq!(calls(&out), "");
    // with values the plan is clean: the step has no placeholder, its tools are on PATH
    let t = fake_env(with_fake_tools(Test::new()));
    let out = t
        .args(&[
            "run",
            &page,
            "--step",
            "create-a-master-3",
            "--dry-run",
            "--set",
            "ZONE=cern-geneva-a",
            "--set",
            "MACHINE_NAME=alimesos07",
        ])
        .stdout_contains("  input: $ZONE from --set (it is set by step create-a-master-2, which is not selected)\n")
        .stdout_contains("  input: $MACHINE_NAME from --set")
        .run();
    assert_eq!(out.stderr, "", "no problem left");
    // a value from runbook's environment is enough
    let t = fake_env(with_fake_tools(Test::new()));
    t.env("ZONE", "cern-geneva-b")
        .args(&[
            "run",
            &page,
            "--step",
            "create-a-master-3",
            "--dry-run",
            "--set",
            "MACHINE_NAME=alimesos07",
        ])
        .stdout_contains("  input: $ZONE from the environment")
        .stderr_lacks("unset-input")
        .stderr_lacks("$ZONE")
        .run();
    // without a value the run refuses before anything runs or is asked
    let t = fake_env(with_fake_tools(Test::new()));
    let out = t
        .args(&["run", &page, "--step", "create-a-master-3", "--yes"])
        .status(1)
        .stderr_contains("`$ZONE` is read by step create-a-master-3")
        .stderr_contains("nothing ran")
        .run();
    assert_eq!(calls(&out), "", "nothing ran");
    assert!(!out.dir.join("state").exists(), "no run directory");
    // the whole recipe sets them itself
    let t = fake_env(with_fake_tools(Test::new()));
    t.args(&[
        "run",
        &page,
        "--section",
        "create-a-master",
        "--dry-run",
        "--set",
        "alimesosXX=alimesos07",
        "--set",
        "X=a",
    ])
    .stderr_lacks("unset-input")
    .stderr_lacks("is read by step")
    .run();
}

#[test]
fn a_value_for_an_input_reaches_the_steps_of_a_partial_selection() {
    let page = shipped("build-infrastructure.md");
    // --set names must still name something of the selection
    Test::new()
        .args(&[
            "run",
            &page,
            "--step",
            "create-a-master-3",
            "--dry-run",
            "--set",
            "NOPE=1",
        ])
        .status(2)
        .stderr_contains("--set NOPE: no placeholder or variable of that name in the selected steps (the selected steps have no placeholders; variables set only by steps not selected: ZONE, MACHINE_NAME)")
        .run();
    // the values given for the variables only an unselected step sets reach the step,
    // exported as the environment would give them
    let t = fake_env(with_fake_tools(Test::new()));
    let out = t
        .args(&[
            "run",
            &page,
            "--step",
            "create-a-master-3",
            "--yes",
            "--set",
            "ZONE=a",
            "--set",
            "MACHINE_NAME=m",
        ])
        .run();
    let log = calls(&out);
    assert!(
        log.contains("== ai-bs-vm\n")
            && log.contains("arg: --nova-availabilityzone\narg: a\n")
            && log.ends_with("arg: m\nenv: OS_PROJECT_NAME= OS_PASSWORD=\n"),
        "{log}"
    );
}

#[test]
fn the_seed_slave_step_alone_needs_its_machine_name() {
    let out = seed_dry_run(&["--step", "creating-a-slave-4"])
        .status(1)
        .stderr_contains("`$MACHINE_NAME` is read by step creating-a-slave-4 but set only by step creating-a-slave-2, which is not selected")
        .stderr_contains("infrastructure-mesos.markdown:130:16")
        .run();
    assert!(!out.stderr.contains("$ZONE"), "{}", out.stderr);
    seed_dry_run(&[
        "--step",
        "creating-a-slave-4",
        "--set",
        "MACHINE_NAME=alibuild42",
    ])
    .stdout_contains("  input: $MACHINE_NAME from --set")
    .stderr_lacks("unset-input")
    .run();
    // from the step that sets it on, nothing is missing
    seed_dry_run(&[
        "--from",
        "creating-a-slave-2",
        "--to",
        "creating-a-slave-4",
        "--set",
        "alibuildXX=alibuild42",
    ])
    .stderr_lacks("is read by step")
    .run();
}

#[test]
fn hello_sections_that_need_an_earlier_one_say_so() {
    let page = shipped("hello.md");
    // GREETING and AUDIENCE come from the environment `eval "$(settings ...)"` loads
    Test::new()
        .args(&["run", &page, "--section", "use-the-workspace", "--dry-run"])
        .status(1)
        .stderr_contains("error: `$GREETING` is read by step use-the-workspace-1 but no step of the page sets it; step prepare-a-workspace-2, which is not selected, loads an environment (eval/source) that may")
        .stderr_contains("hello.md:34:7")
        .stderr_contains("`$AUDIENCE` is read by step use-the-workspace-1")
        .stderr_contains("hello.md:34:18")
        .stderr_contains("select its section too (--section prepare-a-workspace)")
        .stdout_contains("  not set: $GREETING may be set by the environment step prepare-a-workspace-2 loads, which is not selected")
        .run();
    Test::new()
        .args(&["run", &page, "--section", "clean-up", "--dry-run"])
        .status(1)
        .stderr_contains("`$WORKDIR` is read by step clean-up-1 but set only by step prepare-a-workspace-1, which is not selected")
        .run();
    // with the section they need, nothing is missing
    Test::new()
        .args(&[
            "run",
            &page,
            "--section",
            "prepare-a-workspace",
            "--section",
            "use-the-workspace",
            "--dry-run",
            "--set",
            "audience=world",
        ])
        .stderr_lacks("is read by step")
        .run();
}

#[test]
fn what_is_not_an_unset_input() {
    let page = r#"# Setup

```bash
NAME=demo
eval "$(printf 'export LOADED=1')"
```

# Use

```bash
echo "${NAME:-none} ${NAME:+set} $PWD $RANDOM"
for f in a b; do echo "$f"; done
OWN=1; echo "$OWN $HOME"
echo "$NEVER_SET_ANYWHERE_XYZ"
```

```bash
echo "$OWN"
```
"#;
    // defaults, the step's own variables, an earlier selected step's, bash's own, and the
    // environment's are not inputs; a variable nobody sets is not one either, unless an
    // unselected step loads an environment before it
    let out = Test::new()
        .site(
            "x: 1
",
        )
        .page(page)
        .args(&["run", "page.md", "--section", "use", "--dry-run"])
        .status(1)
        .run();
    let errors: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:") && l.contains("is read by step"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", out.stderr);
    assert!(
        errors[0].contains("`$NEVER_SET_ANYWHERE_XYZ`"),
        "{}",
        out.stderr
    );
    // once the step that loads an environment runs before it, nothing is reported
    Test::new()
        .site(
            "x: 1
",
        )
        .page(page)
        .args(&["run", "page.md", "--dry-run"])
        .stderr_lacks("is read by step")
        .run();
}

/// `runbook run A.md --resume` resumes A's latest run, even when another page ran since;
/// `runbook run --resume` alone takes the run that started last, by the start time its
/// journal records (not by which journal was written last).
#[test]
fn resume_resumes_the_page_you_name() {
    let fail_once = |name: &str| {
        format!(
            "# {name}\n\n```bash\necho {name}-1 >> log\n```\n\n```bash\n[ -e {name}-ok ] || exit 3\necho {name}-2 >> log\n```\n"
        )
    };
    let t = Test::new()
        .site("x: 1\n")
        .file("a.md", fail_once("a"))
        .file("b.md", fail_once("b"));
    let dir = t.path().to_path_buf();
    let run = |args: &[&str]| {
        let out = runbook_in(&dir, args)
            .stdin(std::process::Stdio::null())
            .output()
            .unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    assert_eq!(run(&["run", "a.md", "--yes"]).0, Some(1));
    std::thread::sleep(std::time::Duration::from_millis(20));
    assert_eq!(run(&["run", "b.md", "--yes"]).0, Some(1));
    // a's journal is now the one written last; b still started last
    let runs: Vec<_> = std::fs::read_dir(dir.join("state/runbook/runs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    let a_run = runs
        .iter()
        .find(|p| p.to_string_lossy().contains("-a-"))
        .unwrap();
    let journal = a_run.join("journal.jsonl");
    let f = std::fs::OpenOptions::new()
        .append(true)
        .open(&journal)
        .unwrap();
    f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(60))
        .unwrap();
    std::fs::write(dir.join("a-ok"), "").unwrap();
    let (code, stderr) = run(&["run", "a.md", "--resume", "--yes"]);
    assert_eq!(code, Some(0), "{stderr}");
    let log = std::fs::read_to_string(dir.join("log")).unwrap();
    assert_eq!(log, "a-1\nb-1\na-2\n", "the resume ran a's step: {stderr}");
    std::fs::write(dir.join("b-ok"), "").unwrap();
    let (code, stderr) = run(&["run", "--resume", "--yes"]);
    assert_eq!(code, Some(0), "{stderr}");
    let log = std::fs::read_to_string(dir.join("log")).unwrap();
    assert_eq!(log, "a-1\nb-1\na-2\nb-2\n", "{stderr}");
    let (code, stderr) = run(&["run", "c.md", "--resume", "--yes"]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("no run of c.md to resume"), "{stderr}");
}

/// The issue's example: a value bash prints as `$'Can\'t reach\nstale'` used to end the state
/// reader's understanding of the state; the next step lost its directory, functions and every
/// variable after it.
#[test]
fn a_value_with_an_apostrophe_and_a_newline_keeps_the_whole_state() {
    let t = Test::new().site("x: 1\n").page(
        "# S\n\n```bash\ncd \"$CACHE_DIR\"; status=$(printf \"Can't reach\\nstale\"); f() { echo hi; }; later=1\n```\n\n\
```bash\nprintf '%s|%s|%s\\n' \"$PWD\" \"$status\" \"$later\"; f\n```\n",
    );
    let cache = t.path().join("cache dir's");
    std::fs::create_dir(&cache).unwrap();
    let out = t
        .env("CACHE_DIR", cache.to_str().unwrap())
        .args(&["run", "page.md", "--yes"])
        .run();
    assert_eq!(
        out.stdout,
        format!("{}|Can't reach\nstale|1\nhi\n", cache.display())
    );
}

#[test]
fn a_step_whose_directory_is_gone_fails_before_its_command_runs() {
    let out = Test::new()
        .site("x: 1\n")
        .page("# S\n\n```bash\nmkdir d; cd d\n```\n\n```bash\nrmdir ../d\n```\n\n```bash\ntouch marker; echo ran\n```\n")
        .args(&["run", "page.md", "--yes"])
        .status(1)
        .stderr_contains("step s-3 did not run: its working directory")
        .stderr_contains("no longer exists (removed or renamed)")
        .stderr_contains("exit status 125")
        .run();
    assert_eq!(out.stdout, "");
    // nothing ran anywhere: not in runbook's directory, not in a directory of the same name
    let mut found = Vec::new();
    let mut dirs = vec![out.dir.clone()];
    while let Some(d) = dirs.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            if e.path().is_dir() {
                dirs.push(e.path());
            } else if e.file_name() == "marker" {
                found.push(e.path());
            }
        }
    }
    assert!(found.is_empty(), "{found:?}");
    let end = journal(&out)
        .into_iter()
        .rfind(|e| e["event"] == "step-end")
        .unwrap();
    assert_eq!(end["id"], "s-3");
    assert_eq!(end["status"], 125);
    assert!(
        end["error"].as_str().unwrap().contains("no longer exists"),
        "{end}"
    );
    let transcript = std::fs::read_to_string(run_dir(&out).join("transcript.md")).unwrap();
    assert!(transcript.contains("step s-3 did not run"), "{transcript}");
}

#[test]
fn unsets_unexports_and_attributes_reach_the_next_step() {
    let page = "# S\n\n```bash\nunset RB_GONE; export -n RB_UNEXPORTED; unset RB_ARRAY; RB_ARRAY=(a 'b c')\n\
declare -r RO=1; declare -i N=5; declare -n REF=N; declare -A H=([k]=v); export -f 2>/dev/null; g() { :; }; export -f g\n```\n\n\
```bash\necho \"${RB_GONE-unset}\"; declare -p RB_UNEXPORTED RB_ARRAY RO N REF H\nenv | grep -c '^RB_UNEXPORTED=' || :\nN+=1; echo \"$REF\"; bash -c 'type g >/dev/null && echo g exported'\n```\n";
    Test::new()
        .site("x: 1\n")
        .page(page)
        .env("RB_GONE", "1")
        .env("RB_UNEXPORTED", "2")
        .env("RB_ARRAY", "3")
        .args(&["run", "page.md", "--yes"])
        .stdout(
            "unset\ndeclare -- RB_UNEXPORTED=\"2\"\ndeclare -a RB_ARRAY=([0]=\"a\" [1]=\"b c\")\n\
declare -r RO=\"1\"\ndeclare -i N=\"5\"\ndeclare -n REF=\"N\"\ndeclare -A H=([k]=\"v\" )\n0\n6\ng exported\n",
        )
        .run();
}

#[test]
fn a_non_utf8_environment_reaches_the_steps_byte_for_byte() {
    use std::os::unix::ffi::OsStrExt;
    let t = Test::new()
        .site("x: 1\n")
        .page("# S\n\n```bash\nX=1\n```\n\n```bash\nprintf '%s' \"$LEGACY\" | od -An -tx1\nbash -c 'printf \"%s\" \"$LEGACY\"' | od -An -tx1\n```\n");
    let out = runbook_in(t.path(), &["run", "page.md", "--yes"])
        .env("LEGACY", std::ffi::OsStr::from_bytes(b"caf\xe9"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        " 63 61 66 e9\n 63 61 66 e9\n",
        "{stderr}"
    );
}

#[test]
fn snapshots_hold_what_changed_and_a_resume_rebuilds_the_whole_state() {
    let mut page = String::from("# Many\n\n");
    for i in 1..200 {
        page.push_str(&format!("```bash\nV_{i}=\"value {i}\"\n```\n\n"));
    }
    page.push_str("```bash\ntest -f \"$FLAG\" || exit 1\nn=0; for i in $(seq 199); do v=V_$i; [ \"${!v}\" = \"value $i\" ] && n=$((n+1)); done; echo \"$n of 199\"\n```\n");
    let (out, flag) = fail_until_flag(&page, &["run", "page.md", "--yes"], Some(""));
    let state = run_dir(&out).join("state");
    let mut files: Vec<_> = std::fs::read_dir(&state)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert_eq!(files.len(), 199, "one file per step that changed the state");
    let last = std::fs::metadata(files.last().unwrap()).unwrap().len();
    assert!(last < 1024, "the last snapshot is {last} bytes");
    let total: u64 = files
        .iter()
        .map(|f| std::fs::metadata(f).unwrap().len())
        .sum();
    assert!(total < 200 * 1024, "{total} bytes in state/");
    let again = resume_yes(&out.dir, &flag);
    assert_eq!(
        String::from_utf8_lossy(&again.stdout),
        "199 of 199\n",
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

#[test]
fn a_resume_forgets_what_the_steps_it_runs_again_changed_before() {
    // with --keep-going, s-3 runs after s-2 failed and sets STALE; the resume runs s-2 and s-3
    // again (s-3 then sets nothing), and s-4 fails; the second resume must not see STALE
    let page = "# S\n\n```bash\nA=1\n```\n\n```bash\ntest -f \"$FLAG\"\n```\n\n\
```bash\n[ -f \"$FLAG\" ] || STALE=1\n```\n\n```bash\ntest -f \"$FLAG.2\" || exit 1; echo \"${STALE-none} $A\"\n```\n";
    let (out, flag) = fail_until_flag(page, &["run", "page.md", "--yes", "--keep-going"], None);
    let again = resume_yes(&out.dir, &flag);
    assert_eq!(again.status.code(), Some(1));
    std::fs::write(format!("{}.2", flag.display()), "").unwrap();
    let third = resume_yes(&out.dir, &flag);
    assert_eq!(
        String::from_utf8_lossy(&third.stdout),
        "none 1\n",
        "{}",
        String::from_utf8_lossy(&third.stderr)
    );
}

#[test]
fn a_variable_set_back_to_its_inherited_value_is_inherited_again_on_resume() {
    // a secret inherited variable changed, then set back; a public one the same: the snapshot
    // files hold neither value, and after a resume both come from the environment again
    let page = "# S\n\n```bash\nOS_PASSWORD=changed-9876; MYVAR=changed\n```\n\n\
```bash\nOS_PASSWORD=env-pw-1234; MYVAR=env-value-5678; X=1\n```\n\n\
```bash\ntest -f \"$FLAG\"\n```\n\n```bash\necho \"${OS_PASSWORD-unset} ${MYVAR-unset} $X\"\n```\n";
    let t = Test::new().site("x: 1\n").page(page);
    let flag = t.path().join("flag");
    let out = t
        .env("FLAG", flag.to_str().unwrap())
        .env("OS_PASSWORD", "env-pw-1234")
        .env("MYVAR", "env-value-5678")
        .args(&["run", "page.md", "--yes"])
        .status(1)
        .run();
    for f in std::fs::read_dir(run_dir(&out).join("state")).unwrap() {
        let text = std::fs::read_to_string(f.unwrap().path()).unwrap();
        for v in ["env-pw-1234", "env-value-5678", "changed-9876"] {
            assert!(!text.contains(v), "{v} in a snapshot:\n{text}");
        }
    }
    std::fs::write(&flag, "").unwrap();
    let again = runbook_in(&out.dir, &["run", "--resume", "--yes"])
        .env("FLAG", &flag)
        .env("OS_PASSWORD", "env-pw-1234")
        .env("MYVAR", "env-value-5678")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&again.stdout),
        "******** env-value-5678 1\n",
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
}

/// Without a terminal a step's stdout is runbook's stdout and its stderr runbook's stderr,
/// with runbook's own framing on stderr: `> out.log` keeps the steps' output alone. A shell
/// error names the page and its line, on the screen and in the transcript.
#[test]
fn streams_follow_conventions_and_errors_point_at_the_page() {
    let page = "# S\n\nFirst:\n\n```bash\necho out\necho err >&2\n```\n\n```bash\necho before\nnosuchcommand --flag\n```\n";
    let out = Test::new()
        .site("x: 1\n")
        .page(page)
        .args(&["run", "page.md", "--yes"])
        .status(1)
        .stdout("out\nbefore\n")
        .stderr_contains("err\n")
        .stderr_contains("page.md:12: nosuchcommand: command not found")
        .stderr_contains("[1/2] S > s-1")
        .stderr_lacks("/proc/")
        .run();
    let transcript = std::fs::read_to_string(the_run(&out.dir).join("transcript.md")).unwrap();
    assert!(
        transcript.contains("page.md:12: nosuchcommand: command not found"),
        "{transcript}"
    );
    assert!(!transcript.contains("/proc/"), "{transcript}");
}

const MANUAL_PAGE: &str = "# Delete\n\n1. Login to `admin.example.org`\n2. Load the credentials:\n\n   ```bash\n   echo creds >> log\n   ```\n\n3. Delete the machine with `rm-vm <machine>`\n4. Remove the old volumes by hand\n5. Check:\n\n   ```bash\n   echo check >> log\n   ```\n";

/// With `--yes`, steps a person must do are shown in page order, not waited on, journaled
/// as not confirmed (`manual` events) and listed in the summary; the exit status is the
/// commands'.
#[test]
fn manual_steps_with_yes_are_shown_journaled_and_summarised() {
    let out = Test::new()
        .site("x: 1\n")
        .page(MANUAL_PAGE)
        .args(&["run", "page.md", "--yes"])
        .stderr_contains("by hand (not waited for, --yes): Login to admin.example.org")
        .stderr_contains("by hand (not waited for, --yes): Remove the old volumes by hand")
        .stderr_contains("delete-m2  by hand, not confirmed: --yes did not wait for it")
        .stderr_contains("3 of 5 steps did not plainly succeed")
        .run();
    let log = std::fs::read_to_string(out.dir.join("log")).unwrap();
    assert_eq!(log, "creds\ncheck\n");
    let events = journal(&out);
    let kinds: Vec<(String, String)> = events
        .iter()
        .filter(|e| e["event"] == "manual" || e["event"] == "step-end")
        .map(|e| {
            (
                e["event"].as_str().unwrap().to_string(),
                e["id"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        [
            ("manual", "delete-m1"),
            ("step-end", "delete-1"),
            ("manual", "delete-m2"),
            ("manual", "delete-m3"),
            ("step-end", "delete-2")
        ]
        .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert!(
        events
            .iter()
            .filter(|e| e["event"] == "manual")
            .all(|e| e["decision"] == "not-confirmed"),
        "{events:?}"
    );
    let transcript = std::fs::read_to_string(run_dir(&out).join("transcript.md")).unwrap();
    assert!(
        transcript.contains("### delete-m2 (by hand, not confirmed (--yes did not wait for it))\n\nDelete the machine with rm-vm <machine>"),
        "{transcript}"
    );
}

/// The run's record says who ran it, where, with which runbook, from which revision of the
/// page, with which selection and values.
#[test]
fn the_run_is_an_audit_record() {
    let t = Test::new()
        .site("x: 1\n")
        .page("# S\n\n```bash\necho \"<name>\"\n```\n");
    let dir = t.path().to_path_buf();
    let git = |args: &[&str]| {
        let ok = std::process::Command::new("git")
            .args(args)
            .current_dir(&dir)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.org")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.org")
            .output()
            .unwrap();
        assert!(ok.status.success(), "{ok:?}");
        String::from_utf8_lossy(&ok.stdout).trim().to_string()
    };
    git(&["init", "-q"]);
    git(&["add", "."]);
    git(&["commit", "-qm", "page"]);
    let commit = git(&["rev-parse", "HEAD"]);
    let out = t
        .args(&[
            "run", "page.md", "--yes", "--set", "name=ops", "--step", "s-1",
        ])
        .run();
    let start = journal(&out).into_iter().next().unwrap();
    assert_eq!(start["event"], "run-start");
    assert_eq!(start["revision"]["commit"], commit.as_str());
    assert_eq!(start["revision"]["dirty"], false);
    assert_eq!(start["version"], env!("CARGO_PKG_VERSION"));
    assert!(start["user"].as_str().is_some_and(|u| !u.is_empty()));
    assert!(start["machine"].as_str().is_some_and(|h| !h.is_empty()));
    assert_eq!(start["values"]["name"], "ops");
    assert_eq!(start["selection"]["steps"][0], "s-1");
    let transcript = std::fs::read_to_string(run_dir(&out).join("transcript.md")).unwrap();
    assert!(
        transcript.contains(&format!("- page revision: `{commit}`\n")),
        "{transcript}"
    );
    assert!(transcript.contains("- by: `"), "{transcript}");
    assert!(
        transcript.contains("- selection: `--step s-1`"),
        "{transcript}"
    );
    assert!(transcript.contains("  - `name` = `ops`"), "{transcript}");
}

/// Every ending that is not plain success says what happened to each step, where the run
/// is, and the exact command that goes on.
#[test]
fn every_ending_says_where_the_run_is_and_how_to_go_on() {
    let page = "# S\n\n```bash\nfalse\n```\n\n```bash\necho two\n```\n\n```bash\necho three\n```\n";
    let out = Test::new()
        .site("x: 1\n")
        .page(page)
        .args(&["run", "page.md", "--yes", "--keep-going"])
        .status(1)
        .stderr_contains("run failed")
        .stderr_contains("  s-1  failed (exit status 1)")
        .stderr_contains("1 of 3 steps did not plainly succeed")
        .stderr_contains("to go on from here: runbook run --resume ")
        .run();
    let id = the_run(&out.dir);
    let id = id.file_name().unwrap().to_string_lossy();
    assert!(
        out.stderr.contains(&format!("runbook run --resume {id}")),
        "{}",
        out.stderr
    );
    let out = Test::new()
        .site("x: 1\n")
        .page(page)
        .args(&["run", "page.md", "--yes"])
        .status(1)
        .stderr_contains("  s-1  failed (exit status 1)")
        .stderr_contains("  s-2  not run")
        .stderr_contains("  s-3  not run")
        .run();
    // the resume command given works as written
    let line = out
        .stderr
        .lines()
        .find_map(|l| l.strip_prefix("to go on from here: "))
        .unwrap()
        .to_string();
    let args: Vec<&str> = line.split_whitespace().skip(1).collect();
    std::fs::write(out.dir.join("page.md"), page.replace("false", "true")).unwrap();
    let again = runbook_in(&out.dir, &[args.as_slice(), &["--yes"]].concat())
        .output()
        .unwrap();
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&again.stdout), "two\nthree\n");
}

/// `-q` shows only the steps' output and errors.
#[test]
fn quiet_shows_only_output_and_errors() {
    let page = "# S\n\n```bash\necho one\n```\n\n```bash\necho oops >&2; exit 4\n```\n";
    let out = Test::new()
        .site("x: 1\n")
        .page(page)
        .args(&["-q", "run", "page.md", "--yes"])
        .status(1)
        .stdout("one\n")
        .stderr_contains("oops\n")
        .stderr_contains("step s-2: exit status 4")
        .stderr_contains("to go on from here")
        .stderr_lacks("[1/2]")
        .stderr_lacks("exit status 0")
        .run();
    let _ = out;
    Test::new()
        .site("x: 1\n")
        .page("# S\n\n```bash\necho one\n```\n")
        .args(&["-v", "run", "page.md", "--yes"])
        .stderr_contains("bytes of output")
        .stderr_contains("runbook ")
        .run();
}

/// A control character that reaches a command through a site variable is shown escaped and
/// reported by `check` at the step, though the page itself has none.
#[test]
fn control_characters_from_site_variables_are_reported_too() {
    let page = "# Disk\n\n```bash\necho {{ site.note }}\n```\n";
    Test::new()
        .site("note: \"ok\\e[2K\\rdone\"\n")
        .page(page)
        .args(&["check", "page.md"])
        .status(1)
        .stderr_contains("step disk-1 holds a control character that comes from a Liquid value (it runs as `echo ok\\e[2K\\rdone`)")
        .stderr_contains("page.md:3:1")
        .run();
    Test::new()
        .site("note: \"ok\\e[2K\\rdone\"\n")
        .page(page)
        .args(&["run", "page.md", "--dry-run"])
        .stdout_contains("    echo ok\\e[2K\\rdone\n")
        .run();
}
