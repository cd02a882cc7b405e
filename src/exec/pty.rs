//! A pseudo-terminal for steps run in front of an operator: programs that read the terminal
//! (`ssh` asking for a password, `read -p`, editors) behave as in a terminal, while runbook
//! still sees (and logs) everything they print.

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;
use rustix::pty::OpenptFlags;
use rustix::termios::{OptionalActions, Termios};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

pub struct Pty {
    pub master: OwnedFd,
    pub slave: OwnedFd,
}

/// A new pty the size of runbook's own terminal.
pub fn open() -> io::Result<Pty> {
    let master =
        rustix::pty::openpt(OpenptFlags::RDWR | OpenptFlags::NOCTTY | OpenptFlags::CLOEXEC)?;
    rustix::pty::grantpt(&master)?;
    rustix::pty::unlockpt(&master)?;
    let name = rustix::pty::ptsname(&master, Vec::new())?;
    let slave = rustix::fs::open(
        name.as_c_str(),
        OFlags::RDWR | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    if let Ok(size) = rustix::termios::tcgetwinsize(io::stdin()) {
        let _ = rustix::termios::tcsetwinsize(&master, size);
    }
    Ok(Pty { master, slave })
}

/// runbook's terminal (its stdin) in raw mode for as long as this lives (keys go to the step
/// as typed, Ctrl-C included, which the step's terminal turns into its SIGINT).
pub struct RawMode {
    saved: Termios,
}

impl RawMode {
    pub fn enter() -> Option<RawMode> {
        let saved = rustix::termios::tcgetattr(io::stdin()).ok()?;
        let mut raw = saved.clone();
        raw.make_raw();
        rustix::termios::tcsetattr(io::stdin(), OptionalActions::Now, &raw).ok()?;
        Some(RawMode { saved })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        let _ = rustix::termios::tcsetattr(io::stdin(), OptionalActions::Now, &self.saved);
    }
}

pub fn set_nonblocking(fd: impl AsFd) -> io::Result<()> {
    rustix::io::ioctl_fionbio(fd, true)?;
    Ok(())
}

/// Read what `fd` has now: Some(0) when nothing is there yet, None at its end (for a pty's
/// master side: EIO once the step's side is closed).
pub fn read_now(fd: impl AsFd, buf: &mut [u8]) -> io::Result<Option<usize>> {
    match rustix::io::read(fd, buf) {
        Ok(0) => Ok(None),
        Ok(n) => Ok(Some(n)),
        Err(Errno::AGAIN | Errno::INTR) => Ok(Some(0)),
        Err(Errno::IO) => Ok(None),
        Err(e) => Err(e.into()),
    }
}

pub fn write_all(fd: impl AsFd, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        match rustix::io::write(&fd, data) {
            Ok(n) => data = &data[n..],
            Err(Errno::AGAIN | Errno::INTR) => continue,
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Set by SIGWINCH: runbook's terminal was resized.
fn resized() -> &'static Arc<AtomicBool> {
    static FLAG: std::sync::OnceLock<Arc<AtomicBool>> = std::sync::OnceLock::new();
    FLAG.get_or_init(|| Arc::new(AtomicBool::new(false)))
}

/// Notice when runbook's terminal is resized (to pass the new size on to the step's pty).
pub fn watch_resize() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let _ = signal_hook::flag::register(signal_hook::consts::SIGWINCH, resized().clone());
    });
}

/// If runbook's terminal was resized since the last call, give the pty the same size.
pub fn follow_resize(master: impl AsFd) {
    if resized().swap(false, Ordering::SeqCst)
        && let Ok(size) = rustix::termios::tcgetwinsize(io::stdin())
    {
        let _ = rustix::termios::tcsetwinsize(master, size);
    }
}
