//! A small builder: "these files, these args, this output".

use std::path::{Path, PathBuf};
use std::process::Command;

pub struct Test {
    pub dir: tempfile::TempDir,
    args: Vec<String>,
    stdout: Option<String>,
    stdout_contains: Vec<String>,
    stderr_contains: Vec<String>,
    stderr_lacks: Vec<String>,
    status: i32,
    stdin: Option<String>,
    env: Vec<(String, String)>,
}

pub struct Output {
    pub stdout: String,
    pub stderr: String,
    pub status: i32,
    pub dir: PathBuf,
    /// keeps the directory until the output is dropped
    _tmp: tempfile::TempDir,
}

impl Test {
    pub fn new() -> Test {
        Test {
            dir: tempfile::tempdir().expect("temp dir"),
            args: Vec::new(),
            stdout: None,
            stdout_contains: Vec::new(),
            stderr_contains: Vec::new(),
            stderr_lacks: Vec::new(),
            status: 0,
            stdin: None,
            env: Vec::new(),
        }
    }

    /// Set an environment variable for the run.
    pub fn env(mut self, key: &str, value: &str) -> Test {
        self.env.push((key.to_string(), value.to_string()));
        self
    }

    /// An executable script under the test directory.
    pub fn script(self, rel: &str, content: &str) -> Test {
        let t = self.file(rel, content);
        use std::os::unix::fs::PermissionsExt;
        let p = t.dir.path().join(rel);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        t
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Write a file (parents created) under the test directory.
    pub fn file(self, rel: &str, content: impl AsRef<[u8]>) -> Test {
        let p = self.dir.path().join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
        self
    }

    pub fn site(self, yaml: &str) -> Test {
        self.file("site.yaml", yaml)
    }

    pub fn page(self, text: &str) -> Test {
        self.file("page.md", text)
    }

    pub fn args(mut self, args: &[&str]) -> Test {
        self.args.extend(args.iter().map(|s| s.to_string()));
        self
    }

    pub fn stdout(mut self, s: &str) -> Test {
        self.stdout = Some(s.to_string());
        self
    }

    pub fn stdout_contains(mut self, s: &str) -> Test {
        self.stdout_contains.push(s.to_string());
        self
    }

    pub fn stderr_contains(mut self, s: &str) -> Test {
        self.stderr_contains.push(s.to_string());
        self
    }

    pub fn stderr_lacks(mut self, s: &str) -> Test {
        self.stderr_lacks.push(s.to_string());
        self
    }

    pub fn status(mut self, code: i32) -> Test {
        self.status = code;
        self
    }

    #[allow(dead_code)]
    pub fn stdin(mut self, s: &str) -> Test {
        self.stdin = Some(s.to_string());
        self
    }

    /// Run the binary in the test directory and check every expectation.
    pub fn run(self) -> Output {
        let args: Vec<&str> = self.args.iter().map(String::as_str).collect();
        let mut cmd = runbook_in(self.dir.path(), &args);
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let out = match &self.stdin {
            Some(input) => {
                use std::io::Write;
                let mut child = cmd
                    .stdin(std::process::Stdio::piped())
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap();
                child
                    .stdin
                    .take()
                    .unwrap()
                    .write_all(input.as_bytes())
                    .unwrap();
                child.wait_with_output().unwrap()
            }
            None => cmd.output().unwrap(),
        };
        let o = Output {
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            status: out.status.code().unwrap_or(-1),
            dir: self.dir.path().to_path_buf(),
            _tmp: self.dir,
        };
        let ctx = format!(
            "\nargs: {:?}\n--- stdout\n{}\n--- stderr\n{}",
            self.args, o.stdout, o.stderr
        );
        assert!(!o.stderr.contains("panicked"), "panic{ctx}");
        assert_eq!(o.status, self.status, "exit status{ctx}");
        if let Some(expected) = &self.stdout {
            assert_eq!(&o.stdout, expected, "stdout{ctx}");
        }
        for s in &self.stdout_contains {
            assert!(o.stdout.contains(s.as_str()), "stdout lacks {s:?}{ctx}");
        }
        for s in &self.stderr_contains {
            assert!(o.stderr.contains(s.as_str()), "stderr lacks {s:?}{ctx}");
        }
        for s in &self.stderr_lacks {
            assert!(!o.stderr.contains(s.as_str()), "stderr has {s:?}{ctx}");
        }
        o
    }
}

/// runbook with `args` in `dir`, as `Test::run` starts it: its runs under `dir/state`, no
/// colour, no RUST_LOG from the caller.
pub fn runbook_in(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_runbook"));
    cmd.args(args)
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env("NO_COLOR", "1")
        .env("XDG_STATE_HOME", dir.join("state"));
    cmd
}

/// The directory of the one run under `dir/state` (a test's runs folder).
pub fn the_run(dir: &Path) -> PathBuf {
    std::fs::read_dir(dir.join("state/runbook/runs"))
        .expect("a runs folder")
        .next()
        .expect("a run")
        .expect("a readable entry")
        .path()
}

/// Render `page` (with `site`) and expect exactly `expected` on stdout.
pub fn renders(site: &str, page: &str, expected: &str) {
    Test::new()
        .site(site)
        .page(page)
        .args(&["render", "page.md"])
        .stdout(expected)
        .run();
}

/// The seed page (alisw.github.io's `infrastructure-mesos.markdown`) in its fixture site.
pub fn seed_page() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/seed/site/infrastructure-mesos.markdown")
}

/// `run --dry-run --lax` on every page (`.md`, `.markdown`, outside `_includes/`) under `roots`,
/// with a command on PATH that would leave a canary if it ran: no page panics or fails (exit 0,
/// or 1 for placeholders without values), nothing ran, no run directory was made. Returns the
/// number of pages.
pub fn dry_run_executes_nothing(roots: &[PathBuf]) -> usize {
    let canary = "/tmp/runbook-canary-must-not-exist";
    let t = Test::new().script("bin/touchme", &format!("#!/bin/sh\ntouch {canary}\n"));
    let mut pages = Vec::new();
    let mut stack = roots.to_vec();
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())) {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "md" || x == "markdown")
                && !p.to_string_lossy().contains("/_includes/")
            {
                pages.push(p);
            }
        }
    }
    let _ = std::fs::remove_file(canary);
    let bin = t.path().join("bin");
    for page in &pages {
        let out = Command::new(env!("CARGO_BIN_EXE_runbook"))
            .args(["run", page.to_str().unwrap(), "--dry-run", "--lax"])
            .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
            .env("XDG_STATE_HOME", t.path().join("state"))
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{}: {stderr}", page.display());
        let code = out.status.code().unwrap();
        // 0: clean, or nothing to run; 1: placeholders without values
        assert!(
            matches!(code, 0 | 1),
            "{}: exit {code}: {stderr}",
            page.display()
        );
    }
    assert!(!Path::new(canary).exists(), "a dry run executed a command");
    assert!(
        !t.path().join("state").exists(),
        "a dry run created a run directory"
    );
    pages.len()
}

/// Processes whose command line is exactly `cmdline` (words separated by spaces), from /proc.
pub fn processes(cmdline: &str) -> Vec<i32> {
    let want: Vec<&str> = cmdline.split(' ').collect();
    std::fs::read_dir("/proc")
        .map(|d| {
            d.flatten()
                .filter_map(|e| {
                    let pid: i32 = e.file_name().to_str()?.parse().ok()?;
                    let raw = std::fs::read(e.path().join("cmdline")).ok()?;
                    let args: Vec<String> = raw
                        .split(|b| *b == 0)
                        .filter(|a| !a.is_empty())
                        .map(|a| String::from_utf8_lossy(a).into_owned())
                        .collect();
                    (args == want).then_some(pid)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Stop the processes whose command line is `cmdline` (what a test left behind on purpose).
pub fn kill_all(cmdline: &str) {
    for pid in processes(cmdline) {
        // SAFETY: kill(2) with a pid read from /proc
        unsafe {
            libc::kill(pid, libc::SIGKILL);
        }
    }
}
