//! Where a step's process runs: the seam between what a step is (its script, the state it
//! starts from and leaves, the loop that shows and masks its output) and how a process is
//! started, fed, heard, signalled and waited for. [`Local`] runs it on this machine; a remote
//! transport gives the same [`Running`] channels over another connection.

use super::pty;
use rustix::process::{Pid, Signal};
use std::ffi::OsStr;
use std::io::{self, IsTerminal};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

/// The variable that marks every process of one step's execution (`RUN:STEP:PID:ATTEMPT`):
/// what `stop_leftovers` looks for. It is set afresh for each step, never carried over.
pub const STEP_ENV: &str = "RUNBOOK_STEP";

/// What to start.
pub struct Spawn<'a> {
    /// The shell (`bash`, or the page's choice).
    pub program: &'a str,
    /// The directory to start in (the one the steps before left), if known.
    pub dir: Option<&'a Path>,
    /// Variables to add to the process's environment (the step marker, `PWD`).
    pub env: &'a [(&'a str, &'a OsStr)],
    /// On a terminal of its own (a pty, its own session) rather than pipes.
    pub terminal: bool,
    /// A channel for the secret watch is wanted.
    pub watch: bool,
}

/// A started step process and its channels.
pub struct Running {
    /// The process, also the process group every signal goes to.
    pub pid: u32,
    /// Where the script goes; the shell reads it as it runs (`. <script_name>`).
    pub script: Option<io::PipeWriter>,
    /// The name the shell reads its script by: bash prefixes its error messages with it.
    pub script_name: String,
    /// What the step prints: its stdout, and its stderr too on a terminal.
    pub stdout: OwnedFd,
    /// Its stderr, when it runs on pipes.
    pub stderr: Option<OwnedFd>,
    /// Where the state dump arrives, and how the script names it (a redirection target).
    pub dump: io::PipeReader,
    pub dump_target: String,
    /// Where the secret watch's values arrive, and how the script names it.
    pub watch: Option<(io::PipeReader, String)>,
    /// The terminal's other side: the keyboard goes there, and window sizes.
    pub pty: Option<OwnedFd>,
    pub(super) control: Box<dyn Control>,
}

impl Running {
    /// Send `sig` to the step's whole process group.
    pub fn signal(&self, sig: Signal) -> io::Result<()> {
        self.control.signal(sig)
    }

    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.control.try_wait()
    }

    /// An fd that becomes readable when the process has exited, to wake a poll.
    pub fn exit_fd(&self) -> Option<BorrowedFd<'_>> {
        self.control.exit_fd()
    }

    /// The process has exited: channels held open for it are let go.
    pub fn release(&mut self) {
        self.control.release();
    }
}

/// The transport's own side of a running process.
pub(super) trait Control {
    fn signal(&self, sig: Signal) -> io::Result<()>;
    fn try_wait(&mut self) -> io::Result<Option<ExitStatus>>;
    fn exit_fd(&self) -> Option<BorrowedFd<'_>>;
    fn release(&mut self);
}

/// Where steps run.
pub trait Transport {
    /// Start `spec.program` reading its script from [`Running::script`].
    fn spawn(&self, spec: &Spawn) -> io::Result<Running>;
    /// Stop every process still marked with `token` (a step that was interrupted, timed out,
    /// or ran on when runbook was killed), whatever process group or session it moved to:
    /// SIGTERM, then SIGKILL for those still there after `grace`. Returns how many there were.
    fn stop_leftovers(&self, token: &str, grace: Duration) -> usize;
    /// Steps run on this machine: their directories can be checked here.
    fn runs_here(&self) -> bool {
        true
    }
    /// At most `n` more steps will start (the next one included): a transport may prepare
    /// that many, and no more.
    fn steps_ahead(&self, _n: usize) {}
}

/// This machine.
pub struct Local {
    /// The shell opens runbook's pipe ends through /proc (Linux): no code runs between fork
    /// and exec, and without a pty the process starts with posix_spawn (a fork of runbook
    /// costs more than a trivial step). Elsewhere they are dup'ed to fds 3 and 4.
    via_proc: bool,
    /// Programs found on PATH so far.
    found: std::cell::RefCell<Vec<(String, std::path::PathBuf)>>,
}

impl Default for Local {
    fn default() -> Self {
        Local {
            via_proc: cfg!(target_os = "linux") && Path::new("/proc/self/fd").is_dir(),
            found: Default::default(),
        }
    }
}

impl Local {
    /// `program`'s path on PATH (as a shell would find it), remembered; as given when it
    /// names a path or is not found (the spawn then says why).
    fn resolve(&self, program: &str) -> std::path::PathBuf {
        if program.contains('/') {
            return program.into();
        }
        if let Some((_, p)) = self.found.borrow().iter().find(|(n, _)| n == program) {
            return p.clone();
        }
        let found = crate::plan::find_on_path(program);
        let p = found.unwrap_or_else(|| program.into());
        self.found
            .borrow_mut()
            .push((program.to_string(), p.clone()));
        p
    }
}

struct LocalControl {
    child: Child,
    pidfd: Option<OwnedFd>,
    /// runbook's ends the shell opens by name through /proc: open until it has exited.
    keep_open: Vec<OwnedFd>,
}

impl Control for LocalControl {
    fn signal(&self, sig: Signal) -> io::Result<()> {
        let pid =
            Pid::from_raw(self.child.id() as i32).ok_or_else(|| io::Error::other("no process"))?;
        rustix::process::kill_process_group(pid, sig)?;
        Ok(())
    }

    fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    fn exit_fd(&self) -> Option<BorrowedFd<'_>> {
        self.pidfd.as_ref().map(|f| f.as_fd())
    }

    fn release(&mut self) {
        self.keep_open.clear();
        self.pidfd = None;
    }
}

impl Transport for Local {
    fn spawn(&self, spec: &Spawn) -> io::Result<Running> {
        let (script_r, script_w) = io::pipe()?;
        let (dump_r, dump_w) = io::pipe()?;
        let watch = if spec.watch && self.via_proc {
            Some(io::pipe()?)
        } else {
            None
        };
        // the shell's path is looked up once per run, not by every step's spawn
        let mut cmd = Command::new(self.resolve(spec.program));
        cmd.arg0(spec.program);
        for (k, v) in spec.env {
            cmd.env(k, v);
        }
        if let Some(dir) = spec.dir {
            cmd.current_dir(dir);
        }
        let io = attach(&mut cmd, spec.terminal)?;
        let me = std::process::id();
        let (rfd, wfd) = (script_r.as_raw_fd(), dump_w.as_raw_fd());
        let (script_name, dump_target) = if self.via_proc {
            (
                format!("/proc/{me}/fd/{rfd}"),
                format!("/proc/{me}/fd/{wfd}"),
            )
        } else {
            ("/dev/fd/3".to_string(), "&4".to_string())
        };
        cmd.arg("-c").arg(format!(". {script_name}"));
        let dup = (!self.via_proc).then_some((rfd, wfd));
        before_exec(&mut cmd, io.pty.is_some(), dup);
        let child = cmd.spawn()?;
        drop(cmd); // closes the parent's copies of the child's ends
        let pid = child.id();
        let pidfd = Pid::from_raw(pid as i32).and_then(|p| {
            rustix::process::pidfd_open(p, rustix::process::PidfdFlags::empty()).ok()
        });
        let mut keep_open = Vec::new();
        if self.via_proc {
            keep_open.push(OwnedFd::from(script_r));
            keep_open.push(OwnedFd::from(dump_w));
        }
        let watch = watch.map(|(r, w)| {
            let target = format!("/proc/{me}/fd/{}", w.as_raw_fd());
            keep_open.push(OwnedFd::from(w));
            (r, target)
        });
        Ok(Running {
            pid,
            script: Some(script_w),
            script_name,
            stdout: io.stdout,
            stderr: io.stderr,
            dump: dump_r,
            dump_target,
            watch,
            pty: io.pty,
            control: Box::new(LocalControl {
                child,
                pidfd,
                keep_open,
            }),
        })
    }

    fn stop_leftovers(&self, token: &str, grace: Duration) -> usize {
        stop_marked(token, grace)
    }
}

/// A process's standard streams as a step has them: a pty of its own, or pipes.
pub(super) struct Attached {
    /// What it prints (stdout, and stderr too on a pty).
    pub stdout: OwnedFd,
    pub stderr: Option<OwnedFd>,
    /// The pty's master side, for the keyboard and window sizes.
    pub pty: Option<OwnedFd>,
}

/// Give `cmd` a pty of its own (it becomes the session's controlling terminal, see
/// [`before_exec`]) or pipes; the slave side and the pipes' far ends belong to `cmd` only.
pub(super) fn attach(cmd: &mut Command, terminal: bool) -> io::Result<Attached> {
    if terminal {
        let p = pty::open()?;
        cmd.stdin(Stdio::from(p.slave.try_clone()?))
            .stdout(Stdio::from(p.slave.try_clone()?))
            .stderr(Stdio::from(p.slave));
        return Ok(Attached {
            stdout: p.master.try_clone()?,
            stderr: None,
            pty: Some(p.master),
        });
    }
    let (out_r, out_w) = io::pipe()?;
    let (err_r, err_w) = io::pipe()?;
    // a step in a process group of its own must not read a terminal it does not own (it
    // would be stopped); piped input is passed on
    let stdin = if io::stdin().is_terminal() {
        Stdio::null()
    } else {
        Stdio::inherit()
    };
    cmd.stdin(stdin)
        .stdout(Stdio::from(out_w))
        .stderr(Stdio::from(err_w))
        .process_group(0);
    Ok(Attached {
        stdout: OwnedFd::from(out_r),
        stderr: Some(OwnedFd::from(err_r)),
        pty: None,
    })
}

/// What runs between fork and exec: with a pty, a session of its own with the pty as its
/// controlling terminal; with `dup`, those fds moved to 3 and 4.
pub(super) fn before_exec(cmd: &mut Command, with_pty: bool, dup: Option<(i32, i32)>) {
    if !with_pty && dup.is_none() {
        return;
    }
    // SAFETY: between fork and exec only async-signal-safe system calls (setsid, ioctl,
    // fcntl, dup2, close); 3 and 4, named as OwnedFds for dup2, are never closed here
    unsafe {
        cmd.pre_exec(move || {
            if with_pty {
                rustix::process::setsid()?;
                rustix::process::ioctl_tiocsctty(BorrowedFd::borrow_raw(0))?;
            }
            if let Some((rfd, wfd)) = dup {
                // move both ends out of the way first, so 3 and 4 can't clobber each other
                let r = rustix::io::fcntl_dupfd_cloexec(BorrowedFd::borrow_raw(rfd), 10)?;
                let w = rustix::io::fcntl_dupfd_cloexec(BorrowedFd::borrow_raw(wfd), 10)?;
                for (from, to) in [(&r, 3), (&w, 4)] {
                    // 3 and 4 are the program's from here on: never closed on this side
                    let mut target = std::mem::ManuallyDrop::new(
                        <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(to),
                    );
                    rustix::io::dup2(from, &mut target)?;
                }
            }
            Ok(())
        });
    }
}

/// Stop every local process marked with `token`: SIGTERM, then SIGKILL after `grace`.
pub fn stop_marked(token: &str, grace: Duration) -> usize {
    let kill = |pid: i32, sig: Signal| {
        if let Some(p) = Pid::from_raw(pid) {
            let _ = rustix::process::kill_process(p, sig);
        }
    };
    let first = marked_processes(token);
    for pid in &first {
        kill(*pid, Signal::TERM);
    }
    let until = Instant::now() + grace;
    loop {
        let left = marked_processes(token);
        if left.is_empty() {
            break;
        }
        if Instant::now() >= until {
            for pid in left {
                kill(pid, Signal::KILL);
            }
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    first.len()
}

/// Live processes (not zombies) whose environment holds `RUNBOOK_STEP=token`.
fn marked_processes(token: &str) -> Vec<i32> {
    processes_with_env(format!("{STEP_ENV}={token}").as_bytes())
}

/// Live processes (not zombies, not runbook itself) whose environment holds `entry`
/// (`NAME=value`), on this machine.
pub fn processes_with_env(entry: &[u8]) -> Vec<i32> {
    let me = std::process::id() as i32;
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| *pid != me)
        .filter(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            // the state follows the command name in parentheses
            let state = stat.rsplit_once(')').map(|(_, r)| r.trim_start());
            !matches!(state.and_then(|s| s.chars().next()), Some('Z' | 'X') | None)
        })
        .filter(|pid| {
            std::fs::read(format!("/proc/{pid}/environ"))
                .map(|env| env.split(|b| *b == 0).any(|v| v == entry))
                .unwrap_or(false)
        })
        .collect()
}
