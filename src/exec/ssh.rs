//! Steps on another host, over OpenSSH (the system `ssh`: the operator's `~/.ssh/config`,
//! agent, `ProxyJump` and GSSAPI work as in their own sessions).
//!
//! One master connection per host for the whole run (`ControlMaster`, its socket in a
//! private local folder of a short path: a Unix socket path longer than about 100 bytes
//! is refused), and a private remote folder (`mktemp -d`, mode 0700) for the step's
//! channels. Each step then opens sessions over the master, which cost no new handshake:
//!
//! - the step itself: `ssh -T` on pipes, or `ssh -tt` on a local pty when the step gets a
//!   terminal (the keyboard, window sizes and Ctrl-C reach the remote pty). Its remote
//!   command is a one-line `sh` wrapper: it makes the step's FIFOs, holds the state and
//!   watch FIFOs open for writing (so their readers are connected before the step starts
//!   and see the end only when it has exited), enters the state's directory, marks the
//!   step's processes with `RUNBOOK_STEP` in their environment, and starts a login bash
//!   (`/etc/profile`, then `~/.bash_profile` or `~/.profile`, as the operator's own `ssh
//!   HOST` session has them) that sources the step's script from its FIFO;
//! - the script's writer (`cat > FIFO`, fed from runbook's pipe), the state dump's reader
//!   (`cat FIFO`), and the secret watch's reader when one is wanted.
//!
//! Values travel only in these sessions: nothing the step knows is on a command line or in
//! a file on the remote host (FIFOs hold nothing on disk). ssh joins its arguments with
//! spaces for the remote shell: every path and value in a remote command is quoted for it.
//! ssh's own failures exit 255, as a step may: a step's 255 is its own only while the
//! master still stands; otherwise the connection was lost, and the step's end is unknown.

use super::transport::{Control, Running, Spawn, Transport, attach, before_exec};
use crate::shell::shell_quote;
use rustix::process::{Pid, Signal};
use std::ffi::OsString;
use std::io::{self, Read};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// How long connecting may take before the host counts as unreachable.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(20);

/// A connection to one host: the transport of its steps.
pub struct Ssh {
    conn: std::sync::Arc<Conn>,
    /// Steps started so far (each gets FIFOs of its own).
    seq: std::cell::Cell<u64>,
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
            seq: std::cell::Cell::new(0),
        })
    }

    /// The host as the operator named it.
    pub fn name(&self) -> &str {
        &self.conn.name
    }
}

impl Conn {
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

    /// Close the master and remove both private folders.
    fn close(&mut self) {
        if !self.remote_dir.is_empty() {
            let rm = format!("rm -rf {}", shell_quote(&self.remote_dir));
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
        let q = shell_quote(fifo);
        let open = if write {
            format!("exec cat > {q}")
        } else {
            format!("exec cat {q}")
        };
        let remote = format!("mkfifo {q} 2>/dev/null; [ -p {q} ] || exit 97; {open}",);
        self.command(&remote)
            .stdin(if write { Stdio::piped() } else { Stdio::null() })
            .stdout(if write { Stdio::null() } else { Stdio::piped() })
            .stderr(Stdio::null())
            .spawn()
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
        let n = self.seq.get() + 1;
        self.seq.set(n);
        let conn = &self.conn;
        let d = &conn.remote_dir;
        // on pipes the script comes on the step's own session (its stdin, moved to fd 3; the
        // step reads /dev/null): one session fewer; on a terminal, stdin is the keyboard
        let script = if spec.terminal {
            format!("{d}/s.{n}")
        } else {
            "/dev/fd/3".to_string()
        };
        let dump = format!("{d}/d.{n}");
        let watch = spec.watch.then(|| format!("{d}/w.{n}"));
        let q = |s: &str| shell_quote(s);
        // the wrapper: FIFOs, the state and watch FIFOs held open for writing (which waits
        // for their readers), the directory, the marker, the login bash, then the FIFOs
        // removed; the step's status is the wrapper's
        let script_fifo = spec.terminal.then_some(script.as_str());
        let fifos: Vec<&str> = [script_fifo, Some(dump.as_str()), watch.as_deref()]
            .into_iter()
            .flatten()
            .collect();
        let mut w = String::new();
        for f in &fifos {
            w.push_str(&format!(
                "mkfifo {0} 2>/dev/null; [ -p {0} ] || exit 97; ",
                q(f)
            ));
        }
        w.push_str(&format!("exec 4>{}; ", q(&dump)));
        if let Some(wf) = &watch {
            w.push_str(&format!("exec 5>{}; ", q(wf)));
        }
        if let Some(dir) = spec.dir {
            let dir = dir.to_string_lossy();
            w.push_str(&format!(
                "cd -- {0} || exit {1}; PWD={0}; export PWD; ",
                q(&dir),
                super::state::EXIT_STATE_LOST
            ));
        }
        for (k, v) in spec.env {
            if *k != "PWD" {
                w.push_str(&format!("{k}={}; export {k}; ", q(&v.to_string_lossy())));
            }
        }
        let program = q(spec.program);
        let redirect = if spec.terminal {
            ""
        } else {
            " 3<&0 </dev/null"
        };
        w.push_str(&format!(
            "{program} -l -c {}{redirect} 4>&- 5>&-; s=$?; exec 4>&- 5>&-; rm -f {}; exit $s",
            q(&format!(". {}", q(&script))),
            fifos.iter().map(|f| q(f)).collect::<Vec<_>>().join(" ")
        ));
        let remote = format!("exec /bin/sh -c {}", q(&w));

        // the readers first: the wrapper waits for them before the step starts; if the step
        // cannot be started, they are stopped (they would wait for it forever)
        let mut helpers = Helpers(Vec::new());
        let mut dump_reader = conn.fifo_session(&dump, false)?;
        let dump_r: OwnedFd = dump_reader.stdout.take().expect("piped").into();
        helpers.0.push(dump_reader);
        let watch = match &watch {
            Some(wf) => {
                let mut r = conn.fifo_session(wf, false)?;
                let fd: OwnedFd = r.stdout.take().expect("piped").into();
                helpers.0.push(r);
                Some((io::PipeReader::from(fd), shell_quote(wf)))
            }
            None => None,
        };
        let mut cmd = Command::new("ssh");
        cmd.args(["-o", "ControlMaster=no"]).args(conn.common());
        cmd.arg(if spec.terminal { "-tt" } else { "-T" });
        cmd.args(&conn.args).arg(&remote);
        let io = attach(&mut cmd, spec.terminal)?;
        let script_w: OwnedFd = if spec.terminal {
            let mut writer = conn.fifo_session(&script, true)?;
            let w = writer.stdin.take().expect("piped").into();
            helpers.0.push(writer);
            w
        } else {
            let (r, w) = io::pipe()?;
            cmd.stdin(Stdio::from(r));
            w.into()
        };
        before_exec(&mut cmd, io.pty.is_some(), None);
        let child = cmd.spawn()?;
        drop(cmd);
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
        Ok(Running {
            pid,
            script: Some(io::PipeWriter::from(script_w)),
            script_name: script.clone(),
            stdout: io.stdout,
            stderr: io.stderr,
            dump: io::PipeReader::from(dump_r),
            dump_target: shell_quote(&dump),
            watch,
            pty: io.pty,
            control: Box::new(SshControl {
                ssh: conn.clone(),
                child,
                pidfd,
                helpers,
                token,
            }),
        })
    }

    fn runs_here(&self) -> bool {
        false
    }

    fn stop_leftovers(&self, token: &str, grace: Duration) -> usize {
        self.conn
            .signal_marked(token, Signal::TERM, Some(grace))
            .unwrap_or(0)
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

/// Wait for `child` until `until`; None (and the child killed) past it.
fn wait_until(child: &mut Child, until: Instant) -> Option<ExitStatus> {
    loop {
        match child.try_wait() {
            Ok(Some(s)) => return Some(s),
            Ok(None) if Instant::now() < until => std::thread::sleep(Duration::from_millis(5)),
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
