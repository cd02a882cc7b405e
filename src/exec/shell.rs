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

use super::pty;
use super::secrets::{Masker, Secrets, is_secret_name};
use std::collections::{HashMap, HashSet};
use std::io::{self, IsTerminal, Read, Write};
use std::os::fd::AsRawFd;
use std::os::fd::OwnedFd;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// bash's own variables, which a new shell sets itself (or refuses to have set).
const BASH_SPECIAL: &[&str] = &[
    "BASH",
    "BASH_*",
    "BASHOPTS",
    "BASHPID",
    "COLUMNS",
    "COMP_*",
    "DIRSTACK",
    "EPOCHREALTIME",
    "EPOCHSECONDS",
    "EUID",
    "FUNCNAME",
    "GROUPS",
    "HISTCMD",
    "HOSTNAME",
    "HOSTTYPE",
    "IFS",
    "LINENO",
    "LINES",
    "MACHTYPE",
    "OLDPWD",
    "OPTARG",
    "OPTERR",
    "OPTIND",
    "OSTYPE",
    "PIPESTATUS",
    "PPID",
    "PS4",
    "PWD",
    "RANDOM",
    "SECONDS",
    "SHELLOPTS",
    "SHLVL",
    "SRANDOM",
    "UID",
    "_",
    "__rb_*",
];

/// `target` is where the state goes: a redirection target (`&4`, or a `/proc` path).
///
/// The state is written once: after the command when it ends normally (so a step that sets
/// an EXIT trap of its own keeps it, and it runs), or from runbook's EXIT trap when the
/// command exits early (`exit`, `set -e`).
fn snapshot_trap(bash: bool, target: &str) -> String {
    let dump = if bash {
        // one `declare -p` and one `declare -f`: runbook splits and filters them (a loop over
        // the variables in bash costs more than the step itself)
        r#"    printf '\n#rb-declare\n'
    declare -p
    printf '\n#rb-functions\n'
    declare -f
    printf '\n#rb-cwd\n'
    printf 'cd -- %q\n' "$PWD""#
    } else {
        // POSIX shells: variables (`set` quotes them for re-input), exports and the
        // directory; there is no portable way to list functions
        r#"    printf '\n#rb-set\n'
    set
    printf '\n#rb-exports\n'
    export -p
    printf '\n#rb-cwd\n'
    printf 'cd -- '\''%s'\''\n' "$(printf '%s' "$PWD" | sed "s/'/'\\\\''/g")""#
    };
    format!(
        r#"__rb_state() {{
  [ -n "${{__rb_done:-}}" ] && return
  __rb_done=1
  {{
{dump}
  }} >{target} 2>/dev/null
}}
__rb_snap() {{
  __rb_st=$?
  __rb_state
  exit "$__rb_st"
}}
trap __rb_snap EXIT
"#
    )
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

/// What runs after the command when it ends normally.
const SNAPSHOT_AFTER: &str = "__rb_st=$?\n__rb_state\nexit \"$__rb_st\"\n";

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
    /// The state after the step (None when the process left none, e.g. killed).
    pub state: Option<State>,
    /// Secret values the step set while it ran (see `secret_watch`).
    pub learned: Vec<Vec<u8>>,
}

pub struct Shell {
    pub program: String,
    pub secret_names: Vec<String>,
    /// The environment every step inherits from runbook: exported variables that still
    /// have these values need no restoring (a state of hundreds of variables makes every
    /// step's shell slower to start).
    inherited: HashMap<String, String>,
}

impl Shell {
    pub fn new(program: &str, secret_names: &[String]) -> Shell {
        Shell {
            program: program.to_string(),
            secret_names: secret_names.to_vec(),
            inherited: std::env::vars_os()
                .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                .collect(),
        }
    }

    /// `declare -x NAME="value"` as bash prints it, for an inherited variable.
    fn inherited_declaration(&self, name: &str) -> Option<String> {
        self.inherited.get(name).map(|v| declare_exported(name, v))
    }

    fn is_bash(&self) -> bool {
        std::path::Path::new(&self.program)
            .file_name()
            .is_some_and(|n| n == "bash")
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
        let (restore_r, mut restore_w) = io::pipe()?;
        let (mut snap_r, snap_w) = io::pipe()?;
        let (rfd, wfd) = (restore_r.as_raw_fd(), snap_w.as_raw_fd());
        let mut cmd = Command::new(&self.program);
        if !launch.token.is_empty() {
            cmd.env(STEP_ENV, launch.token);
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
        let via_proc = cfg!(target_os = "linux") && Path::new("/proc/self/fd").is_dir();
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
        let mut child = cmd.spawn()?;
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
        let script = format!(
            "{}{}{watch_script}{}\n{SNAPSHOT_AFTER}",
            state.restore_script(),
            snapshot_trap(self.is_bash(), &target),
            command.trim_end_matches('\n')
        );
        // a pipe holds 64 KiB: a script that fits is written at once, a longer one by a thread
        // (the child reads it only as it runs); the child may exit without reading it all, so a
        // broken pipe is not an error here
        let writer = if script.len() < 60 * 1024 {
            let _ = restore_w.write_all(script.as_bytes());
            drop(restore_w);
            None
        } else {
            Some(std::thread::spawn(move || {
                let _ = restore_w.write_all(script.as_bytes());
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
        let status = loop {
            let mut fds = [
                libc::pollfd {
                    fd: pidfd,
                    events: libc::POLLIN,
                    revents: 0,
                },
                libc::pollfd {
                    fd: snap_r.as_raw_fd(),
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
            drain(&mut snap_r, &mut buf2(), &mut |d| {
                snapshot.extend_from_slice(d)
            })?;
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
        let state = (!snapshot.is_empty()).then(|| self.split(&String::from_utf8_lossy(&snapshot)));
        Ok(Outcome {
            status: code,
            timed_out,
            signal,
            output_bytes,
            elapsed,
            state,
            learned,
        })
    }

    /// Split a snapshot into public and secret parts.
    fn split(&self, snapshot: &str) -> State {
        let mut public = String::new();
        let mut secret = String::new();
        let mut names = Vec::new();
        let mut section = String::new();
        // entries may span lines inside quotes
        let mut entry = String::new();
        let mut seen: HashSet<String> = HashSet::new();
        let bash_snapshot = snapshot.contains("\n#rb-declare\n");
        for line in snapshot.split_inclusive('\n') {
            let bare = line.trim_end_matches('\n');
            if entry.is_empty() && bare.starts_with("#rb-") {
                section = bare.to_string();
                continue;
            }
            match section.as_str() {
                "#rb-set" | "#rb-exports" | "#rb-declare" => {
                    entry.push_str(line);
                    if quote_open(&entry) {
                        continue; // a quoted value goes on
                    }
                    let whole = std::mem::take(&mut entry);
                    let name = declared_name(&whole);
                    if is_posix_special(name) || (section == "#rb-declare" && is_bash_special(name))
                    {
                        continue;
                    }
                    seen.insert(name.to_string());
                    if section == "#rb-declare"
                        && self.inherited_declaration(name).as_deref() == Some(whole.as_str())
                    {
                        continue; // the next step inherits it as it is
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
                "#rb-functions" => {
                    // drop our own functions (traps, the secret watch): header to closing brace
                    if bare.starts_with("__rb_") && bare.trim_end().ends_with(" ()") {
                        section = "#rb-skip-function".into();
                        continue;
                    }
                    public.push_str(line);
                }
                "#rb-skip-function" => {
                    if bare == "}" {
                        section = "#rb-functions".into();
                    }
                }
                _ => public.push_str(line),
            }
        }
        if bash_snapshot {
            // inherited variables the step unset stay unset
            let mut gone: Vec<&String> = self
                .inherited
                .keys()
                .filter(|k| !seen.contains(*k) && !is_bash_special(k))
                .collect();
            gone.sort();
            for name in gone {
                public.push_str(&format!("unset {name}\n"));
            }
        }
        State {
            public,
            secret,
            secret_names: names,
        }
    }
}

/// The variable a `declare -x NAME=...`, `export NAME=...` or `NAME=...` line sets.
fn declared_name(entry: &str) -> &str {
    let mut rest = entry.trim_start();
    for prefix in ["declare ", "typeset ", "export ", "readonly "] {
        if let Some(r) = rest.strip_prefix(prefix) {
            rest = r.trim_start();
            // flags such as -x, -ax, --
            while let Some(r) = rest.strip_prefix('-') {
                rest = r.trim_start_matches(|c: char| c != ' ').trim_start();
            }
            break;
        }
    }
    let end = rest
        .find(|c: char| c == '=' || c.is_whitespace())
        .unwrap_or(rest.len());
    &rest[..end]
}

fn is_bash_special(name: &str) -> bool {
    BASH_SPECIAL.iter().any(|p| match p.strip_suffix('*') {
        Some(prefix) => name.starts_with(prefix),
        None => name == *p,
    })
}

/// `declare -x NAME="value"` as bash's `declare -p` prints it.
pub fn declare_exported(name: &str, value: &str) -> String {
    let mut out = format!("declare -x {name}=\"");
    for c in value.chars() {
        if matches!(c, '"' | '\\' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push_str("\"\n");
    out
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
        || name == STEP_ENV
        || name.is_empty()
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
            .run(
                state,
                cmd,
                &Secrets::default(),
                &Launch::default(),
                &mut |_| {},
                &mut |b| out.extend_from_slice(b),
            )
            .unwrap();
        (o, String::from_utf8(out).unwrap())
    }

    #[test]
    fn state_carries_between_processes() {
        let shell = Shell::new("bash", &[]);
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
        assert!(!state.public.contains("s3cret-pw"), "{}", state.public);
        assert!(state.secret.contains("s3cret-pw"));
        assert_eq!(state.secret_names, ["OS_PASSWORD"]);
        let (o2, out) = run(
            &shell,
            &state,
            "echo \"$X|$Y|$Z|$OS_PASSWORD|$PWD\"; f x; env | grep -c '^Y=2$'\nexit 3",
        );
        assert_eq!(o2.status, 3);
        // the step mentions OS_PASSWORD: its value is watched, and masked as it is printed
        assert_eq!(o2.learned, [b"s3cret-pw".to_vec()]);
        assert_eq!(
            out,
            format!("a b|2|3|********|{}\nf:x\n1\n", dir.path().display())
        );
        assert!(o2.state.is_some(), "exit still leaves a snapshot");
    }

    #[test]
    fn posix_shell_keeps_variables_and_directory() {
        let shell = Shell::new("sh", &[]);
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
