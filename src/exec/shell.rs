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
use std::cell::Cell;
use std::ffi::OsStr;
use std::io::{self, IsTerminal, Read, Write};
use std::os::fd::AsRawFd;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Stdio};
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

enum Drained {
    Open,
    Closed,
}

fn buf2() -> [u8; 16384] {
    [0u8; 16384]
}

/// Read what a non-blocking pipe holds now.
fn drain(
    r: &mut io::PipeReader,
    buf: &mut [u8],
    out: &mut dyn FnMut(&[u8]),
) -> io::Result<Drained> {
    loop {
        match r.read(buf) {
            Ok(0) => return Ok(Drained::Closed),
            Ok(n) => out(&buf[..n]),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(Drained::Open),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        }
    }
}

fn set_nonblocking(r: &io::PipeReader) -> io::Result<()> {
    let fd = r.as_raw_fd();
    // SAFETY: fcntl on an fd we own
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Whether `program` is bash (which carries functions too; other shells are POSIX shells).
pub fn is_bash(program: &str) -> bool {
    Path::new(program).file_name().is_some_and(|n| n == "bash")
}

/// The variable that marks every process of one step's execution (`RUN-ID:STEP-ID:ATTEMPT`):
/// what `stop_leftovers` looks for. It is set afresh for each step, never carried over.
pub const STEP_ENV: &str = "RUNBOOK_STEP";

/// How long a step has after SIGTERM (timeout) before its process group gets SIGKILL.
pub const KILL_GRACE: Duration = Duration::from_secs(5);

/// How a step is started: on a terminal or not, what marks its processes, and how long it
/// may take.
#[derive(Default)]
pub struct Launch<'a> {
    /// Run on a pty of its own, in its own session, with runbook's keyboard relayed to it.
    pub terminal: bool,
    /// Value of `RUNBOOK_STEP` in the step's environment.
    pub token: &'a str,
    pub timeout: Option<Duration>,
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
    pub secret_names: Vec<String>,
    /// The environment every step inherits from runbook: exported variables that still
    /// have these values need no restoring (a state of hundreds of variables makes every
    /// step's shell slower to start).
    pub inherited: Inherited,
    /// How this bash prints variables, learned from the first dump (then not checked again).
    format: Cell<Option<state::Format>>,
    /// Whether the step's shell can open runbook's pipe ends through /proc (Linux).
    via_proc: bool,
}

impl Shell {
    pub fn new(program: &str, secret_names: &[String]) -> Shell {
        Shell {
            program: program.to_string(),
            secret_names: secret_names.to_vec(),
            inherited: Inherited::from_env(),
            format: Cell::new(None),
            via_proc: cfg!(target_os = "linux") && Path::new("/proc/self/fd").is_dir(),
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

    /// Run `command` after restoring `state`. Output (stdout and stderr, in order) goes to
    /// `sink` as it comes, masked; the process's pid (also its process group) is given to
    /// `started`, for signals. See `Launch` for the rest.
    pub fn run(
        &self,
        state: &State,
        command: &str,
        secrets: &Secrets,
        launch: &Launch,
        started: &mut dyn FnMut(u32),
        sink: &mut dyn FnMut(&[u8]),
    ) -> io::Result<Outcome> {
        // the step starts in the directory the state has, or does not start: it would run
        // elsewhere (the directory was removed or renamed)
        let cwd = state.cwd().map(|d| Path::new(OsStr::from_bytes(d)));
        if cwd.is_some_and(|d| d.as_os_str().is_empty() || !d.is_dir()) {
            return Ok(Outcome::state_lost());
        }
        let (restore_r, mut restore_w) = io::pipe()?;
        let (mut snap_r, snap_w) = io::pipe()?;
        let (rfd, wfd) = (restore_r.as_raw_fd(), snap_w.as_raw_fd());
        let mut cmd = Command::new(&self.program);
        if !launch.token.is_empty() {
            cmd.env(STEP_ENV, launch.token);
        }
        if let Some(dir) = cwd {
            // entered by the spawn itself (no `cd` in the script); PWD keeps the path as the
            // shell had it (through symlinks): a shell takes it when it names its directory
            cmd.current_dir(dir).env("PWD", dir);
        }
        // where the step's output comes from: a pipe, or the pty's master side
        let output: OwnedFd;
        let pty = if launch.terminal {
            Some(pty::open()?)
        } else {
            None
        };
        match &pty {
            Some(p) => {
                cmd.stdin(Stdio::from(p.slave.try_clone()?))
                    .stdout(Stdio::from(p.slave.try_clone()?))
                    .stderr(Stdio::from(p.slave.try_clone()?));
                output = p.master.try_clone()?;
            }
            None => {
                let (out_r, out_w) = io::pipe()?;
                // a step in a process group of its own must not read a terminal it does not
                // own (it would be stopped); piped input is passed on
                let stdin = if std::io::stdin().is_terminal() {
                    Stdio::null()
                } else {
                    Stdio::inherit()
                };
                cmd.stdin(stdin)
                    .stdout(Stdio::from(out_w.try_clone()?))
                    .stderr(Stdio::from(out_w))
                    .process_group(0);
                output = OwnedFd::from(out_r);
            }
        }
        // On Linux the step opens runbook's pipe ends through /proc, so no code has to run
        // between fork and exec and (without a pty) the process starts with posix_spawn: a
        // fork of runbook costs more than a trivial step. Elsewhere they go to fds 3 and 4.
        let via_proc = self.via_proc;
        let target = if via_proc {
            let me = std::process::id();
            cmd.arg("-c").arg(format!(". /proc/{me}/fd/{rfd}"));
            format!("/proc/{me}/fd/{wfd}")
        } else {
            cmd.arg("-c").arg(". /dev/fd/3");
            "&4".to_string()
        };
        let with_pty = pty.is_some();
        if with_pty || !via_proc {
            // SAFETY: between fork and exec only async-signal-safe calls (setsid, ioctl,
            // fcntl, dup2)
            unsafe {
                cmd.pre_exec(move || {
                    if with_pty {
                        // a session of its own, with the pty as its controlling terminal
                        if libc::setsid() < 0 || libc::ioctl(0, libc::TIOCSCTTY as _, 0) < 0 {
                            return Err(io::Error::last_os_error());
                        }
                    }
                    if !via_proc {
                        // move both ends out of the way first, so 3 and 4 can't clobber each other
                        let r = libc::fcntl(rfd, libc::F_DUPFD_CLOEXEC, 10);
                        let w = libc::fcntl(wfd, libc::F_DUPFD_CLOEXEC, 10);
                        if r < 0 || w < 0 || libc::dup2(r, 3) < 0 || libc::dup2(w, 4) < 0 {
                            return Err(io::Error::last_os_error());
                        }
                    }
                    Ok(())
                });
            }
        }
        // the secret variables the command mentions are watched while it runs (bash only)
        let watched = if via_proc && self.is_bash() {
            secret_words(command, &self.secret_names)
        } else {
            Vec::new()
        };
        let watch = if watched.is_empty() {
            None
        } else {
            Some(io::pipe()?)
        };
        let start = Instant::now();
        let mut child = match cmd.spawn() {
            Ok(c) => c,
            // the directory could not be entered (permissions), or went just now
            Err(e)
                if cwd.is_some()
                    && (e.kind() == io::ErrorKind::PermissionDenied
                        || cwd.is_some_and(|d| !d.is_dir())) =>
            {
                return Ok(Outcome::state_lost());
            }
            Err(e) => return Err(e),
        };
        drop(cmd); // closes the parent's copies of the child's ends
        let pty = pty.map(|p| p.master); // the slave side now belongs to the step only
        // with /proc the child opens our ends by name: they stay open until it has exited
        let keep_open = via_proc.then_some((restore_r, snap_w));
        started(child.id());
        let (mut watch_r, watch_w) = match watch {
            Some((r, w)) => (Some(r), Some(w)),
            None => (None, None),
        };
        let watch_script = watch_w
            .as_ref()
            .map(|w| {
                let target = format!("/proc/{}/fd/{}", std::process::id(), w.as_raw_fd());
                secret_watch(&watched, &target)
            })
            .unwrap_or_default();
        let bash = self.is_bash();
        let dump = state::dump_code(bash, &target, !watch_script.is_empty(), self.format.get());
        let mut script = state.restore_script(&self.inherited, bash);
        script.extend_from_slice(exit_trap(&dump, bash).as_bytes());
        script.extend_from_slice(watch_script.as_bytes());
        script.extend_from_slice(command.trim_end_matches('\n').as_bytes());
        script.push(b'\n');
        script.extend_from_slice(after_command(&dump, bash).as_bytes());
        // a pipe holds 64 KiB: a script that fits is written at once, a longer one by a thread
        // (the child reads it only as it runs); the child may exit without reading it all, so a
        // broken pipe is not an error here
        let writer = if script.len() < 60 * 1024 {
            let _ = restore_w.write_all(&script);
            drop(restore_w);
            None
        } else {
            Some(std::thread::spawn(move || {
                let _ = restore_w.write_all(&script);
            }))
        };
        // the keyboard goes to the step while it runs on its pty
        let _raw = pty.as_ref().and_then(|_| pty::RawMode::enter());
        if pty.is_some() {
            pty::watch_resize();
        }
        // one loop reads the output and the snapshot as they come, and ends when the step's
        // process has exited (not when its output closes: a background process it started
        // may keep that open)
        pty::set_nonblocking(&output)?;
        set_nonblocking(&snap_r)?;
        if let Some(r) = &watch_r {
            set_nonblocking(r)?;
        }
        // secrets known so far, and those the step sets as it runs
        let known = std::cell::RefCell::new(secrets.clone());
        let mut learned: Vec<Vec<u8>> = Vec::new();
        let mut watch_buf: Vec<u8> = Vec::new();
        // values the watch sent (NUL-terminated) become secrets before any output is read
        let mut take_watched = |watch_r: &mut Option<io::PipeReader>| -> io::Result<()> {
            if let Some(r) = watch_r.as_mut() {
                drain(r, &mut buf2(), &mut |d| watch_buf.extend_from_slice(d))?;
                while let Some(end) = watch_buf.iter().position(|b| *b == 0) {
                    let v: Vec<u8> = watch_buf.drain(..=end).take(end).collect();
                    known.borrow_mut().add_bytes(&v);
                    learned.push(v);
                }
            }
            Ok(())
        };
        let mut output_bytes = 0;
        let mut snapshot = Vec::new();
        let mut buf = [0u8; 16384];
        // hold back the tail that could be the start of a secret cut by the read
        let mut pending = Masker::default();
        let mut emit = |data: &[u8], pending: &mut Masker, last: bool| {
            let secrets = known.borrow();
            let mut out = pending.push(&secrets, data);
            if last {
                out.extend(pending.finish(&secrets));
            }
            if !out.is_empty() {
                sink(&out);
            }
        };
        let mut out_open = true;
        let mut keyboard_open = pty.is_some();
        // the process's exit wakes the loop up (Linux pidfd); elsewhere a short timeout does
        // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1
        let pidfd =
            unsafe { libc::syscall(libc::SYS_pidfd_open, child.id() as libc::pid_t, 0) } as i32;
        let group = child.id() as libc::pid_t;
        // past the timeout: SIGTERM to the step's group, then SIGKILL after the grace period
        let mut timed_out = false;
        let mut killed = false;
        let mut read_output = |out_open: &mut bool,
                               output_bytes: &mut usize,
                               pending: &mut Masker|
         -> io::Result<()> {
            while *out_open {
                match pty::read_now(&output, &mut buf)? {
                    None => *out_open = false,
                    Some(0) => break,
                    Some(n) => {
                        *output_bytes += n;
                        // a secret the step set was sent before the output that prints it:
                        // read after that output, the watch has it
                        take_watched(&mut watch_r)?;
                        emit(&buf[..n], pending, false);
                    }
                }
            }
            Ok(())
        };
        // bash writes the state a line at a time: once some has come, the pipe is left out of
        // poll for a moment, so that the rest comes in a few reads rather than one wakeup per
        // line (the pipe holds 64 KiB: bash waits at most that moment when it is full)
        let mut snap_quiet_until: Option<Instant> = None;
        let status = loop {
            let quiet = snap_quiet_until.and_then(|t| t.checked_duration_since(Instant::now()));
            let mut fds = [
                libc::pollfd {
                    fd: pidfd,
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: if quiet.is_some() {
                        -1
                    } else {
                        snap_r.as_raw_fd()
                    },
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: if out_open { output.as_raw_fd() } else { -1 },
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: if keyboard_open {
                        libc::STDIN_FILENO
                    } else {
                        -1
                    },
                    events: libc::POLLIN,
                    revents: 0,
                },
            ];
            let mut timeout = if pidfd >= 0 { 1000 } else { 20 };
            if let Some(q) = quiet {
                timeout = timeout.min(q.as_millis() as i32 + 1);
            }
            if let Some(limit) = launch.timeout {
                let elapsed = start.elapsed();
                if !timed_out && elapsed >= limit {
                    timed_out = true;
                    // SAFETY: kill(2) on the step's own process group
                    unsafe { libc::kill(-group, libc::SIGTERM) };
                } else if timed_out && !killed && elapsed >= limit + KILL_GRACE {
                    killed = true;
                    // SAFETY: as above
                    unsafe { libc::kill(-group, libc::SIGKILL) };
                }
                let next = if timed_out { limit + KILL_GRACE } else { limit };
                let left = next.saturating_sub(elapsed).as_millis() as i32;
                if !killed {
                    timeout = timeout.min(left.max(1));
                }
            }
            // SAFETY: fds is a valid array of pollfd for the duration of the call (negative
            // fds are ignored by poll)
            unsafe {
                libc::poll(fds.as_mut_ptr(), fds.len() as libc::nfds_t, timeout);
            }
            if let Some(master) = &pty {
                pty::follow_resize(master);
            }
            if keyboard_open && fds[3].revents != 0 {
                let mut key = [0u8; 1024];
                // SAFETY: key is valid for its length
                let n =
                    unsafe { libc::read(libc::STDIN_FILENO, key.as_mut_ptr().cast(), key.len()) };
                match (n, &pty) {
                    (n, Some(master)) if n > 0 => pty::write_all(master, &key[..n as usize])?,
                    (0, _) => keyboard_open = false,
                    _ => {}
                }
            }
            read_output(&mut out_open, &mut output_bytes, &mut pending)?;
            if quiet.is_none() {
                let before = snapshot.len();
                drain(&mut snap_r, &mut buf2(), &mut |d| {
                    snapshot.extend_from_slice(d)
                })?;
                if snapshot.len() > before {
                    snap_quiet_until = Some(Instant::now() + Duration::from_millis(1));
                }
            }
            if let Some(status) = child.try_wait()? {
                break status;
            }
        };
        // what the step wrote before exiting, then the rest of the snapshot
        read_output(&mut out_open, &mut output_bytes, &mut pending)?;
        if pidfd >= 0 {
            // SAFETY: closing the fd pidfd_open gave us
            unsafe {
                libc::close(pidfd);
            }
        }
        drop(keep_open);
        drop(watch_w);
        drain(&mut snap_r, &mut buf2(), &mut |d| {
            snapshot.extend_from_slice(d)
        })?;
        emit(&[], &mut pending, true);
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
            output_bytes,
            elapsed,
            dump,
            restore_failed: false,
            learned,
        })
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

/// Stop every process still marked with a step's `token` (a step that was interrupted,
/// timed out, or ran on when runbook was killed), whatever process group or session it moved
/// to: SIGTERM, then SIGKILL for those still there after `grace`. Returns how many there were.
pub fn stop_leftovers(token: &str, grace: Duration) -> usize {
    let marked = || marked_processes(token);
    let first = marked();
    for pid in &first {
        // SAFETY: kill(2) on a process that carries this step's marker
        unsafe { libc::kill(*pid, libc::SIGTERM) };
    }
    let until = Instant::now() + grace;
    loop {
        let left = marked();
        if left.is_empty() {
            break;
        }
        if Instant::now() >= until {
            for pid in left {
                // SAFETY: as above
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    first.len()
}

/// Live processes (not zombies) whose environment holds `RUNBOOK_STEP=token`.
fn marked_processes(token: &str) -> Vec<libc::pid_t> {
    let needle = format!("{STEP_ENV}={token}");
    let me = std::process::id() as libc::pid_t;
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<libc::pid_t>().ok())
        .filter(|pid| *pid != me)
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // the state follows the command name in parentheses
            let state = stat.rsplit_once(')').map(|(_, r)| r.trim_start());
            !matches!(state.and_then(|s| s.chars().next()), Some('Z' | 'X') | None)
        })
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .map(|env| env.split(|b| *b == 0).any(|v| v == needle.as_bytes()))
                .unwrap_or(false)
        })
        .collect()
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
                &mut |b| out.extend_from_slice(b),
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
