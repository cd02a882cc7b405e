//! One shell session across many processes: each step runs in its own `bash` (so it can be
//! timed, stopped and logged on its own), and the shell's state (variables, exported or not,
//! functions, the current directory, what `eval $(...)` exported) is carried to the next step
//! as an operator's terminal would carry it.
//!
//! How: the step's process reads its script from fd 3 (a pipe, so nothing of it reaches the
//! process table or the disk): first the state left by the previous step, then an EXIT trap,
//! then the command. On exit the trap writes the state (`declare -p` of every variable but
//! bash's own, `declare -f`, the directory) to fd 4, another pipe. runbook splits it: secret
//! variables stay in memory, the rest is the snapshot written (0600) in the run directory.

use super::secrets::{Secrets, is_secret_name};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// bash's own variables, which a new shell sets itself (or refuses to have set).
const BASH_SPECIAL: &str = "BASH|BASH_*|BASHOPTS|BASHPID|COLUMNS|COMP_*|DIRSTACK|EPOCHREALTIME|EPOCHSECONDS|EUID|FUNCNAME|GROUPS|HISTCMD|HOSTNAME|HOSTTYPE|IFS|LINENO|LINES|MACHTYPE|OLDPWD|OPTARG|OPTERR|OPTIND|OSTYPE|PIPESTATUS|PPID|PS4|PWD|RANDOM|SECONDS|SHELLOPTS|SHLVL|SRANDOM|UID|_|__rb_*";

fn snapshot_trap(bash: bool) -> String {
    if bash {
        format!(
            r#"__rb_snap() {{
  __rb_st=$?
  trap - EXIT
  {{
    compgen -v | while IFS= read -r __rb_v; do
      case $__rb_v in {BASH_SPECIAL}) continue;; esac
      printf '\n#rb-var %s\n' "$__rb_v"
      declare -p "$__rb_v"
    done
    printf '\n#rb-functions\n'
    declare -F | while read -r _ _ __rb_f; do
      case $__rb_f in __rb_*) ;; *) declare -f "$__rb_f";; esac
    done
    printf '\n#rb-cwd\n'
    printf 'cd -- %q\n' "$PWD"
  }} >&4 2>/dev/null
  exit "$__rb_st"
}}
trap __rb_snap EXIT
"#
        )
    } else {
        // POSIX shells: variables (`set` quotes them for re-input), exports and the directory;
        // there is no portable way to list functions
        r#"__rb_snap() {
  __rb_st=$?
  trap - EXIT
  {
    printf '\n#rb-set\n'
    set
    printf '\n#rb-exports\n'
    export -p
    printf '\n#rb-cwd\n'
    printf 'cd -- '\''%s'\''\n' "$(printf '%s' "$PWD" | sed "s/'/'\\\\''/g")"
  } >&4 2>/dev/null
  exit "$__rb_st"
}
trap __rb_snap EXIT
"#
        .to_string()
    }
}

/// What a step left behind, split into what may be written down and what may not.
#[derive(Debug, Default, Clone)]
pub struct State {
    /// Restorable text without secrets: goes to the run directory's snapshot.
    pub public: String,
    /// `declare` lines of secret variables: kept in memory only.
    pub secret: String,
    /// Names of the secret variables (to say which are missing after a resume).
    pub secret_names: Vec<String>,
}

impl State {
    pub fn restore_script(&self) -> String {
        // `:` keeps the group valid when there is nothing to restore
        format!("{{ :\n{}\n{}\n}} 2>/dev/null\n", self.public, self.secret)
    }
}

pub struct Outcome {
    /// Exit status of the step's script; 128+N when killed by signal N.
    pub status: i32,
    pub signal: Option<i32>,
    pub output_bytes: usize,
    pub elapsed: Duration,
    /// The state after the step (None when the process left none, e.g. killed).
    pub state: Option<State>,
}

pub struct Shell {
    pub program: String,
    pub secret_names: Vec<String>,
}

impl Shell {
    fn is_bash(&self) -> bool {
        std::path::Path::new(&self.program)
            .file_name()
            .is_some_and(|n| n == "bash")
    }

    /// Run `command` after restoring `state`. Output (stdout and stderr, in order) goes to
    /// `sink` as it comes, masked; the process's pid is given to `started` (for signals).
    pub fn run(
        &self,
        state: &State,
        command: &str,
        secrets: &Secrets,
        started: &mut dyn FnMut(u32),
        sink: &mut dyn FnMut(&[u8]),
    ) -> io::Result<Outcome> {
        let (restore_r, mut restore_w) = io::pipe()?;
        let (mut snap_r, snap_w) = io::pipe()?;
        let (mut out_r, out_w) = io::pipe()?;
        let out_w2 = out_w.try_clone()?;
        let (rfd, wfd) = (restore_r.as_raw_fd(), snap_w.as_raw_fd());
        let mut cmd = Command::new(&self.program);
        cmd.arg("-c")
            .arg(". /dev/fd/3")
            .stdin(Stdio::inherit())
            .stdout(Stdio::from(out_w))
            .stderr(Stdio::from(out_w2));
        // SAFETY: between fork and exec only async-signal-safe calls (fcntl, dup2, close)
        unsafe {
            cmd.pre_exec(move || {
                // move both ends out of the way first, so that 3 and 4 can't clobber each other
                let r = libc::fcntl(rfd, libc::F_DUPFD_CLOEXEC, 10);
                let w = libc::fcntl(wfd, libc::F_DUPFD_CLOEXEC, 10);
                if r < 0 || w < 0 || libc::dup2(r, 3) < 0 || libc::dup2(w, 4) < 0 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let start = Instant::now();
        let mut child = cmd.spawn()?;
        drop(cmd); // closes the parent's copies of the child's ends
        drop(restore_r);
        drop(snap_w);
        started(child.id());
        let script = format!(
            "{}{}{}\n",
            state.restore_script(),
            snapshot_trap(self.is_bash()),
            command
        );
        let writer = std::thread::spawn(move || {
            // the child may exit without reading it all: a broken pipe is not an error here
            let _ = restore_w.write_all(script.as_bytes());
        });
        let reader = std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = snap_r.read_to_end(&mut buf);
            buf
        });
        let mut output_bytes = 0;
        let mut buf = [0u8; 8192];
        // hold back the tail that could be the start of a secret cut by the read
        let mut pending: Vec<u8> = Vec::new();
        loop {
            let n = match out_r.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            output_bytes += n;
            pending.extend_from_slice(&buf[..n]);
            let keep = if secrets.is_empty() {
                0
            } else {
                secrets.longest()
            };
            let cut = match pending.iter().rposition(|b| *b == b'\n') {
                Some(nl) => nl + 1,
                None => pending.len().saturating_sub(keep),
            };
            if cut > 0 {
                let chunk: Vec<u8> = pending.drain(..cut).collect();
                sink(&secrets.mask_bytes(&chunk));
            }
        }
        if !pending.is_empty() {
            sink(&secrets.mask_bytes(&pending));
        }
        let status = child.wait()?;
        let elapsed = start.elapsed();
        let _ = writer.join();
        let snapshot = reader.join().unwrap_or_default();
        let signal = status.signal();
        let code = status.code().unwrap_or_else(|| 128 + signal.unwrap_or(0));
        let state = (!snapshot.is_empty()).then(|| self.split(&String::from_utf8_lossy(&snapshot)));
        Ok(Outcome {
            status: code,
            signal,
            output_bytes,
            elapsed,
            state,
        })
    }

    /// Split a snapshot into public and secret parts.
    fn split(&self, snapshot: &str) -> State {
        let mut public = String::new();
        let mut secret = String::new();
        let mut names = Vec::new();
        let mut section = String::new();
        let mut current: Option<bool> = None;
        // POSIX `set` / `export -p` entries may span lines inside single quotes
        let mut entry = String::new();
        for line in snapshot.split_inclusive('\n') {
            let bare = line.trim_end_matches('\n');
            if entry.is_empty() {
                if let Some(name) = bare.strip_prefix("#rb-var ") {
                    let s = is_secret_name(name, &self.secret_names);
                    if s {
                        names.push(name.to_string());
                    }
                    current = Some(s);
                    continue;
                }
                if bare.starts_with("#rb-") {
                    section = bare.to_string();
                    current = None;
                    continue;
                }
            }
            match (current, section.as_str()) {
                (Some(true), _) => secret.push_str(line),
                (Some(false), _) => public.push_str(line),
                (None, "#rb-set" | "#rb-exports") => {
                    entry.push_str(line);
                    if quote_open(&entry) {
                        continue; // a quoted value goes on
                    }
                    let whole = std::mem::take(&mut entry);
                    let name = whole
                        .trim_start_matches("export ")
                        .split('=')
                        .next()
                        .unwrap_or("")
                        .trim();
                    if is_posix_special(name) {
                        continue;
                    }
                    if is_secret_name(name, &self.secret_names) {
                        if !names.iter().any(|n| n == name) {
                            names.push(name.to_string());
                        }
                        secret.push_str(&whole);
                    } else {
                        public.push_str(&whole);
                    }
                }
                _ => public.push_str(line),
            }
        }
        State {
            public,
            secret,
            secret_names: names,
        }
    }
}

/// Whether a shell word sequence ends inside single or double quotes.
fn quote_open(text: &str) -> bool {
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '\\') | (Some('"'), '\\') => {
                chars.next();
            }
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            _ => {}
        }
    }
    quote.is_some()
}

fn is_posix_special(name: &str) -> bool {
    matches!(
        name,
        "PPID" | "PWD" | "OLDPWD" | "IFS" | "OPTIND" | "LINENO" | "PS1" | "PS2" | "PS4" | "_"
    ) || name.starts_with("__rb_")
        || name.is_empty()
}

/// The values of secret variables in a `declare -p` text: every double-quoted string.
pub fn secret_values(declarations: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = declarations.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '"' {
            continue;
        }
        let mut v = String::new();
        while let Some(c) = chars.next() {
            match c {
                '\\' => {
                    if let Some(n) = chars.next() {
                        if !matches!(n, '"' | '\\' | '$' | '`') {
                            v.push('\\');
                        }
                        v.push(n);
                    }
                }
                '"' => break,
                c => v.push(c),
            }
        }
        out.push(v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(shell: &Shell, state: &State, cmd: &str) -> (Outcome, String) {
        let mut out = Vec::new();
        let o = shell
            .run(state, cmd, &Secrets::default(), &mut |_| {}, &mut |b| {
                out.extend_from_slice(b)
            })
            .unwrap();
        (o, String::from_utf8(out).unwrap())
    }

    #[test]
    fn state_carries_between_processes() {
        let shell = Shell {
            program: "bash".into(),
            secret_names: vec![],
        };
        let dir = tempfile::tempdir().unwrap();
        let (o, _out) = run(
            &shell,
            &State::default(),
            &format!(
                "X='a b'\nexport Y=2\nf() {{ echo \"f:$1\"; }}\ncd {}\neval \"$(echo export Z=3)\"\nOS_PASSWORD=s3cret-pw\n",
                dir.path().display()
            ),
        );
        assert_eq!(o.status, 0, "{_out}");
        let state = o.state.unwrap();
        assert!(
            state.public.contains("declare -- X=\"a b\""),
            "{}",
            state.public
        );
        assert!(!state.public.contains("s3cret-pw"));
        assert!(state.secret.contains("s3cret-pw"));
        assert_eq!(state.secret_names, ["OS_PASSWORD"]);
        let (o2, out) = run(
            &shell,
            &state,
            "echo \"$X|$Y|$Z|$OS_PASSWORD|$PWD\"; f x; env | grep -c '^Y=2$'\nexit 3",
        );
        assert_eq!(o2.status, 3);
        assert_eq!(
            out,
            format!("a b|2|3|s3cret-pw|{}\nf:x\n1\n", dir.path().display())
        );
        assert!(o2.state.is_some(), "exit still leaves a snapshot");
    }

    #[test]
    fn posix_shell_keeps_variables_and_directory() {
        let shell = Shell {
            program: "sh".into(),
            secret_names: vec![],
        };
        let (o, out) = run(
            &shell,
            &State::default(),
            "A=\"it's\"\nexport B=1\ncd /tmp\n",
        );
        let state = o.state.expect(&out);
        let (_, out) = run(&shell, &state, "echo \"$A $B $PWD\"");
        assert_eq!(out, "it's 1 /tmp\n");
    }

    #[test]
    fn secret_values_from_declarations() {
        assert_eq!(
            secret_values("declare -x TOKEN=\"a\\\"b\\$c\"\ndeclare -- K=\"x y\"\n"),
            ["a\"b$c", "x y"]
        );
    }
}
