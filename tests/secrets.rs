//! Secrets and trust: secret values never reach a file or the screen; run files are private;
//! `render`, `list`, `check` and dry runs execute nothing; templates read nothing outside the
//! site.

use crate::pty::Screen;
use crate::test::{Output, Test, runbook_in, the_run};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

/// Every file under `dir`, recursively.
fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

fn assert_nowhere(out: &Output, secrets: &[&str]) {
    assert_nowhere_in(&out.dir, &out.stdout, &out.stderr, secrets);
}

fn assert_nowhere_in(dir: &Path, stdout: &str, stderr: &str, secrets: &[&str]) {
    let runs = dir.join("state/runbook/runs");
    let files = files_under(&runs);
    assert!(files.len() >= 5, "{files:?}");
    for f in files {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
        for s in secrets {
            assert!(!text.contains(s), "{} holds {s}:\n{text}", f.display());
        }
    }
    for s in secrets {
        assert!(!stdout.contains(s), "stdout holds {s}:\n{stdout}");
        assert!(!stderr.contains(s), "stderr holds {s}:\n{stderr}");
    }
}

/// Credentials the way the seed page gets them: `eval $(ai-rc ...)`.
const CREDS: &str = "#!/bin/sh\n\
printf 'export DB_PASSWORD=%s\\n' \"'pw-AAAA1111'\"\n\
printf 'export MY_SECRET=%s\\n' sec-BBBB2222\n\
printf 'export SSH_KEY=%s\\n' key-CCCC3333\n";

const ALL: [&str; 6] = [
    "pw-AAAA1111",
    "sec-BBBB2222",
    "key-CCCC3333",
    "tok-DDDD4444",
    "pin-EEEE5555",
    "val-FFFF6666",
];

#[test]
fn every_kind_of_secret_stays_out_of_every_file_log_and_the_screen() {
    let page = "# Creds\n\n\
```bash\neval \"$(./creds)\"\nexport SITE_PIN=pin-EEEE5555\n```\n\n\
Print them all, also cut in two by a pause (a secret split across reads):\n\n\
```bash\necho \"$DB_PASSWORD $MY_SECRET $SSH_KEY $OPS_TOKEN $SITE_PIN\"\n\
printf 'pw-AA'; sleep 0.2; printf 'AA1111\\n'\n\
echo 'value <vault value>'\nenv | grep -c '^DB_PASSWORD=pw-AAAA1111$'\n```\n";
    let out = Test::new()
        .site("x: 1\n")
        .page(page)
        .script("creds", CREDS)
        .env("OPS_TOKEN", "tok-DDDD4444")
        // everything runbook logs, on stderr and in the run's runbook.log
        .env("RUST_LOG", "trace")
        .args(&[
            "-vv",
            "run",
            "page.md",
            "--yes",
            "--secret",
            "SITE_PIN",
            "--secret",
            "vault value",
            "--set",
            "vault value=val-FFFF6666",
        ])
        .run();
    // the step saw the real values; the screen and the files show masks
    assert_eq!(
        out.stdout,
        "******** ******** ******** ******** ********\n********\nvalue ********\n1\n"
    );
    assert_nowhere(&out, &ALL);
    // the journal still says what happened, names and all
    let run = files_under(&out.dir.join("state/runbook/runs"))
        .into_iter()
        .find(|p| p.ends_with("journal.jsonl"))
        .unwrap();
    let journal = std::fs::read_to_string(run).unwrap();
    for name in ["DB_PASSWORD", "MY_SECRET", "SSH_KEY", "SITE_PIN"] {
        assert!(journal.contains(&format!("\"{name}\"")), "{journal}");
    }
}

#[test]
fn a_failed_step_that_prints_secrets_and_its_resume_leak_nothing() {
    let page = "# S\n\n```bash\neval \"$(./creds)\"\n```\n\n```bash\necho \"$MY_SECRET\"; test -f flag\n```\n\n```bash\necho \"done $SSH_KEY\"\n```\n";
    let out = Test::new()
        .site("x: 1\n")
        .page(page)
        .script("creds", CREDS)
        .args(&["run", "page.md", "--yes"])
        .status(1)
        .stdout("********\n")
        .run();
    assert_nowhere(&out, &ALL);
    std::fs::write(out.dir.join("flag"), "").unwrap();
    let again = runbook_in(&out.dir, &["-v", "run", "--resume", "--yes"])
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&again.stdout),
        String::from_utf8_lossy(&again.stderr),
    );
    assert_eq!(again.status.code(), Some(0), "{stderr}");
    // the secrets were gone (memory only): the step that set them ran again
    assert_eq!(stdout, "********\ndone ********\n", "{stderr}");
    assert_nowhere_in(&out.dir, &stdout, &stderr, &ALL);
}

#[test]
fn run_files_are_private() {
    let out = Test::new()
        .site("x: 1\n")
        .page("# S\n\n```bash\nX=1; echo hi\n```\n")
        .args(&["run", "page.md", "--yes"])
        .run();
    let runs = out.dir.join("state/runbook/runs");
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&runs), 0o700);
    let run = the_run(&out.dir);
    assert_eq!(mode(&run), 0o700);
    assert_eq!(mode(&run.join("state")), 0o700);
    let files = files_under(&run);
    assert!(files.len() >= 5, "{files:?}");
    for f in files {
        assert_eq!(mode(&f), 0o600, "{}", f.display());
    }
}

#[test]
fn a_prompted_secret_is_not_echoed_and_never_written() {
    let t = Test::new()
        .site("x: 1\n")
        .page("# S\n\n```bash\nexport DB_PASSWORD=<db password>\necho \"got $DB_PASSWORD\"\n```\n");
    let dir = t.path().to_path_buf();
    let state = dir.join("state");
    let mut s = Screen::start(
        &dir,
        &["run", "page.md", "--yes", "--secret", "db password"],
        &[],
    );
    s.expect("value for <db password> (hidden):");
    s.send("hunter2-typed-9999");
    s.expect("got ********");
    let (code, screen) = s.finish();
    assert_eq!(code, 0, "{screen}");
    assert!(!screen.contains("hunter2"), "echoed:\n{screen}");
    for f in files_under(&state) {
        let text = String::from_utf8_lossy(&std::fs::read(&f).unwrap()).into_owned();
        assert!(
            !text.contains("hunter2"),
            "{} holds it:\n{text}",
            f.display()
        );
    }
}

/// A page that would do harm if anything in it were executed while reading it.
fn hostile_page(canary: &Path) -> String {
    let c = canary.display();
    format!(
        "---\ntitle: \"$(touch {c}-front)\"\nrunbook: {{shell: \"sh -c 'touch {c}-shell'\"}}\n---\n\
# Hostile `touch {c}-heading`\n\n\
{{{{ \"x\" | append: \"$(touch {c}-liquid)\" }}}}\n\n\
```bash\ntouch {c}-step; rm -rf \"$HOME/not-there\"\n```\n\n\
    `touch {c}-indented`\n\n\
<!-- ```bash\ntouch {c}-comment\n``` -->\n\n\
```bash\nX=$(touch {c}-subst) `touch {c}-backtick` <host>\n```\n"
    )
}

#[test]
fn render_list_check_and_dry_run_execute_nothing_even_on_a_hostile_page() {
    let t = Test::new();
    let canary = t.path().join("canary");
    let page = hostile_page(&canary);
    let t = t.site("x: 1\n").page(&page);
    let dir = t.path().to_path_buf();
    let cases: [&[&str]; 6] = [
        &["render", "page.md"],
        &["render", "page.md", "--html"],
        &["render", ".", "-o", "out"],
        &["list", "page.md", "--json"],
        &["check", "page.md"],
        &[
            "run",
            "page.md",
            "--dry-run",
            "--set",
            "host=$(touch canary-set)",
        ],
    ];
    for args in cases {
        let out = runbook_in(&dir, args).output().unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        let made: Vec<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with("canary"))
            .collect();
        assert!(made.is_empty(), "{args:?} executed something: {made:?}");
    }
    // and a dry run creates no run directory
    assert!(!dir.join("state").exists());
}

#[test]
fn templates_read_nothing_outside_the_site_nor_the_environment() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("secret.txt"), "OUTSIDE-SECRET-1234\n").unwrap();
    std::fs::write(outside.path().join("data.yml"), "v: OUTSIDE-DATA-5678\n").unwrap();
    let o = outside.path().display().to_string();
    let t = Test::new()
        .site("x: 1\n")
        .env("RB_ENV_CANARY", "ENV-VALUE-9012")
        .file("_includes/ok.html", "inside\n");
    std::os::unix::fs::symlink(
        outside.path().join("secret.txt"),
        t.path().join("_includes/link.html"),
    )
    .unwrap();
    std::fs::create_dir_all(t.path().join("_data")).unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("data.yml"),
        t.path().join("_data/ext.yml"),
    )
    .unwrap();
    let dir = t.path().to_path_buf();
    let attempts = [
        "{% include ../../../../../../etc/passwd %}".to_string(),
        format!("{{% include {o}/secret.txt %}}"),
        "{% include link.html %}".to_string(),
        "{% include_relative ../../../../../../etc/passwd %}".to_string(),
        "{{ site.data.ext.v }}".to_string(),
        "{{ RB_ENV_CANARY }}{{ env.RB_ENV_CANARY }}{{ site.env.RB_ENV_CANARY }}{{ ENV.RB_ENV_CANARY }}{{ jekyll.environment }}".to_string(),
    ];
    for (i, a) in attempts.iter().enumerate() {
        let name = format!("p{i}.md");
        std::fs::write(dir.join(&name), format!("{{% include ok.html %}}{a}\n")).unwrap();
        let out = runbook_in(&dir, &["render", &name])
            .env("RB_ENV_CANARY", "ENV-VALUE-9012")
            .output()
            .unwrap();
        let all = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!all.contains("panicked"), "{a}: {all}");
        for leak in ["root:x:0", "OUTSIDE-SECRET", "OUTSIDE-DATA", "ENV-VALUE"] {
            assert!(!all.contains(leak), "{a} read {leak}:\n{all}");
        }
    }
}

#[test]
fn a_secret_made_and_printed_by_the_same_step_is_masked_too() {
    // the step mentions the variable: it is watched while the step runs (bash), so its value
    // is known before the output that prints it; `set -x` does not show the watch
    let page = "# S\n\n```bash\neval \"$(./creds)\"; echo \"in the same step: $MY_SECRET\"\n\
set -x\nexport API_TOKEN=tok-DDDD4444\nprintenv API_TOKEN\nset +x\n```\n\n\
```bash\necho \"next step: $MY_SECRET\"\n```\n";
    let out = Test::new()
        .site("x: 1\n")
        .page(page)
        .script("creds", CREDS)
        .args(&["run", "page.md", "--yes"])
        .run();
    // the steps' stdout on stdout, their stderr (the trace) on stderr
    assert_eq!(
        out.stdout,
        "in the same step: ********\n********\nnext step: ********\n"
    );
    assert!(
        out.stderr
            .contains("++ export API_TOKEN=********\n++ API_TOKEN=********\n++ printenv API_TOKEN\n++ set +x\n"),
        "{}",
        out.stderr
    );
    assert_nowhere(&out, &ALL);
    assert!(
        !out.stdout.contains("__rb") && !out.stderr.contains("__rb"),
        "{}",
        out.stderr
    );
}

/// The leaks the issue names, each through a real run: a multi-line secret (on a pipe and
/// on a pty, where a newline is CR LF), a passphrase with spaces, a placeholder assigned to a
/// secret-named variable, and secrets around long UTF-8 and non-UTF-8 output.
#[test]
fn multi_line_spaced_and_placeholder_secrets_never_show() {
    let key = "-----BEGIN KEY-----\nQUJDREVGR0hJSktM\nTU5PUFFSU1RVVldY\n-----END KEY-----";
    let page = "# Deploy\n\n```bash\nexport DEPLOY_KEY=\"$(cat key)\"\necho \"$DEPLOY_KEY\"\nhead -2 key | tail -1\nDB_PASSWORD=\"correct horse battery staple\"\necho \"pw: $DB_PASSWORD\"\nexport VAULT_PASSWORD=<vault pass>\necho \"v: $VAULT_PASSWORD\"\nprintf 'é%.0s' $(seq 3000); printf '\\xff\\xfe\\n'\n```\n";
    let out = Test::new()
        .site("x: 1\n")
        .page(page)
        .file("key", key)
        .args(&["run", "page.md", "--yes", "--set", "vault pass=vp-GGGG7777"])
        .run();
    let secrets = [
        "QUJDREVGR0hJSktM",
        "TU5PUFFSU1RVVldY",
        "correct horse",
        "battery staple",
        "vp-GGGG7777",
    ];
    assert_nowhere(&out, &secrets);
    assert!(out.stdout.contains("pw: ********"), "{}", out.stdout);
    assert!(out.stdout.contains("v: ********"), "{}", out.stdout);
    // output around the secrets is untouched: 3,000 é, then the two non-UTF-8 bytes
    let raw = std::fs::read(the_run(&out.dir).join("transcript.md")).unwrap();
    let text = String::from_utf8_lossy(&raw);
    assert!(text.contains(&"é".repeat(3000)), "UTF-8 output was altered");
    assert!(!text.contains('\u{fffd}') || text.matches('\u{fffd}').count() == 2);
    let values = std::fs::read_to_string(the_run(&out.dir).join("values.json")).unwrap();
    assert!(!values.contains("vault pass"), "{values}");

    // on a terminal a newline is CR LF: the multi-line secret is masked there too
    let t = Test::new().site("x: 1\n").page(page).file("key", key);
    let mut s = Screen::start(
        t.path(),
        &["run", "page.md", "--yes", "--set", "vault pass=vp-GGGG7777"],
        &[],
    );
    s.expect("run ok");
    let (code, screen) = s.finish();
    assert_eq!(code, 0, "{screen}");
    for secret in secrets {
        assert!(
            !screen.contains(secret),
            "the screen shows {secret}:\n{screen}"
        );
    }
    assert_nowhere_in(t.path(), "", "", &secrets);
}

#[test]
fn a_short_secret_is_refused_not_left_unmasked() {
    Test::new()
        .site("x: 1\n")
        .page("# S\n\n```bash\nlogin --pin <pin>\n```\n")
        .args(&[
            "run", "page.md", "--yes", "--secret", "pin", "--set", "pin=123",
        ])
        .status(2)
        .stderr_contains("the value given for the secret `pin` has 3 characters: at least 4")
        .run();
}

#[test]
fn the_editor_never_sees_a_secret() {
    let t = Test::new()
        .site("x: 1\n")
        .page("# S\n\n```bash\necho \"token <api token>\"\n```\n")
        // an "editor" that keeps a copy of what it was given, then changes the command
        .script(
            "edit.sh",
            "#!/bin/sh\ncat \"$1\" >> seen.txt\nsed -i 's/token/TOKEN/' \"$1\"\n",
        );
    let dir = t.path().to_path_buf();
    let editor = dir.join("edit.sh");
    let env = [("VISUAL", editor.to_str().unwrap())];
    let mut s = Screen::start(
        &dir,
        &[
            "run",
            "page.md",
            "--secret",
            "api token",
            "--set",
            "api token=tk-HHHH8888",
        ],
        &env,
    );
    s.expect("Run this step?");
    s.send("e");
    s.expect("echo \"TOKEN ********\"");
    s.expect("Run this step?");
    s.send("y");
    s.expect("TOKEN ********");
    let (code, screen) = s.finish();
    assert_eq!(code, 0, "{screen}");
    let seen = std::fs::read_to_string(dir.join("seen.txt")).unwrap();
    assert!(seen.contains("[[secret 1]]"), "{seen}");
    assert_nowhere_in(&dir, &screen, "", &["tk-HHHH8888"]);
}

#[test]
fn copies_of_secrets_and_functions_holding_one_stay_in_memory_and_a_resume_says_so() {
    // AUTH copies the operator's token; `call` has it written in its body; $'...' and \"
    // quoting hide nothing either
    let page = "# S\n\n```bash\nAUTH=\"Bearer $OPS_TOKEN\"; QUOTED=$'\\n'\"\\\"$OPS_TOKEN\\\"\"\n\
call() { curl -H 'X-Token: tok-DDDD4444' \"$@\"; }\nKEEP=kept\n```\n\n\
```bash\ntest -f flag\n```\n\n\
```bash\necho \"$KEEP ${AUTH:-no auth}\"; type call >/dev/null 2>&1 && echo call || echo no call\n```\n";
    let out = Test::new()
        .site("x: 1\n")
        .page(page)
        .env("OPS_TOKEN", "tok-DDDD4444")
        .args(&["run", "page.md", "--yes"])
        .status(1)
        .run();
    assert_nowhere(&out, &ALL);
    let journal = files_under(&out.dir.join("state/runbook/runs"))
        .into_iter()
        .find(|p| p.ends_with("journal.jsonl"))
        .unwrap();
    let journal = std::fs::read_to_string(journal).unwrap();
    assert!(
        journal.contains("\"secret_names\":[\"AUTH\",\"QUOTED\",\"call()\"]"),
        "{journal}"
    );
    // what was not secret is on disk
    let snapshots: String = files_under(&out.dir.join("state/runbook/runs"))
        .into_iter()
        .filter(|p| p.parent().unwrap().ends_with("state"))
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert!(snapshots.contains("KEEP=\"kept\""), "{snapshots}");
    std::fs::write(out.dir.join("flag"), "").unwrap();
    let again = runbook_in(&out.dir, &["run", "--resume", "--yes"])
        .env("OPS_TOKEN", "tok-DDDD4444")
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&again.stdout),
        String::from_utf8_lossy(&again.stderr),
    );
    assert_eq!(again.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains(
            "secret variables AUTH, QUOTED and functions call (their definitions hold a secret) were kept in memory only and are gone; step s-1 set them"
        ),
        "{stderr}"
    );
    // --yes runs again from the step that set them
    assert_eq!(stdout, "kept Bearer ********\ncall\n", "{stderr}");
    assert_nowhere_in(&out.dir, &stdout, &stderr, &ALL);
}
