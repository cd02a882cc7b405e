//! One shell session across many processes: each step runs in its own `bash` (so it can be
//! timed, stopped and logged on its own), and the shell's state (variables, exported or not,
//! functions, the current directory, what `eval $(...)` exported) is carried to the next step
//! as an operator's terminal would carry it.
//!
//! How: the step's process reads its script from a pipe (so nothing of it reaches the process
//! table or the disk): first the state left by the previous step, then an EXIT trap, then the
//! command. On exit the trap writes the state (`declare -p`, `declare -f`, the directory) to
//! another pipe. `state::State` takes it in: secret variables stay in memory, what changed in
//! the rest is the snapshot written (0600) in the run directory.

use super::pty;
use super::secrets::{Masker, Secrets, is_secret_name};
use super::state::{self, Dump, Inherited, State};
use super::transport::{Local, Running, Spawn, Transport};
use rustix::event::{PollFd, PollFlags, Timespec};
use rustix::process::Signal;
use std::cell::Cell;
use std::ffi::OsStr;
use std::io::{self, Write};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::time::{Duration, Instant};

/// runbook's EXIT trap: the state is written once, from this trap when the command exits
/// early (`exit`, `set -e`), or after the command when it ends normally (so that a step that
/// sets an EXIT trap of its own keeps it, and it runs). Inline code, no function of runbook's
/// own: `declare -f` lists the step's functions only. The dump code empties `__rb_t` first, so
/// the trap does nothing once it ran; its stderr goes nowhere, so `set -x` shows none of it.
/// The shell's exit status is kept (bash keeps it across an EXIT trap).
fn exit_trap(dump: &str, bash: bool) -> String {
    let builtin = if bash { "builtin " } else { "" };
    format!(
        "__rb_t='{dump}'\ntrap '{{ case $__rb_t in ?*) {builtin}eval \"$__rb_t\";; esac; }} 2>/dev/null' EXIT\n"
    )
}

/// What runs after the command when it ends normally: the dump itself (`set +x`: nothing of
/// runbook's is traced).
fn after_command(dump: &str, bash: bool) -> String {
    let builtin = if bash { "builtin " } else { "" };
    format!("{{ __rb_st=$?; {builtin}set +x; {dump}; }} 2>/dev/null\nexit \"$__rb_st\"\n")
}

/// Secret-named variables a command mentions (`$OS_PASSWORD`, `printenv API_TOKEN`): the ones
/// whose value a step could print in the same step that sets it.
fn secret_words(command: &str, secret_names: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for w in command.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
        let ident = w.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_');
        if ident
            && !w.starts_with("__rb_")
            && is_secret_name(w, secret_names)
            && !out.iter().any(|o| o == w)
        {
            out.push(w.to_string());
        }
    }
    out
}

/// A bash DEBUG trap that, before each command of the step, sends the new values of the
/// secret variables the step mentions to runbook (`target`), so that output printing them in
/// the same step is masked too. It hides itself from `set -x`.
fn secret_watch(names: &[String], target: &str) -> String {
    format!(
        r#"__rb_seen=
__rb_pid=$BASHPID
__rb_watch() {{
  # only the step's own shell: runbook closes the pipe when that shell has exited
  [ "$BASHPID" = "$__rb_pid" ] || return 0
  {{ __rb_x=${{-//[^x]/}}; set +x; }} 2>/dev/null
  for __rb_n in {names}; do
    __rb_v=${{!__rb_n-}}
    [ -n "$__rb_v" ] || continue
    case $__rb_seen in *"|$__rb_v|"*) continue;; esac
    __rb_seen="$__rb_seen|$__rb_v|"
    printf '%s\0' "$__rb_v" >{target}
  done
  __rb_v=
  [ -z "$__rb_x" ] || set -x
}}
trap '{{ __rb_watch; }} 2>/dev/null' DEBUG
"#,
        names = names.join(" ")
    )
}

/// Read what a non-blocking channel holds now; false once it is closed.
fn drain(fd: impl AsFd, out: &mut dyn FnMut(&[u8])) -> io::Result<bool> {
    let mut buf = [0u8; 16384];
    loop {
        match pty::read_now(&fd, &mut buf)? {
            None => return Ok(false),
            Some(0) => return Ok(true),
            Some(n) => out(&buf[..n]),
        }
    }
}

/// Whether `program` is bash (which carries functions too; other shells are POSIX shells).
pub fn is_bash(program: &str) -> bool {
    Path::new(program).file_name().is_some_and(|n| n == "bash")
}

pub use super::transport::STEP_ENV;

/// How long a step has after SIGTERM (timeout) before its process group gets SIGKILL.
pub const KILL_GRACE: Duration = Duration::from_secs(5);

/// How a step is started: on a terminal or not, what marks its processes, how long it may
/// take, and where its command comes from.
#[derive(Default)]
pub struct Launch<'a> {
    /// Run on a pty of its own, in its own session, with runbook's keyboard relayed to it.
    pub terminal: bool,
    /// Value of `RUNBOOK_STEP` in the step's environment.
    pub token: &'a str,
    pub timeout: Option<Duration>,
    /// The page the command comes from: bash's messages about a line of it name the page's
    /// file and line.
    pub source: Option<Source<'a>>,
}

/// Where a command's lines are in a page.
#[derive(Debug, Clone, Copy)]
pub struct Source<'a> {
    /// The page, as shown to the operator.
    pub file: &'a str,
    /// The page line of each line of the command.
    pub lines: &'a [usize],
}

/// Which of a step's streams output came on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    /// stdout, or the step's terminal (where stdout and stderr are one)
    Out,
    Err,
}

/// Rewrites bash's messages about the command's lines (`/proc/123/fd/7: line 25: x: command
/// not found`) to name the page and its line (`page.md:6: x: command not found`), as output
/// streams: only a tail that could be the start of such a prefix is held back.
#[derive(Debug, Clone)]
struct ErrorLines {
    /// `<script name>: line `; empty when there is nothing to rewrite.
    prefix: Vec<u8>,
    /// The script line the command's first line is on.
    first: usize,
    file: String,
    lines: Vec<usize>,
    pending: Vec<u8>,
}

impl ErrorLines {
    fn new(script_name: &str, first: usize, source: Option<Source>) -> ErrorLines {
        let (prefix, file, lines) = match source {
            Some(s) => (
                format!("{script_name}: line ").into_bytes(),
                s.file.to_string(),
                s.lines.to_vec(),
            ),
            None => (Vec::new(), String::new(), Vec::new()),
        };
        ErrorLines {
            prefix,
            first,
            file,
            lines,
            pending: Vec::new(),
        }
    }

    fn push(&mut self, data: &[u8]) -> Vec<u8> {
        if self.prefix.is_empty() {
            return data.to_vec();
        }
        self.pending.extend_from_slice(data);
        let buf = std::mem::take(&mut self.pending);
        let p = &self.prefix;
        let mut out = Vec::with_capacity(buf.len());
        let mut i = 0;
        while let Some(j) = buf[i..].windows(p.len()).position(|w| w == p.as_slice()) {
            let at = i + j;
            let digits = at + p.len();
            let end = digits
                + buf[digits..]
                    .iter()
                    .take_while(|b| b.is_ascii_digit())
                    .count();
            if end == buf.len() {
                // the line number may go on in the next read
                out.extend_from_slice(&buf[i..at]);
                self.pending = buf[at..].to_vec();
                return out;
            }
            out.extend_from_slice(&buf[i..at]);
            let n: usize = std::str::from_utf8(&buf[digits..end])
                .ok()
                .and_then(|d| d.parse().ok())
                .unwrap_or(0);
            match n.checked_sub(self.first).and_then(|k| self.lines.get(k)) {
                Some(line) if end > digits && buf[end] == b':' => {
                    out.extend_from_slice(format!("{}:{line}:", self.file).as_bytes());
                    i = end + 1;
                }
                _ => {
                    out.extend_from_slice(&buf[at..end]);
                    i = end;
                }
            }
        }
        // a tail that may be the start of the prefix waits for the next read
        let rest = &buf[i..];
        let hold = (1..p.len().min(rest.len() + 1))
            .rev()
            .find(|&k| rest.ends_with(&p[..k]))
            .unwrap_or(0);
        out.extend_from_slice(&rest[..rest.len() - hold]);
        self.pending = rest[rest.len() - hold..].to_vec();
        out
    }

    fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.pending)
    }
}

pub struct Outcome {
    /// Exit status of the step's script; 128+N when killed by signal N; 124 on a timeout
    /// (as timeout(1)).
    pub status: i32,
    /// The step ran past its `--timeout` and was stopped.
    pub timed_out: bool,
    pub signal: Option<i32>,
    pub output_bytes: usize,
    pub elapsed: Duration,
    /// The state the step's shell printed as it exited (None when it left none, e.g.
    /// killed); `State::advance` takes it in.
    pub dump: Option<Dump>,
    /// The step did not run: the state could not be restored (its working directory is gone);
    /// `status` is `state::EXIT_STATE_LOST`.
    pub restore_failed: bool,
    /// Secret values the step set while it ran (see `secret_watch`).
    pub learned: Vec<Vec<u8>>,
}

pub struct Shell {
    pub program: String,
    /// Where the steps' processes run.
    pub transport: Box<dyn Transport>,
    pub secret_names: Vec<String>,
    /// The environment every step inherits from runbook: exported variables that still
    /// have these values need no restoring (a state of hundreds of variables makes every
    /// step's shell slower to start).
    pub inherited: Inherited,
    /// How this bash prints variables, learned from the first dump (then not checked again).
    format: Cell<Option<state::Format>>,
}

impl Shell {
    pub fn new(program: &str, secret_names: &[String]) -> Shell {
        Shell {
            program: program.to_string(),
            transport: Box::new(Local::default()),
            secret_names: secret_names.to_vec(),
            inherited: Inherited::from_env(),
            format: Cell::new(None),
        }
    }

    pub fn is_bash(&self) -> bool {
        is_bash(&self.program)
    }

    /// Dump the state as a bash older than 4.4 must (one `declare -p NAME` at a time): to test
    /// that way on a newer bash.
    #[cfg(test)]
    pub(crate) fn dump_as_old_bash(&self) {
        self.format.set(Some(state::Format::Nul));
    }

    /// Run `command` after restoring `state`, through the shell's transport. Output goes to
    /// `sink` as it comes, masked, with the stream it came on (stdout, or stderr when the step
    /// runs on pipes; on a terminal both are one stream); the process's pid (also its process
    /// group) is given to `started`, for signals. See `Launch` for the rest.
    pub fn run(
        &self,
        state: &State,
        command: &str,
        secrets: &Secrets,
        launch: &Launch,
        started: &mut dyn FnMut(u32),
        sink: &mut dyn FnMut(Stream, &[u8]),
    ) -> io::Result<Outcome> {
        // the step starts in the directory the state has, or does not start: it would run
        // elsewhere (the directory was removed or renamed)
        let cwd = state.cwd().map(|d| Path::new(OsStr::from_bytes(d)));
        let here = self.transport.runs_here();
        if cwd.is_some_and(|d| d.as_os_str().is_empty() || (here && !d.is_dir())) {
            return Ok(Outcome::state_lost());
        }
        // the secret variables the command mentions are watched while it runs (bash only)
        let watched = if self.is_bash() {
            secret_words(command, &self.secret_names)
        } else {
            Vec::new()
        };
        let mut env: Vec<(&str, &OsStr)> = Vec::new();
        if !launch.token.is_empty() {
            env.push((STEP_ENV, OsStr::new(launch.token)));
        }
        if let Some(dir) = cwd {
            // entered by the spawn itself (no `cd` in the script); PWD keeps the path as the
            // shell had it (through symlinks): a shell takes it when it names its directory
            env.push(("PWD", dir.as_os_str()));
        }
        let start = Instant::now();
        let spec = Spawn {
            program: &self.program,
            dir: cwd,
            env: &env,
            terminal: launch.terminal,
            watch: !watched.is_empty(),
        };
        let mut running = match self.transport.spawn(&spec) {
            Ok(r) => r,
            // the directory could not be entered (permissions), or went just now
            Err(e)
                if here
                    && cwd.is_some()
                    && (e.kind() == io::ErrorKind::PermissionDenied
                        || cwd.is_some_and(|d| !d.is_dir())) =>
            {
                return Ok(Outcome::state_lost());
            }
            Err(e) => return Err(e),
        };
        started(running.pid);
        let watch_script = running
            .watch
            .as_ref()
            .map(|(_, target)| secret_watch(&watched, target))
            .unwrap_or_default();
        let bash = self.is_bash();
        let dump = state::dump_code(
            bash,
            &running.dump_target,
            !watch_script.is_empty(),
            self.format.get(),
        );
        let mut script = state.restore_script(&self.inherited, bash);
        script.extend_from_slice(exit_trap(&dump, bash).as_bytes());
        script.extend_from_slice(watch_script.as_bytes());
        // where the command starts in the script: bash's messages about it name that line
        let first_line = script.iter().filter(|b| **b == b'\n').count() + 1;
        script.extend_from_slice(command.trim_end_matches('\n').as_bytes());
        script.push(b'\n');
        script.extend_from_slice(after_command(&dump, bash).as_bytes());
        // a pipe holds 64 KiB: a script that fits is written at once, a longer one by a thread
        // (the child reads it only as it runs); the child may exit without reading it all, so a
        // broken pipe is not an error here
        let mut script_w = running
            .script
            .take()
            .expect("a new process has its script pipe");
        let writer = if script.len() < 60 * 1024 {
            let _ = script_w.write_all(&script);
            drop(script_w);
            None
        } else {
            Some(std::thread::spawn(move || {
                let _ = script_w.write_all(&script);
            }))
        };
        // the keyboard goes to the step while it runs on its pty
        let _raw = running.pty.as_ref().and_then(|_| pty::RawMode::enter());
        if running.pty.is_some() {
            pty::watch_resize();
        }
        pty::set_nonblocking(&running.stdout)?;
        if let Some(e) = &running.stderr {
            pty::set_nonblocking(e)?;
        }
        pty::set_nonblocking(&running.dump)?;
        if let Some((r, _)) = &running.watch {
            pty::set_nonblocking(r)?;
        }
        // bash's messages name the script by the path it reads it from, and its lines: they
        // are given the page's name and lines instead
        let errors = ErrorLines::new(&running.script_name, first_line, launch.source);
        // secrets known so far, and those the step sets as it runs
        let mut reader = Reader {
            known: secrets.clone(),
            learned: Vec::new(),
            watch_buf: Vec::new(),
            output_bytes: 0,
            // each stream holds back the tail that could be the start of a secret cut by the
            // read
            streams: [
                (Stream::Out, Masker::default(), errors.clone(), true),
                (
                    Stream::Err,
                    Masker::default(),
                    errors,
                    running.stderr.is_some(),
                ),
            ],
        };
        let mut snapshot = Vec::new();
        let mut keyboard_open = running.pty.is_some();
        // past the timeout: SIGTERM to the step's group, then SIGKILL after the grace period
        let mut timed_out = false;
        let mut killed = false;
        // bash writes the state a line at a time: once some has come, the pipe is left out of
        // poll for a moment, so that the rest comes in a few reads rather than one wakeup per
        // line (the pipe holds 64 KiB: bash waits at most that moment when it is full)
        let mut snap_quiet_until: Option<Instant> = None;
        // the state's channel ends when the step has exited, but its process may take longer
        // to be seen gone (over ssh, the session's end comes after): an ended channel is
        // left out of poll, which would otherwise wake at once, again and again
        let mut dump_open = true;
        let stdin = io::stdin();
        let status = loop {
            let quiet = snap_quiet_until.and_then(|t| t.checked_duration_since(Instant::now()));
            // the process's exit wakes the loop (a pidfd); without one a short timeout does
            let mut timeout = if running.exit_fd().is_some() {
                Duration::from_secs(1)
            } else {
                Duration::from_millis(20)
            };
            if let Some(q) = quiet {
                timeout = timeout.min(q + Duration::from_millis(1));
            }
            if let Some(limit) = launch.timeout {
                let elapsed = start.elapsed();
                if !timed_out && elapsed >= limit {
                    timed_out = true;
                    let _ = running.signal(Signal::TERM);
                } else if timed_out && !killed && elapsed >= limit + KILL_GRACE {
                    killed = true;
                    let _ = running.signal(Signal::KILL);
                }
                let next = if timed_out { limit + KILL_GRACE } else { limit };
                if !killed {
                    timeout =
                        timeout.min(next.saturating_sub(elapsed).max(Duration::from_millis(1)));
                }
            }
            let keyboard = {
                let mut fds: Vec<PollFd> = Vec::with_capacity(5);
                let exit_fd = running.exit_fd();
                if let Some(fd) = &exit_fd {
                    fds.push(PollFd::new(fd, PollFlags::IN));
                }
                if quiet.is_none() && dump_open {
                    fds.push(PollFd::new(&running.dump, PollFlags::IN));
                }
                if reader.streams[0].3 {
                    fds.push(PollFd::new(&running.stdout, PollFlags::IN));
                }
                if let Some(e) = running.stderr.as_ref().filter(|_| reader.streams[1].3) {
                    fds.push(PollFd::new(e, PollFlags::IN));
                }
                let at_keyboard = fds.len();
                if keyboard_open {
                    fds.push(PollFd::new(&stdin, PollFlags::IN));
                }
                let ts = Timespec {
                    tv_sec: timeout.as_secs() as _,
                    tv_nsec: timeout.subsec_nanos() as _,
                };
                match rustix::event::poll(&mut fds, Some(&ts)) {
                    Ok(_) | Err(rustix::io::Errno::INTR) => {}
                    Err(e) => return Err(e.into()),
                }
                keyboard_open && !fds[at_keyboard].revents().is_empty()
            };
            if let Some(master) = &running.pty {
                pty::follow_resize(master);
            }
            if keyboard {
                let mut key = [0u8; 1024];
                match (rustix::io::read(&stdin, &mut key), &running.pty) {
                    (Ok(0), _) => keyboard_open = false,
                    (Ok(n), Some(master)) => pty::write_all(master, &key[..n])?,
                    _ => {}
                }
            }
            reader.read(&running, sink, false)?;
            if quiet.is_none() && dump_open {
                let before = snapshot.len();
                dump_open = drain(&running.dump, &mut |d| snapshot.extend_from_slice(d))?;
                if snapshot.len() > before {
                    snap_quiet_until = Some(Instant::now() + Duration::from_millis(1));
                }
            }
            if let Some(status) = running.try_wait()? {
                break status;
            }
        };
        // what the step wrote before exiting, then the rest of the state
        reader.read(&running, sink, true)?;
        running.release();
        drain(&running.dump, &mut |d| snapshot.extend_from_slice(d))?;
        let elapsed = start.elapsed();
        if let Some(w) = writer {
            let _ = w.join();
        }
        let signal = status.signal();
        let code = if timed_out {
            124
        } else {
            status.code().unwrap_or_else(|| 128 + signal.unwrap_or(0))
        };
        let dump = state::parse_dump(snapshot);
        if let Some(format) = dump.as_ref().and_then(|d| d.format) {
            self.format.set(Some(format));
        }
        Ok(Outcome {
            status: code,
            timed_out,
            signal,
            output_bytes: reader.output_bytes,
            elapsed,
            dump,
            restore_failed: false,
            learned: reader.learned,
        })
    }
}

/// What reading a step's output keeps from one read to the next.
struct Reader {
    /// The secrets known so far, and those the step set as it ran.
    known: Secrets,
    learned: Vec<Vec<u8>>,
    watch_buf: Vec<u8>,
    output_bytes: usize,
    /// stdout and stderr: the stream, its masker, its error-line locator, whether it is open.
    streams: [(Stream, Masker, ErrorLines, bool); 2],
}

impl Reader {
    /// Read what the step's streams hold now: the secret watch first (a value is sent before
    /// the output that prints it), then each stream, its error lines located, masked, to
    /// `sink`. `last`: the step has exited, whatever is held back goes out.
    fn read(
        &mut self,
        running: &Running,
        sink: &mut dyn FnMut(Stream, &[u8]),
        last: bool,
    ) -> io::Result<()> {
        let Reader {
            known,
            learned,
            watch_buf,
            output_bytes,
            streams,
        } = self;
        let mut take_watched = |known: &mut Secrets| -> io::Result<()> {
            if let Some((r, _)) = &running.watch {
                drain(r, &mut |d| watch_buf.extend_from_slice(d))?;
                while let Some(end) = watch_buf.iter().position(|b| *b == 0) {
                    let v: Vec<u8> = watch_buf.drain(..=end).take(end).collect();
                    known.add_bytes(&v);
                    learned.push(v);
                }
            }
            Ok(())
        };
        for (i, (stream, masker, errors, open)) in streams.iter_mut().enumerate() {
            let fd = if i == 0 {
                Some(&running.stdout)
            } else {
                running.stderr.as_ref()
            };
            if let Some(fd) = fd.filter(|_| *open) {
                let mut chunks: Vec<Vec<u8>> = Vec::new();
                *open = drain(fd, &mut |d| chunks.push(d.to_vec()))?;
                for chunk in chunks {
                    *output_bytes += chunk.len();
                    take_watched(known)?;
                    let located = errors.push(&chunk);
                    let out = masker.push(known, &located);
                    if !out.is_empty() {
                        sink(*stream, &out);
                    }
                }
            }
            if last {
                let rest = errors.finish();
                let mut out = masker.push(known, &rest);
                out.extend(masker.finish(known));
                if !out.is_empty() {
                    sink(*stream, &out);
                }
            }
        }
        Ok(())
    }
}

impl Outcome {
    /// A step that did not start: the state it should start with cannot be given to it.
    fn state_lost() -> Outcome {
        Outcome {
            status: state::EXIT_STATE_LOST,
            timed_out: false,
            signal: None,
            output_bytes: 0,
            elapsed: Duration::ZERO,
            dump: None,
            restore_failed: true,
            learned: Vec::new(),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::exec::state::Delta;

    /// Run `cmd` in `shell` with `state`, and take in the state it leaves: (outcome, output,
    /// what changed).
    pub(crate) fn step(
        shell: &Shell,
        state: &mut State,
        secrets: &mut Secrets,
        cmd: &str,
    ) -> (Outcome, Vec<u8>, Delta) {
        let mut out = Vec::new();
        let o = shell
            .run(
                state,
                cmd,
                secrets,
                &Launch::default(),
                &mut |_| {},
                &mut |_, b| out.extend_from_slice(b),
            )
            .unwrap();
        let delta = match &o.dump {
            Some(d) => state.advance(d, &shell.inherited, &shell.secret_names, secrets),
            None => Delta::default(),
        };
        (o, out, delta)
    }

    fn text(b: &[u8]) -> String {
        String::from_utf8_lossy(b).into_owned()
    }

    #[test]
    fn state_carries_between_processes() {
        let shell = Shell::new("bash", &[]);
        let dir = tempfile::tempdir().unwrap();
        let mut state = State::default();
        let mut secrets = Secrets::default();
        let (o, out, delta) = step(
            &shell,
            &mut state,
            &mut secrets,
            &format!(
                "X='a b'\nexport Y=2\nf() {{ echo \"f:$1\"; }}\ncd {}\neval \"$(echo export Z=3)\"\nOS_PASSWORD=s3cret-pw\n",
                dir.path().display()
            ),
        );
        assert_eq!(o.status, 0, "{}", text(&out));
        let public = text(&delta.to_bytes("s"));
        assert!(public.contains("declare -- X=\"a b\""), "{public}");
        assert!(public.contains("f () \n{ \n"), "{public}");
        assert!(!public.contains("s3cret-pw"), "{public}");
        assert!(!public.contains("OS_PASSWORD"), "{public}");
        assert!(!public.contains("__rb"), "{public}");
        assert_eq!(state.secret_names(), ["OS_PASSWORD"]);
        assert_eq!(secrets.mask("s3cret-pw"), "********");
        let (o2, out, delta) = step(
            &shell,
            &mut state,
            &mut secrets,
            "echo \"$X|$Y|$Z|$OS_PASSWORD|$PWD\"; f x; env | grep -c '^Y=2$'\nexit 3",
        );
        assert_eq!(o2.status, 3);
        // the step mentions OS_PASSWORD: its value is watched, and masked as it is printed
        assert_eq!(o2.learned, [b"s3cret-pw".to_vec()]);
        assert_eq!(
            text(&out),
            format!("a b|2|3|********|{}\nf:x\n1\n", dir.path().display())
        );
        assert!(o2.dump.is_some(), "exit still leaves the state");
        assert!(delta.is_empty(), "{delta:?}");
    }

    #[test]
    fn posix_shell_keeps_variables_and_directory() {
        let shell = Shell::new("sh", &[]);
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("it's a\ndir");
        std::fs::create_dir(&sub).unwrap();
        let mut state = State::default();
        let mut secrets = Secrets::default();
        let (o, out, _) = step(
            &shell,
            &mut state,
            &mut secrets,
            &format!(
                "A=\"it's\nnew line\"\nexport B='a\"b\\c$x'\nC=\"q'\\\\\"\ncd {}\n",
                crate::exec::state::tests::single_quoted(sub.as_os_str().as_encoded_bytes())
            ),
        );
        assert!(o.dump.is_some(), "{}", text(&out));
        let (_, out, _) = step(
            &shell,
            &mut state,
            &mut secrets,
            "printf '%s|%s|%s|%s' \"$A\" \"$B\" \"$C\" \"$PWD\"; sh -c 'printf \"|%s\" \"$B\"'",
        );
        assert_eq!(
            text(&out),
            format!("it's\nnew line|a\"b\\c$x|q'\\|{}|a\"b\\c$x", sub.display())
        );
    }

    #[test]
    fn a_directory_that_is_gone_stops_the_step_before_its_command() {
        let shell = Shell::new("bash", &[]);
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("d'ir");
        let mut state = State::default();
        let mut secrets = Secrets::default();
        let (o, out, _) = step(
            &shell,
            &mut state,
            &mut secrets,
            &format!("mkdir {0:?} && cd {0:?}; V=1", gone.display()),
        );
        assert_eq!(o.status, 0, "{}", text(&out));
        std::fs::remove_dir(&gone).unwrap();
        let (o, out, _) = step(&shell, &mut state, &mut secrets, "echo ran; touch marker");
        assert!(o.restore_failed);
        assert_eq!(o.status, state::EXIT_STATE_LOST);
        assert_eq!(text(&out), "");
        assert!(o.dump.is_none());
        assert!(!Path::new("marker").exists());
    }
}
