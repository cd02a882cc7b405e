//! Steps on another host, over OpenSSH (the system `ssh`: the operator's `~/.ssh/config`,
//! agent, `ProxyJump` and GSSAPI work as in their own sessions).
//!
//! One master connection per host for the whole run (`ControlMaster`, its socket in a
//! private local folder of a short path: a Unix socket path longer than about 100 bytes
//! is refused), and a private remote folder (`mktemp -d`, mode 0700) for the steps' FIFOs.
//! Each step then runs in sessions over the master, which cost no new handshake:
//!
//! - the step itself: `ssh -T` on pipes, or `ssh -tt` on a local pty when the step gets a
//!   terminal (the keyboard, window sizes and Ctrl-C reach the remote pty). Its remote
//!   command is a short `sh` wrapper holding nothing of the step: it makes the state FIFO
//!   and holds it open for writing (so its reader is connected before the step starts and
//!   sees the end only when it has exited), removes its name, then reads the rest of itself,
//!   the *header*, as one line from the script's channel (its stdin, or on a terminal a
//!   FIFO of its own) and runs it: the secret watch's FIFO held open likewise, the state's
//!   directory, the step's variables with its `RUNBOOK_STEP` marker, and a login bash
//!   (`/etc/profile`, then `~/.bash_profile` or `~/.profile`, as the operator's own `ssh
//!   HOST` session has them) that sources the script following the header on that channel.
//!   The step's shell writes its state, and the watched values, to its parent's fds
//!   (`/proc/$PPID/fd/4` and `5`);
//! - the state dump's reader (`cat FIFO`), the secret watch's reader when one is wanted, and
//!   on a terminal the script's writer (`cat > FIFO`, fed from runbook's pipe).
//!
//! Opening a session costs about 15 ms (ssh's start, the master's round trip, sshd's fork of
//! a shell), twice a step: so a step on pipes takes *spares* opened ahead, [`SPARES`] of them,
//! each a step's session waiting for its header and its state's reader (see [`Spare`]); the
//! first when the connection is up, the next as soon as one is taken, so they connect while
//! the steps before run. A terminal step opens its own, as a step wanting a secret watch
//! opens that reader. `bench/remote.sh` measures the cost of a step over the connection.
//!
//! Values travel only in these sessions: nothing the step knows is on a command line or in
//! a file on the remote host (FIFOs hold nothing on disk). ssh joins its arguments with
//! spaces for the remote shell: every path in a remote command is quoted for it, and every
//! value in a header. ssh's own failures exit 255, as a step may: a step's 255 is its own
//! only while the master still stands; otherwise the connection was lost, and the step's
//! end is unknown (a spare found gone is replaced before a step is given to it, so that a
//! lost connection shows so).

use super::transport::{Attached, Control, Running, Spawn, Transport, attach, before_exec};
use crate::shell::shell_quote;
use rustix::process::{Pid, Signal};
use std::collections::VecDeque;
use std::ffi::OsString;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// How many steps' sessions are opened ahead: a step shorter than opening a spare (from the
/// ssh client to the remote wrapper waiting) would otherwise wait for the rest of its
/// spare's (2 ahead: 17 ms a step more than locally; 3: 11 ms). Each holds two sessions of
/// the master, whose host allows 10 at once by default (sshd's `MaxSessions`): a step on
/// pipes has its own two and its secret watch's, 9 in all; a step on a terminal opens three
/// or four of its own, so one spare is let go first. A spare the host refuses (a lower
/// `MaxSessions`) is found gone and replaced when wanted: a run only slows.
const SPARES: usize = 3;

/// How long connecting may take before the host counts as unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// A connection to one host: the transport of its steps.
pub struct Ssh {
    conn: std::sync::Arc<Conn>,
}

/// The master connection and the two private folders.
struct Conn {
    /// What the operator named (`aiadm`, `user@host`), for messages.
    name: String,
    /// ssh's options for this host and its destination, last.
    args: Vec<String>,
    /// The local private folder of the master's socket.
    local_dir: PathBuf,
    /// The remote private folder of the steps' FIFOs.
    remote_dir: String,
    /// ssh can ask for a password or a key's passphrase on the operator's terminal.
    interactive: bool,
    /// FIFOs made so far (each gets a name of its own).
    seq: AtomicU64,
    /// A step has started on this connection: the operator has "logged in" (see
    /// [`header`]).
    logged_in: AtomicBool,
    /// How many more steps may start (the step starting included), as the run said (see
    /// [`Transport::steps_ahead`]); no more spares than that are opened, since each costs
    /// the host CPU time (a fleet's hosts share the operator's machine).
    ahead: AtomicUsize,
    /// The next steps' sessions, being opened ahead (or open), the oldest first.
    spares: Mutex<VecDeque<Opening>>,
}

/// Why a host could not be reached: ssh's own words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreachable {
    pub host: String,
    pub reason: String,
}

impl std::fmt::Display for Unreachable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot reach {}: {}", self.host, self.reason)
    }
}

impl Ssh {
    /// Connect: start the master (ssh authenticates, then goes to the background), then make
    /// the remote folder. `args` are ssh's options with the destination last.
    pub fn connect(name: &str, args: Vec<String>, interactive: bool) -> Result<Ssh, Unreachable> {
        let fail = |reason: String| Unreachable {
            host: name.to_string(),
            reason,
        };
        let local_dir = private_dir().map_err(|e| fail(format!("a local folder: {e}")))?;
        let mut ssh = Conn {
            name: name.to_string(),
            args,
            local_dir,
            remote_dir: String::new(),
            interactive,
            seq: AtomicU64::new(0),
            logged_in: AtomicBool::new(false),
            ahead: AtomicUsize::new(usize::MAX),
            spares: Mutex::new(VecDeque::new()),
        };
        let log = ssh.local_dir.join("master.log");
        let mut master = Command::new("ssh");
        master
            // a master left behind by a runbook killed with -9 goes after 30 idle minutes; a
            // longer pause between steps costs the next one a handshake of its own
            .args(["-o", "ControlMaster=yes", "-o", "ControlPersist=30m"])
            .args(ssh.common())
            .args(["-f", "-N"])
            .args(&ssh.args)
            .stdin(if interactive {
                Stdio::inherit()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::null())
            // the master keeps what it was given open in the background: a file, not a pipe
            // whose end would never come
            .stderr(
                std::fs::File::create(&log)
                    .map(Stdio::from)
                    .map_err(|e| fail(format!("{}: {e}", log.display())))?,
            );
        let status = wait_bounded(
            master.spawn().map_err(|e| fail(format!("ssh: {e}")))?,
            CONNECT_TIMEOUT + Duration::from_secs(5),
        );
        let said = std::fs::read_to_string(&log).unwrap_or_default();
        if status.is_none_or(|s| !s.success()) {
            return Err(fail(ssh_reason(&said, status)));
        }
        let out = ssh
            .command(r#"umask 077 && mktemp -d "${TMPDIR:-/tmp}/runbook.XXXXXXXX""#)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| fail(format!("ssh: {e}")))?;
        let dir = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if !out.status.success() || !dir.starts_with('/') || dir.contains(['\n', '\'']) {
            return Err(fail(format!(
                "could not make a private folder there ({})",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        ssh.remote_dir = dir;
        Ok(Ssh {
            conn: std::sync::Arc::new(ssh),
        })
    }

    /// The host as the operator named it.
    pub fn name(&self) -> &str {
        &self.conn.name
    }
}

impl Conn {
    /// Whether the step now starting is the connection's first (it logs in).
    fn first_step(&self) -> bool {
        !self.logged_in.swap(true, Ordering::SeqCst)
    }

    /// Options every ssh of this connection takes: the master's socket, and never a prompt
    /// that cannot be shown.
    fn common(&self) -> Vec<OsString> {
        let mut o: Vec<OsString> = Vec::new();
        let mut opt = |s: String| {
            o.push("-o".into());
            o.push(s.into());
        };
        // %C: a hash of the connection, so the path stays short whatever the host's name
        opt(format!("ControlPath={}/%C", self.local_dir.display()));
        opt(format!("ConnectTimeout={}", CONNECT_TIMEOUT.as_secs()));
        opt("ServerAliveInterval=15".into());
        // errors only: not "Shared connection to HOST closed." at the end of each terminal step
        opt("LogLevel=ERROR".into());
        if !self.interactive {
            opt("BatchMode=yes".into());
        }
        o
    }

    /// `ssh` over the master running `remote` (one line of `sh`, quoted for the remote shell
    /// by the caller).
    fn command(&self, remote: &str) -> Command {
        let mut c = Command::new("ssh");
        c.args(["-o", "ControlMaster=no"])
            .args(self.common())
            .arg("-T")
            .args(&self.args)
            .arg(remote);
        c
    }

    /// A step's session: `ssh -T`, or `ssh -tt` for a terminal, running the `sh` `wrapper`
    /// (which the remote login shell gets as one quoted argument).
    fn session(&self, terminal: bool, wrapper: &str) -> Command {
        let mut c = Command::new("ssh");
        c.args(["-o", "ControlMaster=no"])
            .args(self.common())
            .arg(if terminal { "-tt" } else { "-T" })
            .args(&self.args)
            .arg(format!("exec /bin/sh -c {}", shell_quote(wrapper)));
        c
    }

    /// A new FIFO's path in the remote folder: `{kind}.{n}`.
    fn fifo_path(&self, kind: &str) -> String {
        let n = self.seq.fetch_add(1, Ordering::Relaxed) + 1;
        format!("{}/{kind}.{n}", self.remote_dir)
    }

    /// The secret watch's reader session (kept among the step's `helpers`): what it reads,
    /// and its FIFO's path. Opened for the step that wants it (rare: a step that mentions a
    /// secret variable); none for the others.
    fn watch_reader(
        &self,
        spec: &Spawn,
        helpers: &mut Helpers,
    ) -> io::Result<Option<(io::PipeReader, String)>> {
        if !spec.watch {
            return Ok(None);
        }
        let wf = self.fifo_path("w");
        let mut r = self.fifo_session(&wf, false)?;
        let fd = OwnedFd::from(r.stdout.take().expect("piped"));
        helpers.0.push(r);
        Ok(Some((io::PipeReader::from(fd), wf)))
    }

    /// What a step's wrapper reads first ([`header`]): this connection's first step is its
    /// login shell.
    fn header(&self, spec: &Spawn, watch: &Option<(io::PipeReader, String)>) -> String {
        header(
            spec,
            watch.as_ref().map(|w| w.1.as_str()),
            self.first_step(),
        )
    }

    /// The oldest spare whose sessions are both still there; otherwise (they went, or could
    /// not be opened) a new one, whose failure is then the step's: a lost connection shows
    /// as without spares, its ssh exiting 255 with the master gone.
    fn take_spare(&self) -> io::Result<Spare> {
        loop {
            let oldest = self
                .spares
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .pop_front();
            let Some(opening) = oldest else { break };
            if let Ok(mut s) = opening.join() {
                if s.alive() {
                    return Ok(s);
                }
                s.retire(Instant::now() + Duration::from_millis(500));
            }
        }
        Opening::start(self).join()
    }

    /// Start opening spares up to [`SPARES`], and no more than the steps after the one
    /// starting (`after_this`: whether one is starting).
    fn refill(&self, after_this: bool) {
        let ahead = self
            .ahead
            .load(Ordering::SeqCst)
            .saturating_sub(usize::from(after_this));
        let mut spares = self.spares.lock().unwrap_or_else(|e| e.into_inner());
        while spares.len() < SPARES.min(ahead) {
            spares.push_back(Opening::start(self));
        }
    }

    /// Let the spares go (at the end of the run).
    fn retire_spares(&self) {
        self.keep_spares(0);
    }

    /// Let go of the spares beyond the first `keep` (the newest go first).
    fn keep_spares(&self, keep: usize) {
        let spares: Vec<Opening> = {
            let mut all = self.spares.lock().unwrap_or_else(|e| e.into_inner());
            let n = all.len().saturating_sub(keep);
            (0..n).filter_map(|_| all.pop_back()).collect()
        };
        let opened: Vec<Spare> = spares.into_iter().filter_map(|o| o.join().ok()).collect();
        // their stdins closed first, so that they all end at once
        let until = Instant::now() + Duration::from_secs(2);
        let ending: Vec<(Child, Child)> = opened.into_iter().map(Spare::let_go).collect();
        for (mut step, mut reader) in ending {
            wait_until(&mut step, until);
            wait_until(&mut reader, until);
        }
    }

    /// The [`Running`] of a step whose session `child` has started.
    #[allow(clippy::too_many_arguments)]
    fn running(
        self: &std::sync::Arc<Self>,
        spec: &Spawn,
        child: Child,
        script: io::PipeWriter,
        io: Attached,
        dump: io::PipeReader,
        watch: Option<(io::PipeReader, String)>,
        helpers: Helpers,
    ) -> Running {
        let pid = child.id();
        let pidfd = Pid::from_raw(pid as i32).and_then(|p| {
            rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty()).ok()
        });
        let token = spec
            .env
            .iter()
            .find(|(k, _)| *k == super::transport::STEP_ENV)
            .map(|(_, v)| v.to_string_lossy().into_owned())
            .unwrap_or_default();
        Running {
            pid,
            script: Some(script),
            script_name: "/dev/fd/3".to_string(),
            stdout: io.stdout,
            stderr: io.stderr,
            dump,
            dump_target: DUMP_TARGET.to_string(),
            watch: watch.map(|(r, _)| (r, WATCH_TARGET.to_string())),
            pty: io.pty,
            control: Box::new(SshControl {
                ssh: self.clone(),
                child,
                pidfd,
                helpers,
                token,
            }),
        }
    }

    /// Let the spare go, remove both private folders, and close the master.
    fn close(&mut self) {
        self.retire_spares();
        if !self.remote_dir.is_empty() {
            // a FIFO's open blocks until its other side comes: one that never will (its
            // session went before it was there) is let through before the folder goes
            let dir = shell_quote(&self.remote_dir);
            let rm =
                format!("for f in {dir}/*; do [ -p \"$f\" ] && : <>\"$f\"; done; rm -rf {dir}");
            let _ = self
                .command(&rm)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .map(|c| wait_bounded(c, Duration::from_secs(10)));
            self.remote_dir.clear();
        }
        let _ = Command::new("ssh")
            .args(self.common())
            .args(["-O", "exit"])
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map(|c| wait_bounded(c, Duration::from_secs(10)));
        let _ = std::fs::remove_dir_all(&self.local_dir);
    }

    /// Whether the master connection still stands.
    fn alive(&self) -> bool {
        Command::new("ssh")
            .args(self.common())
            .args(["-O", "check"])
            .args(&self.args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .ok()
            .and_then(|c| wait_bounded(c, Duration::from_secs(10)))
            .is_some_and(|s| s.success())
    }

    /// A helper session reading or writing one FIFO (made if it is not there yet).
    fn fifo_session(&self, fifo: &str, write: bool) -> io::Result<Child> {
        self.fifo_command(fifo, write).spawn()
    }

    /// The command of [`Conn::fifo_session`].
    fn fifo_command(&self, fifo: &str, write: bool) -> Command {
        let q = shell_quote(fifo);
        let open = if write {
            format!("exec cat > {q}")
        } else {
            format!("exec cat {q}")
        };
        let remote = format!("mkfifo {q} 2>/dev/null; [ -p {q} ] || exit 97; {open}",);
        let mut c = self.command(&remote);
        c.stdin(if write { Stdio::piped() } else { Stdio::null() })
            .stdout(if write { Stdio::null() } else { Stdio::piped() })
            .stderr(Stdio::null())
            // not stopped by a Ctrl-C on runbook's terminal: the step's end reaches it
            .process_group(0);
        c
    }

    /// Signal every remote process marked with `token`; with `grace`, SIGTERM first, then
    /// SIGKILL for those still there after it. Returns how many there were (None: the host
    /// did not answer).
    fn signal_marked(&self, token: &str, sig: Signal, grace: Option<Duration>) -> Option<usize> {
        let needle = shell_quote(&format!("{}={token}", super::transport::STEP_ENV));
        let signame = signal_name(sig);
        // the processes whose environment holds the step's marker (Linux's /proc)
        let scan = format!(
            "m() {{ for p in /proc/[0-9]*; do tr '\\0' '\\n' 2>/dev/null < \"$p/environ\" | grep -qxF {needle} && echo \"${{p#/proc/}}\"; done; }}"
        );
        let remote = match grace {
            None => format!(
                "{scan}; n=0; for p in $(m); do kill -{signame} \"$p\" 2>/dev/null && n=$((n+1)); done; echo $n"
            ),
            Some(g) => format!(
                "{scan}; n=0; for p in $(m); do kill -TERM \"$p\" 2>/dev/null && n=$((n+1)); done; i=0; while [ $i -lt {} ] && [ -n \"$(m)\" ]; do sleep 1; i=$((i+1)); done; for p in $(m); do kill -KILL \"$p\" 2>/dev/null; done; echo $n",
                g.as_secs().max(1)
            ),
        };
        let out = self.command(&remote).stdin(Stdio::null()).output().ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    }
}

impl Drop for Conn {
    fn drop(&mut self) {
        self.close();
    }
}

impl Transport for Ssh {
    fn spawn(&self, spec: &Spawn) -> io::Result<Running> {
        if spec.terminal {
            return self.spawn_on_terminal(spec);
        }
        let conn = &self.conn;
        // the watch's reader first: the wrapper waits for it before the step starts
        let mut helpers = Helpers(Vec::new());
        let watch = conn.watch_reader(spec, &mut helpers)?;
        let spare = conn.take_spare()?;
        helpers.0.push(spare.reader);
        let mut stdin = spare.stdin;
        // a session that has gone says so by its exit status (255, the master gone)
        let _ = stdin.write_all(conn.header(spec, &watch).as_bytes());
        // the next steps' sessions connect while this one runs
        conn.refill(true);
        let io = Attached {
            stdout: spare.stdout,
            stderr: Some(spare.stderr),
            pty: None,
        };
        Ok(conn.running(spec, spare.step, stdin, io, spare.dump, watch, helpers))
    }

    fn runs_here(&self) -> bool {
        false
    }

    fn steps_ahead(&self, n: usize) {
        self.conn.ahead.store(n, Ordering::SeqCst);
        // their sessions connect while runbook gets ready to run the first
        self.conn.refill(false);
    }

    fn stop_leftovers(&self, token: &str, grace: Duration) -> usize {
        self.conn
            .signal_marked(token, Signal::TERM, Some(grace))
            .unwrap_or(0)
    }
}

impl Ssh {
    /// A step on a terminal: `ssh -tt` on a local pty (its stdin is the keyboard), so its
    /// header and script come through a FIFO of their own, written by one more session; no
    /// spare is opened ahead for it (they are rare, and wait for the operator anyway).
    fn spawn_on_terminal(&self, spec: &Spawn) -> io::Result<Running> {
        let conn = &self.conn;
        // a terminal step opens three or four sessions of its own: with the spares' two
        // each, they stay within sshd's default 10
        conn.keep_spares(SPARES - 1);
        let script = conn.fifo_path("s");
        let dump = conn.fifo_path("d");
        // the readers first: the wrapper waits for them before the step starts; if the step
        // cannot be started, they are stopped (they would wait for it forever)
        let mut helpers = Helpers(Vec::new());
        let mut dump_reader = conn.fifo_session(&dump, false)?;
        let dump_r = io::PipeReader::from(OwnedFd::from(dump_reader.stdout.take().expect("piped")));
        helpers.0.push(dump_reader);
        let watch = conn.watch_reader(spec, &mut helpers)?;
        let wrapper = format!(
            "{WRAPPER_START}d={}; s={}; for f in \"$s\" \"$d\"; do mkfifo \"$f\" 2>/dev/null; [ -p \"$f\" ] || exit 97; done; exec 4>\"$d\" 3<\"$s\"; rm -f \"$d\" \"$s\"; {READ_HEADER}",
            shell_quote(&dump),
            shell_quote(&script)
        );
        let mut cmd = conn.session(true, &wrapper);
        let io = attach(&mut cmd, true)?;
        let mut writer = conn.fifo_session(&script, true)?;
        let mut script_w = io::PipeWriter::from(OwnedFd::from(writer.stdin.take().expect("piped")));
        helpers.0.push(writer);
        before_exec(&mut cmd, io.pty.is_some(), None);
        let child = cmd.spawn()?;
        drop(cmd);
        let _ = script_w.write_all(conn.header(spec, &watch).as_bytes());
        Ok(conn.running(spec, child, script_w, io, dump_r, watch, helpers))
    }
}

/// How every step's wrapper starts: `$nl` is a newline, for values that hold one in the
/// header's single line.
const WRAPPER_START: &str = "nl='\n'; ";

/// How a step's wrapper reads the rest of itself from fd 3 (its script's channel): one line,
/// run with `eval` (`read` takes a byte at a time from a pipe: what follows the line is the
/// script). Without a header (runbook let the spare go) it ends there.
const READ_HEADER: &str = r#"IFS= read -r h <&3 || exit 0; eval "$h""#;

/// Where the step's shell writes its state: the wrapper's fd 4 (its parent's), the dump
/// FIFO, open for writing since before the step (the FIFO's name is gone by then).
const DUMP_TARGET: &str = "/proc/$PPID/fd/4";

/// Where it sends the secret watch's values: the wrapper's fd 5.
const WATCH_TARGET: &str = "/proc/$PPID/fd/5";

/// A value quoted for the remote shell on the header's single line.
fn quote_line(value: &str) -> String {
    shell_quote(value).replace('\n', "'\"$nl\"'")
}

/// The rest of a step's wrapper, sent ahead of its script on the script's own channel (never
/// on a command line: it holds the step's directory and variables), as one line: the watch
/// FIFO held open for writing (which waits for its reader) and removed, the directory, the
/// variables (the step's marker among them), then the shell sourcing the script from fd 3;
/// the step's status is the wrapper's.
///
/// The connection's first step runs in a login shell (`-l`: `/etc/profile`, then
/// `~/.bash_profile`, `~/.bash_login` or `~/.profile`), as the operator's `ssh HOST` logs in
/// once; what it sets (PATH, exported variables, functions) is the state the next steps get,
/// each in a plain shell, as the commands typed after logging in: the profile runs once (a
/// banner it prints is seen once), and a step costs no login.
fn header(spec: &Spawn, watch: Option<&str>, login: bool) -> String {
    let q = |s: &str| quote_line(s);
    let mut h = String::new();
    if let Some(wf) = watch {
        h.push_str(&format!(
            "mkfifo {0} 2>/dev/null; [ -p {0} ] || exit 97; exec 5>{0}; rm -f {0}; ",
            q(wf)
        ));
    }
    if let Some(dir) = spec.dir {
        let dir = dir.to_string_lossy();
        h.push_str(&format!(
            "cd -- {0} || exit {1}; PWD={0}; export PWD; ",
            q(&dir),
            super::state::EXIT_STATE_LOST
        ));
    }
    for (k, v) in spec.env {
        if *k != "PWD" {
            h.push_str(&format!("{k}={}; export {k}; ", q(&v.to_string_lossy())));
        }
    }
    let shell = format!(
        "exec {}{} -c '. /dev/fd/3' 4>&- 5>&-",
        q(spec.program),
        if login { " -l" } else { "" }
    );
    if spec.terminal {
        // fd 3 is a FIFO there, which the shell's `. /dev/fd/3` would open anew: that open
        // waits for a writer, and the script's may be gone by then; a pipe's does not wait
        h.push_str(&format!(
            "exec 7<&0; cat <&3 4>&- 5>&- 7<&- | {shell} 3<&0 <&7 7<&-; "
        ));
    } else {
        // in a subshell of its own: `sh` would move its own fds 4 and 5 out of the way
        // while the shell runs, and the shell's state goes to its parent's fd 4
        h.push_str(&format!("({shell}); "));
    }
    h.push_str("st=$?; exec 3<&- 4>&- 5>&- 7<&-; exit $st\n");
    h
}

/// A step's sessions opened before the step is known, so that their setup is off its
/// critical path. Its remote wrapper makes its state FIFO and holds it open for writing
/// (which waits for the reader, so the reader is connected before any step is given to
/// it), removes the FIFO's name, then waits for the header on its stdin. A spare let go
/// (its stdin closed) ends by itself: the wrapper reads no header and exits, and its reader
/// sees the FIFO's end.
struct Spare {
    /// The step's session; runbook's end of its stdin, which brings the header, then the
    /// script (the wrapper moves it to fd 3: the step reads /dev/null); its output.
    step: Child,
    stdin: io::PipeWriter,
    stdout: OwnedFd,
    stderr: OwnedFd,
    /// The state dump's reader session, and what it reads.
    reader: Child,
    dump: io::PipeReader,
}

/// A spare being opened: spawning its two ssh processes takes a few milliseconds (more on a
/// busy machine), which would hold back the script of the step just started; a thread of
/// its own does it.
struct Opening(std::thread::JoinHandle<io::Result<Spare>>);

impl Opening {
    fn start(conn: &Conn) -> Opening {
        let fifo = conn.fifo_path("d");
        let reader = conn.fifo_command(&fifo, false);
        let wrapper = format!(
            "{WRAPPER_START}d={}; mkfifo \"$d\" 2>/dev/null; [ -p \"$d\" ] || exit 97; exec 4>\"$d\" 3<&0 </dev/null; rm -f \"$d\"; {READ_HEADER}",
            shell_quote(&fifo)
        );
        let step = conn.session(false, &wrapper);
        Opening(std::thread::spawn(move || Spare::spawn(reader, step)))
    }

    fn join(self) -> io::Result<Spare> {
        self.0
            .join()
            .unwrap_or_else(|_| Err(io::Error::other("a spare session's thread panicked")))
    }
}

impl Spare {
    fn spawn(mut reader: Command, mut cmd: Command) -> io::Result<Spare> {
        let mut reader = reader.spawn()?;
        let dump = io::PipeReader::from(OwnedFd::from(reader.stdout.take().expect("piped")));
        // stopped if the step's session cannot be started
        let mut pending = Helpers(vec![reader]);
        let io = attach(&mut cmd, false)?;
        let (stdin_r, stdin) = io::pipe()?;
        cmd.stdin(Stdio::from(stdin_r));
        let step = cmd.spawn()?;
        drop(cmd);
        Ok(Spare {
            step,
            stdin,
            stdout: io.stdout,
            stderr: io.stderr.expect("pipes"),
            reader: pending.0.pop().expect("the reader"),
            dump,
        })
    }

    /// Both sessions are still there (the master may have gone since, or the host ended
    /// idle sessions).
    fn alive(&mut self) -> bool {
        matches!(self.step.try_wait(), Ok(None)) && matches!(self.reader.try_wait(), Ok(None))
    }

    /// Let it go: without a header its wrapper exits, and its reader with it; those still
    /// there at `until` are stopped.
    fn retire(self, until: Instant) {
        let (mut step, mut reader) = self.let_go();
        wait_until(&mut step, until);
        wait_until(&mut reader, until);
    }

    /// Close its stdin (its wrapper then reads no header, and exits); its two sessions,
    /// ending.
    fn let_go(self) -> (Child, Child) {
        drop(self.stdin);
        (self.step, self.reader)
    }
}

/// The local side of a remote step: its ssh, and the helper sessions of its FIFOs.
struct SshControl {
    ssh: std::sync::Arc<Conn>,
    child: Child,
    pidfd: Option<OwnedFd>,
    helpers: Helpers,
    token: String,
}

impl Control for SshControl {
    fn signal(&self, sig: Signal) -> io::Result<()> {
        if self.token.is_empty() || self.ssh.signal_marked(&self.token, sig, None).is_none() {
            // the host does not answer: at least this side's ssh goes
            if sig == Signal::KILL
                && let Some(p) = Pid::from_raw(self.child.id() as i32)
            {
                rustix::process::kill_process(p, sig)?;
            }
        }
        Ok(())
    }

    fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        let Some(status) = self.child.try_wait()? else {
            return Ok(None);
        };
        if status.code() == Some(255) && !self.ssh.alive() {
            return Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                format!(
                    "the connection to {} was lost while the step ran: its outcome is unknown",
                    self.ssh.name
                ),
            ));
        }
        Ok(Some(status))
    }

    fn exit_fd(&self) -> Option<BorrowedFd<'_>> {
        self.pidfd.as_ref().map(|f| f.as_fd())
    }

    fn release(&mut self) {
        // the readers end with the wrapper; a helper still there (the step never started)
        // is stopped
        let until = Instant::now() + Duration::from_secs(2);
        for h in &mut self.helpers.0 {
            wait_until(h, until);
        }
        self.helpers.0.clear();
        self.pidfd = None;
    }
}

/// A step's helper sessions: those still there when it is dropped (the step never started,
/// or ended without being released) are stopped.
struct Helpers(Vec<Child>);

impl Drop for Helpers {
    fn drop(&mut self) {
        for h in &mut self.0 {
            let _ = h.kill();
            let _ = h.wait();
        }
    }
}

/// Wait for `child` at most `limit`; None (and the child killed) past it.
fn wait_bounded(mut child: Child, limit: Duration) -> Option<ExitStatus> {
    wait_until(&mut child, Instant::now() + limit)
}

/// Wait for `child` until `until`; None (and the child killed) past it. Its exit wakes the
/// wait (a pidfd): a step's helper sessions end just after it, and are waited for on its
/// way out.
fn wait_until(child: &mut Child, until: Instant) -> Option<ExitStatus> {
    let pidfd = Pid::from_raw(child.id() as i32)
        .and_then(|p| rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty()).ok());
    loop {
        let now = Instant::now();
        match child.try_wait() {
            Ok(Some(s)) => return Some(s),
            Ok(None) if now < until => {
                let left = (until - now).min(Duration::from_millis(5));
                match &pidfd {
                    Some(fd) => {
                        let ts = rustix::event::Timespec {
                            tv_sec: 0,
                            tv_nsec: left.subsec_nanos() as _,
                        };
                        let mut fds =
                            [rustix::event::PollFd::new(fd, rustix::event::PollFlags::IN)];
                        let _ = rustix::event::poll(&mut fds, Some(&ts));
                    }
                    None => std::thread::sleep(left),
                }
            }
            _ => {
                let _ = child.kill();
                let _ = child.wait();
                return None;
            }
        }
    }
}

/// What ssh said about a failed connection: its last meaningful line.
fn ssh_reason(said: &str, status: Option<ExitStatus>) -> String {
    let line = said
        .lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty() && !l.starts_with("Warning: Permanently added"));
    match (line, status) {
        (Some(l), _) => l.to_string(),
        (None, None) => format!("no answer within {} seconds", CONNECT_TIMEOUT.as_secs() + 5),
        (None, Some(s)) => format!(
            "ssh exited with {}",
            s.code().map_or_else(
                || format!("signal {}", s.signal().unwrap_or(0)),
                |c| c.to_string()
            )
        ),
    }
}

fn signal_name(sig: Signal) -> &'static str {
    match sig {
        Signal::INT => "INT",
        Signal::KILL => "KILL",
        Signal::HUP => "HUP",
        Signal::QUIT => "QUIT",
        _ => "TERM",
    }
}

/// A new folder only this user can enter, of a short path (the master's socket goes in it).
fn private_dir() -> io::Result<PathBuf> {
    use std::os::unix::fs::DirBuilderExt;
    let base = Path::new("/tmp");
    for _ in 0..16 {
        let mut bytes = [0u8; 6];
        let mut f = std::fs::File::open("/dev/urandom")?;
        f.read_exact(&mut bytes)?;
        let name: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let dir = base.join(format!("rb-{name}"));
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e),
        }
    }
    Err(io::Error::other("no free name under /tmp"))
}
