//! Runs on remote hosts over OpenSSH, against real `sshd` processes on loopback addresses
//! (see `sshd.rs`). Not part of `cargo test` (a fresh machine may have no sshd): CI installs
//! `openssh-server` and runs `cargo test --test remote`; without `/usr/sbin/sshd` every test
//! here fails and says so.

#[allow(dead_code)]
#[path = "../test.rs"]
mod test;

mod sshd;

use sshd::{Sshd, processes_with_env};
use std::time::{Duration, Instant};
use test::{Test, the_run};

/// A site and page under a test folder, with an sshd "aiadm" (127.0.0.`octet`) beside it.
fn with_host(page: &str, octet: u8) -> (Test, Sshd) {
    let t = Test::new().site("x: 1\n").page(page);
    let s = Sshd::start(t.path(), "aiadm", octet);
    (t, s)
}

fn config(t: &Test) -> String {
    t.path().join("ssh_config").display().to_string()
}

/// `runbook run page.md --on aiadm --ssh-config CFG --yes` in `dir`, as a command (for tests
/// that run more than once in one folder).
fn run_on_aiadm(dir: &std::path::Path, cfg: &str) -> std::process::Output {
    test::runbook_in(
        dir,
        &[
            "run",
            "page.md",
            "--on",
            "aiadm",
            "--ssh-config",
            cfg,
            "--yes",
        ],
    )
    .output()
    .unwrap()
}

/// `runbook run page.md --on aiadm --ssh-config ... ARGS` for this test.
fn on_aiadm(t: Test, extra: &[&str]) -> Test {
    let cfg = config(&t);
    let mut args = vec!["run", "page.md", "--on", "aiadm", "--ssh-config", &cfg];
    args.extend_from_slice(extra);
    t.args(&args)
}

const STATEFUL: &str = "# Remote\n\nLogin to `aiadm`, then:\n\n```bash\nexport GREETING=hello\ncd /tmp\neval $(echo export FROM_EVAL=yes)\nf() { echo \"f says $1\"; }\necho \"on $RUNBOOK_TEST_HOST in $PWD\"\n```\n\n```bash\necho \"$GREETING $FROM_EVAL $(f hi) from $PWD on $RUNBOOK_TEST_HOST\"\n```\n";

#[test]
fn steps_run_on_the_host_and_carry_the_shell_state_there() {
    let (t, _s) = with_host(STATEFUL, 11);
    let out = on_aiadm(t, &["--yes"])
        .stdout_contains("on aiadm in /tmp\n")
        .stdout_contains("hello yes f says hi from /tmp on aiadm\n")
        .run();
    // the journal and transcript stay on this machine
    let run = the_run(&out.dir);
    let journal = std::fs::read_to_string(run.join("journal.jsonl")).unwrap();
    assert!(journal.contains("\"on\":\"aiadm\""), "{journal}");
    assert!(
        std::fs::read_to_string(run.join("transcript.md"))
            .unwrap()
            .contains("hello yes f says hi")
    );
}

#[test]
fn a_steps_own_exit_255_is_its_status_not_a_lost_connection() {
    let (t, _s) = with_host("# R\n\n```bash\nexit 255\n```\n", 12);
    on_aiadm(t, &["--yes"])
        .status(1)
        .stderr_contains("exit status 255")
        .stderr_lacks("connection")
        .run();
}

#[test]
fn an_unreachable_host_is_named_with_sshs_reason_and_nothing_runs() {
    let (t, mut s) = with_host("# R\n\n```bash\ntouch ran-here\n```\n", 13);
    s.stop();
    let out = on_aiadm(t, &["--yes"])
        .status(2)
        .stderr_contains("cannot reach aiadm: ")
        .stderr_contains("Connection refused")
        .run();
    assert!(!out.dir.join("aiadm/home/ran-here").exists());
}

#[test]
fn a_dry_run_on_a_host_connects_to_nothing() {
    let (t, mut s) = with_host(STATEFUL, 14);
    // nothing listens: a dry run that tried to connect would fail
    s.stop();
    on_aiadm(t, &["--dry-run"])
        .stdout_contains("export GREETING=hello")
        .run();
}

#[test]
fn a_timed_out_step_leaves_nothing_running_on_the_host() {
    let (t, _s) = with_host(
        "# R\n\n```bash\n(sleep 60 &) ; sleep 61 & sleep 62\n```\n",
        15,
    );
    let started = Instant::now();
    let out = on_aiadm(t, &["--yes", "--timeout", "1"])
        .status(1)
        .stderr_contains("timed out")
        .run();
    assert!(started.elapsed() < Duration::from_secs(30));
    // the step's processes on the host carried its marker: none is left
    let journal = std::fs::read_to_string(the_run(&out.dir).join("journal.jsonl")).unwrap();
    assert!(journal.contains("timeout"), "{journal}");
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let left: Vec<i32> = processes_with_env("RUNBOOK_TEST_HOST=aiadm")
            .into_iter()
            .filter(|p| {
                std::fs::read_to_string(format!("/proc/{p}/cmdline"))
                    .unwrap_or_default()
                    .contains("sleep")
            })
            .collect();
        if left.is_empty() {
            break;
        }
        assert!(Instant::now() < until, "left running on the host: {left:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn secrets_never_reach_the_hosts_disk() {
    let (t, s) = with_host(
        "# R\n\n```bash\nexport DB_PASSWORD=\"correct horse battery\"\necho set\n```\n\n```bash\necho \"length ${#DB_PASSWORD}\"\n```\n",
        16,
    );
    let out = on_aiadm(t, &["--yes"]).stdout_contains("length 21").run();
    for (path, bytes) in s.tmp_files() {
        assert!(
            !String::from_utf8_lossy(&bytes).contains("correct horse"),
            "{} holds the secret",
            path.display()
        );
    }
    // and the private folder is gone
    assert!(s.tmp_files().is_empty(), "{:?}", s.tmp_files());
    assert!(!out.stdout.contains("correct horse"));
}

#[test]
fn a_failed_run_resumes_on_the_same_host_with_its_state() {
    let (t, _s) = with_host(
        "# R\n\n```bash\nexport N=41\ncd /tmp\n```\n\n```bash\ntest -e \"$HOME/go\" && echo \"$((N+1)) in $PWD\"\n```\n",
        17,
    );
    let dir = t.path().to_path_buf();
    let _first = on_aiadm(t, &["--yes"]).status(1).run();
    // the host's home gets the file the second step waits for
    std::fs::write(dir.join("aiadm/home/go"), "").unwrap();
    let out = test::runbook_in(&dir, &["run", "--resume", "--yes"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("42 in /tmp"),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0));
    // resuming elsewhere is refused
    let out = test::runbook_in(&dir, &["run", "--resume", "--yes", "--on", "other"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn an_inventory_host_is_reached_with_its_connection_variables() {
    let (t, s) = with_host(
        "# R\n\n```bash\necho \"on $RUNBOOK_TEST_HOST in rack {{ host.rack }}\"\n```\n",
        18,
    );
    let root = t.path().to_path_buf();
    let user = std::process::Command::new("id")
        .arg("-un")
        .output()
        .unwrap()
        .stdout;
    let inventory = format!(
        "[admin]\nadm ansible_host={} ansible_port={} ansible_user={} ansible_ssh_private_key_file={}/id ansible_ssh_common_args=\"-o UserKnownHostsFile={}/known_hosts -o StrictHostKeyChecking=yes\" rack=r7\n",
        s.addr.ip(),
        s.addr.port(),
        String::from_utf8_lossy(&user).trim(),
        root.display(),
        s.dir.display()
    );
    std::fs::write(root.join("inv.ini"), inventory).unwrap();
    let run = |args: &[&str]| outcome(test::runbook_in(&root, args));
    // the dry run shows how it would connect, and connects to nothing
    let (code, out, err) = run(&[
        "run",
        "page.md",
        "--on",
        "admin",
        "--inventory",
        "inv.ini",
        "--dry-run",
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
    assert!(out.contains("in rack r7"), "{out}");
    assert!(
        out.contains(&format!(
            "The steps would run on adm (connecting with `ssh -p {}",
            s.addr.port()
        )),
        "{out}"
    );
    let (code, out, err) = run(&[
        "run",
        "page.md",
        "--on",
        "admin",
        "--inventory",
        "inv.ini",
        "--yes",
    ]);
    assert_eq!(code, Some(0), "{out}{err}");
    // the inventory's variables are the page's host.*
    assert!(out.contains("on aiadm in rack r7\n"), "{out}");
    drop(t);
}

/// runbook on a terminal of its own (util-linux `script`), in `dir`, fed `keys` one batch at a
/// time with a pause before each; returns what the terminal showed.
fn on_a_terminal(dir: &std::path::Path, cmdline: &str, keys: &[&[u8]]) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("script")
        .args(["-qec", cmdline, "/dev/null"])
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env("XDG_STATE_HOME", dir.join("state"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("script (util-linux) runs");
    let mut stdin = child.stdin.take().unwrap();
    for k in keys {
        std::thread::sleep(Duration::from_millis(1500));
        stdin.write_all(k).unwrap();
        stdin.flush().unwrap();
    }
    std::thread::sleep(Duration::from_millis(1500));
    drop(stdin);
    let until = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < until, "runbook did not finish");
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).replace('\r', "")
}

#[test]
fn a_terminal_step_gets_a_remote_terminal_and_the_keyboard() {
    let (t, _s) = with_host(
        "# R\n\n```bash\nread -p \"name? \" n\necho \"got $n on $RUNBOOK_TEST_HOST, tty $(tty)\"\n```\n",
        19,
    );
    let cfg = config(&t);
    let shown = on_a_terminal(
        t.path(),
        &format!(
            "{} run page.md --on aiadm --ssh-config {cfg}",
            env!("CARGO_BIN_EXE_runbook")
        ),
        &[b"y\n", b"Ada\n"],
    );
    assert!(shown.contains("got Ada on aiadm, tty /dev/pts/"), "{shown}");
    assert!(!shown.contains("Shared connection"), "{shown}");
}

#[test]
fn ctrl_c_stops_the_steps_processes_on_the_host() {
    let (t, _s) = with_host("# R\n\n```bash\nsleep 71 &\nsleep 72\n```\n", 20);
    let cfg = config(&t);
    let shown = on_a_terminal(
        t.path(),
        &format!(
            "{} run page.md --on aiadm --ssh-config {cfg}",
            env!("CARGO_BIN_EXE_runbook")
        ),
        &[b"y\n", b"\x03", b"q\n"],
    );
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let left: Vec<i32> = processes_with_env("RUNBOOK_TEST_HOST=aiadm")
            .into_iter()
            .filter(|p| {
                let c = std::fs::read_to_string(format!("/proc/{p}/cmdline")).unwrap_or_default();
                c.contains("sleep\u{0}71") || c.contains("sleep\u{0}72")
            })
            .collect();
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < until,
            "left running on the host: {left:?}\n{shown}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_connection_lost_mid_step_leaves_its_outcome_unknown_and_the_resume_runs_it_again() {
    let (t, s) = with_host(
        "# R\n\n```bash\necho start\nsleep 3\necho \"done $((40+2))\"\n```\n\n```bash\necho second\n```\n",
        21,
    );
    let dir = t.path().to_path_buf();
    let cfg = config(&t);
    let cutter = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(1500));
        s.drop_connections();
        s
    });
    let out = run_on_aiadm(&dir, &cfg);
    let _s = cutter.join().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("the connection to aiadm was lost while the step ran: its outcome is unknown"),
        "{err}"
    );
    assert!(err.contains("r-1  outcome unknown"), "{err}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("done 42"));
    let out = test::runbook_in(&dir, &["run", "--resume", "--yes"])
        .output()
        .unwrap();
    let (stdout, err) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}{err}");
    assert!(
        err.contains("its outcome is unknown, so it runs again"),
        "{err}"
    );
    assert!(stdout.contains("done 42\nsecond\n"), "{stdout}");
    drop(t);
}

#[test]
fn the_page_may_name_its_host_and_the_command_line_wins() {
    let page = "---\nrunbook: {on: aiadm}\n---\n# R\n\n```bash\necho \"on ${RUNBOOK_TEST_HOST:-this machine}\"\n```\n";
    let (t, _s) = with_host(page, 22);
    let dir = t.path().to_path_buf();
    let cfg = config(&t);
    let out = test::runbook_in(&dir, &["run", "page.md", "--ssh-config", &cfg, "--yes"])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("on aiadm\n"),
        "{out:?}"
    );
    // another host on the command line wins: here one that does not exist
    let out = test::runbook_in(
        &dir,
        &[
            "run",
            "page.md",
            "--ssh-config",
            &cfg,
            "--yes",
            "--on",
            "nowhere.invalid",
        ],
    )
    .output()
    .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("cannot reach nowhere.invalid"),
        "{out:?}"
    );
    drop(t);
}

#[test]
fn a_refused_key_and_a_changed_host_key_are_named_with_sshs_reason() {
    let (t, s) = with_host("# R\n\n```bash\ntouch ran-here\n```\n", 23);
    let dir = t.path().to_path_buf();
    let cfg = config(&t);
    let run = || {
        let out = run_on_aiadm(&dir, &cfg);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    // the server no longer knows the key
    std::fs::write(s.dir.join("authorized_keys"), "").unwrap();
    let (code, err) = run();
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("cannot reach aiadm: ") && err.contains("Permission denied (publickey)"),
        "{err}"
    );
    std::fs::copy(dir.join("id.pub"), s.dir.join("authorized_keys")).unwrap();
    // the server's key is not the one known for it
    let other = dir.join("other_host_key");
    let st = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&other)
        .status()
        .unwrap();
    assert!(st.success());
    let known = std::fs::read_to_string(s.dir.join("known_hosts")).unwrap();
    let host_field = known.split_whitespace().next().unwrap().to_string();
    let other_pub = std::fs::read_to_string(other.with_extension("pub")).unwrap();
    let key: Vec<&str> = other_pub.split_whitespace().take(2).collect();
    std::fs::write(
        s.dir.join("known_hosts"),
        format!("{host_field} {}\n", key.join(" ")),
    )
    .unwrap();
    let (code, err) = run();
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("Host key verification failed"), "{err}");
    // steps start in the remote home: nothing ran there
    assert!(!s.dir.join("home/ran-here").exists());
    drop(t);
}

/// Three "slaves" (sshd on 127.0.0.`first`..), an inventory naming them in group `slaves`
/// with a `rack` each, and a page: a step that records where it ran, one that fails where the
/// remote home holds `broken`, one that reads the first step's variable and `host.rack`.
fn fleet(first: u8) -> (Test, Vec<Sshd>) {
    fleet_with(first, SLAVES)
}

const SLAVES: &str = "# Slaves\n\n```bash\nexport WHERE=$RUNBOOK_TEST_HOST\necho first >> \"$HOME/ran\"\n```\n\n```bash\ntest ! -e \"$HOME/broken\" || { echo \"$WHERE is broken\" >&2; exit 3; }\necho second >> \"$HOME/ran\"\n```\n\n```bash\necho \"done on $WHERE in rack {{ host.rack }}\"\n```\n";

/// Three slaves as [`fleet`] makes them, with `page`.
fn fleet_with(first: u8, page: &str) -> (Test, Vec<Sshd>) {
    let t = Test::new().site("x: 1\n").page(page);
    let names = ["slave01", "slave02", "slave03"];
    let servers: Vec<Sshd> = names
        .iter()
        .enumerate()
        .map(|(k, n)| Sshd::start(t.path(), n, first + k as u8))
        .collect();
    let mut inv = String::from("[slaves]\n");
    for (k, n) in names.iter().enumerate() {
        inv.push_str(&format!("{n} rack=r{}\n", k + 1));
    }
    std::fs::write(t.path().join("inv.ini"), inv).unwrap();
    (t, servers)
}

/// `runbook run page.md --on slaves --inventory inv.ini --ssh-config CFG EXTRA...` in the
/// test's folder, as a command.
fn slaves_command(t: &Test, extra: &[&str]) -> std::process::Command {
    let cfg = config(t);
    let mut args = vec![
        "run",
        "page.md",
        "--on",
        "slaves",
        "--inventory",
        "inv.ini",
        "--ssh-config",
        &cfg,
    ];
    args.extend_from_slice(extra);
    test::runbook_in(t.path(), &args)
}

/// [`slaves_command`] run: exit status, stdout, stderr.
fn on_slaves(t: &Test, extra: &[&str]) -> (Option<i32>, String, String) {
    outcome(slaves_command(t, extra))
}

/// Run `cmd` to its end: exit status, stdout, stderr.
fn outcome(mut cmd: std::process::Command) -> (Option<i32>, String, String) {
    let out = cmd.output().unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn lines_of(path: &std::path::Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(String::from)
        .collect()
}

#[test]
fn a_fleet_runs_on_every_host_a_failed_host_does_not_stop_the_others_and_resume_finishes_it() {
    let (t, mut servers) = fleet(40);
    let root = t.path().to_path_buf();
    std::fs::write(servers[1].dir.join("home/broken"), "").unwrap();
    let (code, stdout, stderr) = on_slaves(&t, &["--yes", "--parallel", "2"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    // hosts that run at once do not interleave their output on the screen: it is in their
    // transcripts, each host with its own state and its own host.*
    assert_eq!(stdout, "");
    let run = test::the_run(&root);
    let host_transcript =
        |h: &str| std::fs::read_to_string(run.join("hosts").join(h).join("transcript.md")).unwrap();
    assert!(host_transcript("slave01").contains("done on slave01 in rack r1\n"));
    assert!(host_transcript("slave03").contains("done on slave03 in rack r3\n"));
    assert!(!host_transcript("slave02").contains("done on slave02"));
    // the failing host's output in full, under its name; a table at the end
    assert!(stderr.contains("slave02 | slave02 is broken"), "{stderr}");
    let table: Vec<&str> = stderr
        .lines()
        .skip_while(|l| !l.starts_with("HOST"))
        .collect();
    assert!(
        table[0].contains("STEPS") && table[0].contains("FAILED STEP"),
        "{stderr}"
    );
    let row = |name: &str| {
        table
            .iter()
            .find(|l| l.starts_with(name))
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .unwrap_or_else(|| panic!("no row for {name}: {stderr}"))
    };
    assert_eq!(row("slave01")[1..4], ["3/3", "-", "0"]);
    assert_eq!(row("slave02")[1..4], ["1/3", "slaves-2", "3"]);
    assert_eq!(row("slave03")[1..4], ["3/3", "-", "0"]);
    // the run's journal: its start names the hosts, every host's lines are tagged
    let journal = std::fs::read_to_string(run.join("journal.jsonl")).unwrap();
    let first: serde_json::Value = serde_json::from_str(journal.lines().next().unwrap()).unwrap();
    assert_eq!(
        first["hosts"],
        serde_json::json!(["slave01", "slave02", "slave03"])
    );
    for host in ["slave01", "slave02", "slave03"] {
        let tagged = journal
            .lines()
            .filter(|l| l.contains(&format!("\"host\":\"{host}\"")) && l.contains("step-end"))
            .count();
        assert!(tagged >= 2, "{host}: {journal}");
    }
    let transcript = std::fs::read_to_string(run.join("transcript.md")).unwrap();
    for host in ["slave01", "slave02", "slave03"] {
        assert!(
            transcript.contains(&format!("# Host `{host}`")),
            "{transcript}"
        );
    }
    // mended, the resume goes on with slave02 alone, from its failed step; the hosts that
    // finished are not contacted (their servers are gone)
    std::fs::remove_file(servers[1].dir.join("home/broken")).unwrap();
    servers[0].stop();
    servers[2].stop();
    let out = test::runbook_in(&root, &["run", "--resume", "--yes"])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stderr.contains("ok (finished before)"), "{stderr}");
    assert!(host_transcript("slave02").contains("done on slave02 in rack r2\n"));
    let transcript = std::fs::read_to_string(run.join("transcript.md")).unwrap();
    assert!(
        transcript.contains("done on slave02 in rack r2\n"),
        "{transcript}"
    );
    assert_eq!(
        lines_of(&servers[1].dir.join("home/ran")),
        ["first", "second"]
    );
    for k in [0, 2] {
        assert_eq!(
            lines_of(&servers[k].dir.join("home/ran")),
            ["first", "second"]
        );
    }
    drop(t);
}

#[test]
fn an_unreachable_host_is_named_and_the_others_go_on() {
    let (t, servers) = fleet(44);
    let root = t.path().to_path_buf();
    // slave04: an address where nothing listens
    let closed = std::net::TcpListener::bind("127.0.0.47:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let mut inv = std::fs::read_to_string(root.join("inv.ini")).unwrap();
    inv.push_str(&format!(
        "slave04 ansible_host=127.0.0.47 ansible_port={port} rack=r4\n"
    ));
    std::fs::write(root.join("inv.ini"), inv).unwrap();
    let (code, stdout, stderr) = on_slaves(&t, &["--yes", "--parallel", "4"]);
    assert_eq!(code, Some(1), "{stdout}{stderr}");
    let table: Vec<&str> = stderr
        .lines()
        .skip_while(|l| !l.starts_with("HOST"))
        .collect();
    for k in 1..=3 {
        assert!(
            table.iter().any(|l| l.starts_with(&format!("slave0{k} "))
                && l.contains(" 3/3 ")
                && l.ends_with(" ok")),
            "{stderr}"
        );
    }
    // named, with ssh's own reason, in its line and under the table
    assert!(
        stderr
            .lines()
            .any(|l| l.starts_with("slave04") && l.contains("Connection refused")),
        "{stderr}"
    );
    drop(servers);
}

#[test]
fn a_fleet_dry_run_lists_the_hosts_and_connects_to_nothing() {
    let (t, mut servers) = fleet(50);
    for s in &mut servers {
        s.stop();
    }
    let cfg = config(&t);
    let (code, stdout, _) = on_slaves(&t, &["--dry-run", "--parallel", "2"]);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains(
            "The steps would run on 3 hosts, 2 at a time; the dry run connects to nothing:"
        ),
        "{stdout}"
    );
    for n in ["slave01", "slave02", "slave03"] {
        assert!(
            stdout.contains(&format!("  {n}  ssh -F {cfg} -- {n}\n")),
            "{stdout}"
        );
    }
    assert!(stdout.contains("in rack r1"), "{stdout}");
    // no run directory: nothing ran
    assert!(!t.path().join("state").exists());
}

#[test]
fn max_fail_stops_starting_hosts() {
    let (t, servers) = fleet(54);
    std::fs::write(servers[0].dir.join("home/broken"), "").unwrap();
    std::fs::write(servers[1].dir.join("home/broken"), "").unwrap();
    let (code, _, stderr) = on_slaves(&t, &["--yes", "--max-fail", "1"]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("2 hosts were not started: --max-fail 1: 1 host failed"),
        "{stderr}"
    );
    assert!(!servers[1].dir.join("home/ran").exists());
    assert!(!servers[2].dir.join("home/ran").exists());
}

/// runbook on a terminal of its own, `run page.md --on slaves ... EXTRA`, fed `keys`.
fn on_slaves_terminal(t: &Test, extra: &str, keys: &[&[u8]]) -> String {
    on_a_terminal(
        t.path(),
        &format!(
            "{} run page.md --on slaves --inventory inv.ini --ssh-config {} {extra}",
            env!("CARGO_BIN_EXE_runbook"),
            config(t)
        ),
        keys,
    )
}

const TWO_STEPS: &str = "# Two\n\n```bash\necho \"one-$RUNBOOK_TEST_HOST\" >> \"$HOME/log\"\n```\n\n```bash\necho two >> \"$HOME/log\"\n```\n";

#[test]
fn on_a_terminal_one_answer_per_step_holds_for_every_host() {
    let (t, servers) = fleet_with(60, TWO_STEPS);
    let shown = on_slaves_terminal(&t, "--parallel 2", &[b"y\n", b"s\n"]);
    assert_eq!(shown.matches("Run this step?").count(), 2, "{shown}");
    assert!(shown.contains("on every host (3;"), "{shown}");
    for (k, s) in servers.iter().enumerate() {
        assert_eq!(
            lines_of(&s.dir.join("home/log")),
            [format!("one-slave0{}", k + 1)],
            "{shown}"
        );
    }
}

#[test]
fn on_a_terminal_per_host_asks_on_each_host_and_quit_starts_no_other() {
    let (t, servers) = fleet_with(64, TWO_STEPS);
    let shown = on_slaves_terminal(
        &t,
        "--confirm per-host",
        &[b"y\n", b"s\n", b"s\n", b"y\n", b"q\n"],
    );
    assert_eq!(shown.matches("Run this step?").count(), 5, "{shown}");
    assert!(shown.contains("on slave02"), "{shown}");
    assert_eq!(lines_of(&servers[0].dir.join("home/log")), ["one-slave01"]);
    assert_eq!(lines_of(&servers[1].dir.join("home/log")), ["two"]);
    assert!(!servers[2].dir.join("home/log").exists(), "{shown}");
    let table: Vec<&str> = shown
        .lines()
        .skip_while(|l| !l.starts_with("HOST"))
        .collect();
    assert!(
        table
            .iter()
            .any(|l| l.starts_with("slave03") && l.ends_with("quit")),
        "{shown}"
    );
}

#[test]
fn ctrl_c_stops_every_hosts_step_and_leaves_nothing_running() {
    let (t, servers) = fleet_with(
        68,
        "# S\n\n```bash\nsleep 81 &\nsleep 82\n```\n\n```bash\necho never\n```\n",
    );
    let mut child = slaves_command(&t, &["--yes", "--parallel", "3"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let sleeping = |host: &str| {
        processes_with_env(&format!("RUNBOOK_TEST_HOST={host}"))
            .into_iter()
            .filter(|p| {
                let c = std::fs::read_to_string(format!("/proc/{p}/cmdline")).unwrap_or_default();
                c.contains("sleep\u{0}81") || c.contains("sleep\u{0}82")
            })
            .count()
    };
    let hosts = ["slave01", "slave02", "slave03"];
    let until = Instant::now() + Duration::from_secs(20);
    while hosts.iter().any(|h| sleeping(h) < 2) {
        assert!(
            Instant::now() < until,
            "the steps did not start on every host"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let pid = rustix::process::Pid::from_raw(child.id() as i32).unwrap();
    rustix::process::kill_process(pid, rustix::process::Signal::INT).unwrap();
    let until = Instant::now() + Duration::from_secs(20);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < until, "runbook did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(130), "{stderr}");
    for h in hosts {
        assert_eq!(sleeping(h), 0, "left running on {h}: {stderr}");
    }
    assert!(!stderr.contains("never"), "{stderr}");
    let table: Vec<&str> = stderr
        .lines()
        .skip_while(|l| !l.starts_with("HOST"))
        .collect();
    assert_eq!(
        table.iter().filter(|l| l.ends_with("interrupted")).count(),
        3,
        "{stderr}"
    );
    drop(servers);
}

#[test]
fn the_login_profile_runs_once_and_the_later_steps_have_what_it_set() {
    let (t, s) = with_host(
        "# P\n\n```bash\necho \"one: $FROM_PROFILE\"\n```\n\n```bash\necho \"two: $FROM_PROFILE $(mytool)\"\n```\n",
        24,
    );
    let home = s.dir.join("home");
    std::fs::create_dir_all(home.join("bin")).unwrap();
    std::fs::write(home.join("bin/mytool"), "#!/bin/sh\necho tool-on-path\n").unwrap();
    std::process::Command::new("chmod")
        .args(["+x"])
        .arg(home.join("bin/mytool"))
        .status()
        .unwrap();
    std::fs::write(
        home.join(".bash_profile"),
        "echo 'welcome to aiadm' >&2\nexport FROM_PROFILE=yes\nPATH=\"$HOME/bin:$PATH\"\n",
    )
    .unwrap();
    let out = on_aiadm(t, &["--yes"])
        .stdout_contains("one: yes\n")
        .stdout_contains("two: yes tool-on-path\n")
        .run();
    assert_eq!(
        out.stderr.matches("welcome to aiadm").count(),
        1,
        "{}",
        out.stderr
    );
}

/// Sessions opened ahead stay within sshd's default MaxSessions (10) whatever runs: many
/// quick steps, a secret the steps watch, a step on a terminal.
#[test]
fn many_quick_steps_with_a_watched_secret_stay_within_max_sessions() {
    let mut page = String::from(
        "# Many\n\n```bash\nexport API_TOKEN=$(printf '%s' s3cr3t-t0ken-value)\n```\n",
    );
    for k in 0..30 {
        page.push_str(&format!(
            "\n```bash\nprintf '%s\\n' \"step {k} ${{#API_TOKEN}}\"\n```\n"
        ));
    }
    let (t, _s) = with_host(&page, 26);
    let out = on_aiadm(t, &["--yes"]).run();
    for k in 0..30 {
        assert!(
            out.stdout.contains(&format!("step {k} 18\n")),
            "step {k}: {}{}",
            out.stdout,
            out.stderr
        );
    }
    assert!(!out.stderr.contains("prohibited"), "{}", out.stderr);
}
