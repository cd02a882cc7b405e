//! Faults during a run: runbook killed with SIGKILL at every point of a run (before, during
//! and after each step, halfway through and after every journal line), then resumed; SIGINT
//! and SIGTERM stopping a step's whole process tree; `--timeout`.

use crate::test::{Test, processes, runbook_in, the_run};
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

/// Four steps; each appends its name to $LOG (one line per execution) and changes the state
/// the next one needs.
const FOUR_STEPS: &str = "# Four\n\n\
```bash\necho one >> \"$LOG\"; A=1\n```\n\n\
```bash\necho two >> \"$LOG\"; B=$((A+1)); cd /tmp\n```\n\n\
```bash\necho three >> \"$LOG\"; export C=$((B+1))\n```\n\n\
```bash\necho \"four $A$B$C $PWD\" >> \"$LOG\"\n```\n";

/// Journal lines a clean run of FOUR_STEPS writes: run-start, 4 x (step-start, step-end),
/// run-end.
const LINES: usize = 10;

fn runbook(dir: &Path, args: &[&str], failpoint: Option<&str>) -> Output {
    let mut cmd = runbook_in(dir, args);
    cmd.env("LOG", dir.join("executions.log"))
        .stdin(Stdio::null());
    if let Some(f) = failpoint {
        cmd.env("RUNBOOK_FAILPOINT", f);
    }
    cmd.output().unwrap()
}

fn events(run: &Path) -> Vec<serde_json::Value> {
    let text = std::fs::read(run.join("journal.jsonl")).unwrap();
    text.split(|b| *b == b'\n')
        .filter_map(|l| serde_json::from_slice(l).ok())
        .collect()
}

/// Kill runbook at `failpoint`, resume until the run is complete, and check that nothing was
/// lost and nothing that succeeded ran twice.
fn killed_then_resumed(failpoint: &str) {
    let t = Test::new().site("x: 1\n").page(FOUR_STEPS);
    let dir = t.path().to_path_buf();
    let first = runbook(&dir, &["run", "page.md", "--yes"], Some(failpoint));
    let ctx = |what: &str, o: &Output| {
        format!(
            "{failpoint}: {what}\n--- stdout\n{}\n--- stderr\n{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )
    };
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&first.status),
        Some(libc::SIGKILL),
        "{}",
        ctx("runbook was not killed", &first)
    );
    // what the journal says succeeded before the kill must not run again
    let run = the_run(&dir);
    let before: Vec<String> = events(&run)
        .iter()
        .filter(|e| e["event"] == "step-end" && e["status"] == 0)
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    let killed_at_start = !events(&run).iter().any(|e| e["event"] == "run-start");
    let again = runbook(&dir, &["run", "--resume", "--yes"], None);
    let log = std::fs::read_to_string(dir.join("executions.log")).unwrap_or_default();
    if killed_at_start {
        // killed while writing the very first line: nothing ran, and resume says so
        assert_eq!(again.status.code(), Some(2), "{}", ctx("resume", &again));
        assert!(
            String::from_utf8_lossy(&again.stderr).contains("nothing ran, start the run again"),
            "{}",
            ctx("resume", &again)
        );
        assert_eq!(log, "", "{failpoint}");
        return;
    }
    assert_eq!(again.status.code(), Some(0), "{}", ctx("resume", &again));
    // the journal is readable and complete: every step ended well, the run ended
    let all = events(&run);
    let ok: Vec<&str> = all
        .iter()
        .filter(|e| e["event"] == "step-end" && e["status"] == 0)
        .filter_map(|e| e["id"].as_str())
        .collect();
    for id in ["four-1", "four-2", "four-3", "four-4"] {
        assert!(
            ok.contains(&id),
            "{failpoint}: {id} never succeeded: {all:?}"
        );
    }
    assert_eq!(
        all.last().unwrap()["event"],
        "run-end",
        "{failpoint}: {all:?}"
    );
    assert_eq!(all.last().unwrap()["result"], "ok", "{failpoint}");
    // the state carried across the kill: the last step saw A, B, C and the directory
    assert!(log.ends_with("four 123 /tmp\n"), "{failpoint}: {log}");
    // executions: once each, but a step that was running when runbook died may have
    // finished without its end being recorded, and it runs again (resume says so)
    let names = ["one", "two", "three", "four"];
    for (i, name) in names.iter().enumerate() {
        let id = format!("four-{}", i + 1);
        let runs = log
            .lines()
            .filter(|l| l.split(' ').next() == Some(name))
            .count();
        if before.contains(&id) {
            assert_eq!(
                runs, 1,
                "{failpoint}: {id} succeeded before the kill: {log}"
            );
        } else {
            assert!(
                (1..=2).contains(&runs),
                "{failpoint}: {id} ran {runs} times: {log}"
            );
            if runs == 2 {
                assert!(
                    String::from_utf8_lossy(&again.stderr)
                        .contains(&format!("step {id} was running when runbook stopped")),
                    "{}",
                    ctx("resume did not say the step was in doubt", &again)
                );
            }
        }
    }
    let succeeded_twice = ok.len() - ok.iter().collect::<std::collections::BTreeSet<_>>().len();
    assert_eq!(succeeded_twice, 0, "{failpoint}: {ok:?}");
}

#[test]
fn killed_halfway_through_each_journal_line() {
    for n in 1..=LINES {
        killed_then_resumed(&format!("journal-torn:{n}"));
    }
}

#[test]
fn killed_after_each_journal_line() {
    // after the last line (run-end) the run is complete: nothing to resume
    for n in 1..LINES {
        killed_then_resumed(&format!("journal-after:{n}"));
    }
}

#[test]
fn killed_before_during_and_after_each_step() {
    for point in ["step-before", "step-running", "step-exited"] {
        for n in 1..=4 {
            killed_then_resumed(&format!("{point}:{n}"));
        }
    }
}

#[test]
fn killed_after_the_last_line_there_is_nothing_to_resume() {
    let t = Test::new().site("x: 1\n").page(FOUR_STEPS);
    let dir = t.path().to_path_buf();
    let first = runbook(
        &dir,
        &["run", "page.md", "--yes"],
        Some(&format!("journal-after:{LINES}")),
    );
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&first.status),
        Some(libc::SIGKILL)
    );
    let again = runbook(&dir, &["run", "--resume", "--yes"], None);
    assert_eq!(again.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&again.stderr).contains("nothing to resume"));
    let log = std::fs::read_to_string(dir.join("executions.log")).unwrap();
    assert_eq!(log.lines().count(), 4, "{log}");
}

/// A step that leaves a background child ignoring SIGTERM, one in a session of its own, and a
/// foreground sleep: the marker argument finds them in the process table.
fn stubborn_step(marker: &str) -> String {
    format!(
        "# S\n\n```bash\necho started >> \"$LOG\"\n\
         (trap '' TERM; exec -a rb-stubborn sleep {marker}) &\n\
         setsid sleep {marker}.5 &\n\
         sleep {marker}.25\n\
         echo never >> \"$LOG\"\n```\n\n```bash\necho second >> \"$LOG\"\n```\n"
    )
}

fn leftovers(marker: &str) -> Vec<i32> {
    let mut all = processes(&format!("sleep {marker}"));
    all.extend(processes(&format!("rb-stubborn {marker}")));
    all.extend(processes(&format!("sleep {marker}.5")));
    all.extend(processes(&format!("sleep {marker}.25")));
    all
}

/// Wait (20 s at most) until `ready` holds.
fn wait_until(what: &str, ready: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !ready() {
        assert!(Instant::now() < deadline, "never saw {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn signal_stops_the_whole_tree(sig: i32, marker: &str) {
    let t = Test::new().site("x: 1\n").page(&stubborn_step(marker));
    let dir = t.path().to_path_buf();
    let child = runbook_in(&dir, &["run", "page.md", "--yes"])
        .env("LOG", dir.join("executions.log"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // all three of the step's processes run
    wait_until("the step's processes", || leftovers(marker).len() == 3);
    // SAFETY: kill(2) on the runbook process this test started
    unsafe { libc::kill(child.id() as i32, sig) };
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    assert!(stderr.contains("--resume"), "{stderr}");
    let left = leftovers(marker);
    crate::test::kill_all(&format!("rb-stubborn {marker}"));
    crate::test::kill_all(&format!("sleep {marker}.5"));
    assert!(left.is_empty(), "processes left behind: {left:?}\n{stderr}");
    let journal = events(&the_run(&dir));
    let end = journal
        .iter()
        .find(|e| e["event"] == "step-end")
        .expect("the step's end is recorded");
    assert_eq!(end["interrupted"], true, "{journal:?}");
    // at least the one in a session of its own (the signal did not reach it); the one that
    // ignores SIGTERM may have gone with SIGINT
    assert!(end["leftovers_stopped"].as_u64().unwrap() >= 1, "{end}");
    // resumable: the interrupted step runs again and the run completes
    std::fs::write(
        dir.join("page.md"),
        "# S\n\n```bash\necho started >> \"$LOG\"\n```\n\n```bash\necho second >> \"$LOG\"\n```\n",
    )
    .unwrap();
    let again = runbook(&dir, &["run", "--resume", "--yes"], None);
    assert_eq!(
        again.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    let log = std::fs::read_to_string(dir.join("executions.log")).unwrap();
    assert_eq!(log, "started\nstarted\nsecond\n");
}

#[test]
fn sigterm_stops_the_steps_whole_process_tree_and_the_run_resumes() {
    signal_stops_the_whole_tree(libc::SIGTERM, "307");
}

#[test]
fn sigint_stops_the_steps_whole_process_tree_and_the_run_resumes() {
    signal_stops_the_whole_tree(libc::SIGINT, "308");
}

/// The terminal or ssh session closed: as SIGTERM, the run is interrupted and resumable.
#[test]
fn sighup_stops_the_steps_whole_process_tree_and_the_run_resumes() {
    signal_stops_the_whole_tree(libc::SIGHUP, "309");
}

#[test]
fn a_step_that_never_ends_is_stopped_by_timeout() {
    let marker = "311";
    let t = Test::new().site("x: 1\n").page(&stubborn_step(marker));
    let dir = t.path().to_path_buf();
    let started = Instant::now();
    let out = runbook(&dir, &["run", "page.md", "--yes", "--timeout", "1s"], None);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let left = leftovers(marker);
    crate::test::kill_all(&format!("rb-stubborn {marker}"));
    crate::test::kill_all(&format!("sleep {marker}.5"));
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("ran longer than --timeout 1s: stopped"),
        "{stderr}"
    );
    assert!(left.is_empty(), "processes left behind: {left:?}");
    // well before the step's own 311 s
    assert!(started.elapsed() < Duration::from_secs(60));
    let journal = events(&the_run(&dir));
    let end = journal.iter().find(|e| e["event"] == "step-end").unwrap();
    assert_eq!(end["status"], 124);
    assert_eq!(end["timed_out"], true);
    let log = std::fs::read_to_string(dir.join("executions.log")).unwrap();
    assert_eq!(log, "started\n", "the second step did not run");
}

#[test]
fn timeout_values_are_checked() {
    for bad in ["0", "5 parsecs", "abc", "1d"] {
        Test::new()
            .site("x: 1\n")
            .page("# S\n\n```bash\ntrue\n```\n")
            .args(&["run", "page.md", "--yes", "--timeout", bad])
            .status(2)
            .stderr_contains("--timeout")
            .run();
    }
}

#[test]
fn a_step_still_running_from_a_killed_run_is_stopped_by_resume() {
    let marker = "310";
    let page = format!(
        "# S\n\n```bash\necho started >> \"$LOG\"\nsleep {marker}\n```\n\n```bash\necho second >> \"$LOG\"\n```\n"
    );
    let t = Test::new().site("x: 1\n").page(&page);
    let dir = t.path().to_path_buf();
    let mut child = runbook_in(&dir, &["run", "page.md", "--yes"])
        .env("LOG", dir.join("executions.log"))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    wait_until("the step's sleep", || {
        !processes(&format!("sleep {marker}")).is_empty()
    });
    child.kill().unwrap(); // SIGKILL: runbook gets no chance to stop its step
    child.wait().unwrap();
    std::fs::write(
        dir.join("page.md"),
        "# S\n\n```bash\necho started >> \"$LOG\"\n```\n\n```bash\necho second >> \"$LOG\"\n```\n",
    )
    .unwrap();
    let again = runbook(&dir, &["run", "--resume", "--yes"], None);
    let stderr = String::from_utf8_lossy(&again.stderr).into_owned();
    let left = processes(&format!("sleep {marker}"));
    crate::test::kill_all(&format!("sleep {marker}"));
    assert_eq!(again.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("step s-1 was running when runbook stopped"),
        "{stderr}"
    );
    assert!(
        stderr.contains("were still running: stopped them"),
        "{stderr}"
    );
    assert!(left.is_empty(), "{left:?}");
}

/// A resume while the run is still going (its runbook alive, its step running) is refused
/// and stops nothing; the live run then ends normally with its journal whole.
#[test]
fn a_resume_never_touches_a_run_that_is_still_going() {
    let page = "# S\n\n```bash\necho started >> \"$LOG\"\nfor i in $(seq 300); do [ -e go ] && break; sleep 0.1; done\necho finished >> \"$LOG\"\n```\n";
    let t = Test::new().site("x: 1\n").page(page);
    let dir = t.path().to_path_buf();
    let live = runbook_in(&dir, &["run", "page.md", "--yes"])
        .env("LOG", dir.join("executions.log"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    wait_until("the step", || {
        std::fs::read_to_string(dir.join("executions.log")).is_ok_and(|l| l == "started\n")
    });
    for args in [
        &["run", "--resume", "--yes"][..],
        &["run", "page.md", "--resume", "--yes"],
    ] {
        let again = runbook(&dir, args, None);
        let stderr = String::from_utf8_lossy(&again.stderr);
        assert_eq!(again.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("is still going"), "{stderr}");
    }
    std::fs::write(dir.join("go"), "").unwrap();
    let out = live.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = std::fs::read_to_string(dir.join("executions.log")).unwrap();
    assert_eq!(log, "started\nfinished\n", "the live step was stopped");
    let journal = events(&the_run(&dir));
    assert_eq!(journal.last().unwrap()["event"], "run-end", "{journal:?}");
    assert!(
        !journal.iter().any(|e| e["event"] == "run-resume"),
        "{journal:?}"
    );
}

/// A closed, full or early-closed stdout or stderr never panics runbook: the run goes on,
/// its steps all run, and the journal ends with a `run-end`.
#[test]
fn closed_or_full_standard_streams_never_panic() {
    let page = "# S\n\n```bash\nfor i in $(seq 3000); do echo line $i; done\n```\n\n```bash\necho second >> \"$LOG\"\necho second >&2\n```\n";
    let bin = env!("CARGO_BIN_EXE_runbook");
    for redirect in [
        "2>&1 | head -2",
        "| head -1",
        ">/dev/full 2>/dev/full",
        "2>&- >&-",
        "<&- 2>&-",
    ] {
        let t = Test::new().site("x: 1\n").page(page);
        let dir = t.path();
        let out = std::process::Command::new("bash")
            .arg("-c")
            .arg(format!(
                "\"$RB\" run page.md --yes {redirect}; echo \"rc=${{PIPESTATUS[0]}}\" >> status"
            ))
            .current_dir(dir)
            .env("RB", bin)
            .env("LOG", dir.join("executions.log"))
            .env("XDG_STATE_HOME", dir.join("state"))
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        let status = std::fs::read_to_string(dir.join("status")).unwrap();
        assert_eq!(
            status,
            "rc=0\n",
            "{redirect}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let log = std::fs::read_to_string(dir.join("executions.log")).unwrap();
        assert_eq!(log, "second\n", "{redirect}");
        let journal = events(&the_run(dir));
        assert_eq!(journal.last().unwrap()["event"], "run-end", "{redirect}");
        assert_eq!(journal.last().unwrap()["result"], "ok", "{redirect}");
    }
}

/// A non-UTF-8 environment variable never panics: `env LEGACY=$'caf\xe9' runbook run ...`.
#[test]
fn a_non_utf8_environment_variable_never_panics() {
    let t = Test::new()
        .site("x: 1\n")
        .page("# S\n\n```bash\nprintf '%s' \"$LEGACY\" | od -An -tx1 | tr -d ' \\n'; echo\n```\n");
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg("LEGACY=$'caf\\xe9' API_TOKEN=$'t\\xffk-0001' exec \"$RB\" run page.md --yes")
        .current_dir(t.path())
        .env("RB", env!("CARGO_BIN_EXE_runbook"))
        .env("XDG_STATE_HOME", t.path().join("state"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout), "636166e9\n");
}
