//! A pseudo-terminal for steps run in front of an operator: programs that read the terminal
//! (`ssh` asking for a password, `read -p`, editors) behave as in a terminal, while runbook
//! still sees (and logs) everything they print.

use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

pub struct Pty {
    pub master: OwnedFd,
    pub slave: OwnedFd,
}

/// A new pty the size of runbook's own terminal.
pub fn open() -> io::Result<Pty> {
    let mut master: libc::c_int = -1;
    let mut slave: libc::c_int = -1;
    // SAFETY: winsize is plain data; openpty writes the two fds it opens
    unsafe {
        let mut ws: libc::winsize = std::mem::zeroed();
        let have_size = libc::ioctl(libc::STDIN_FILENO, libc::TIOCGWINSZ, &mut ws) == 0;
        let wsp = if have_size {
            &mut ws as *mut libc::winsize
        } else {
            std::ptr::null_mut()
        };
        if libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null(),
            wsp,
        ) != 0
        {
            return Err(io::Error::last_os_error());
        }
        libc::fcntl(master, libc::F_SETFD, libc::FD_CLOEXEC);
        libc::fcntl(slave, libc::F_SETFD, libc::FD_CLOEXEC);
        Ok(Pty {
            master: OwnedFd::from_raw_fd(master),
            slave: OwnedFd::from_raw_fd(slave),
        })
    }
}

/// runbook's terminal in raw mode for as long as this lives (keys go to the step as typed,
/// Ctrl-C included, which the step's terminal turns into its SIGINT).
pub struct RawMode {
    fd: RawFd,
    saved: libc::termios,
}

impl RawMode {
    pub fn enter(fd: RawFd) -> Option<RawMode> {
        // SAFETY: termios calls on a terminal fd; the saved mode is restored on drop
        unsafe {
            let mut saved: libc::termios = std::mem::zeroed();
            if libc::tcgetattr(fd, &mut saved) != 0 {
                return None;
            }
            let mut raw = saved;
            libc::cfmakeraw(&mut raw);
            // output processing stays on: the step's output is already a terminal's
            raw.c_oflag = saved.c_oflag;
            libc::tcsetattr(fd, libc::TCSANOW, &raw);
            Some(RawMode { fd, saved })
        }
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        // SAFETY: restores the mode saved in `enter`
        unsafe {
            libc::tcsetattr(self.fd, libc::TCSANOW, &self.saved);
        }
    }
}

pub fn set_nonblocking(fd: RawFd) -> io::Result<()> {
    // SAFETY: fcntl on an fd we own
    unsafe {
        let flags = libc::fcntl(fd, libc::F_GETFL);
        if flags < 0 || libc::fcntl(fd, libc::F_SETFL, flags | libc::O_NONBLOCK) < 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Read what an fd holds now: Ok(None) at its end (EIO on a pty master once the step's side
/// is closed counts as the end).
pub fn read_now(fd: &OwnedFd, buf: &mut [u8]) -> io::Result<Option<usize>> {
    // SAFETY: buf is valid for buf.len() bytes
    let n = unsafe { libc::read(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len()) };
    if n > 0 {
        return Ok(Some(n as usize));
    }
    if n == 0 {
        return Ok(None);
    }
    let e = io::Error::last_os_error();
    match e.raw_os_error() {
        Some(libc::EAGAIN) | Some(libc::EINTR) => Ok(Some(0)),
        Some(libc::EIO) => Ok(None),
        _ => Err(e),
    }
}

pub fn write_all(fd: &OwnedFd, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        // SAFETY: data is valid for data.len() bytes
        let n = unsafe { libc::write(fd.as_raw_fd(), data.as_ptr().cast(), data.len()) };
        if n < 0 {
            let e = io::Error::last_os_error();
            if matches!(e.raw_os_error(), Some(libc::EINTR) | Some(libc::EAGAIN)) {
                continue;
            }
            return Err(e);
        }
        data = &data[n as usize..];
    }
    Ok(())
}

static RESIZED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

extern "C" fn on_winch(_: libc::c_int) {
    RESIZED.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Notice when runbook's terminal is resized (to pass the new size on to the step's pty).
pub fn watch_resize() {
    // SAFETY: the handler only stores to an atomic
    unsafe {
        libc::signal(libc::SIGWINCH, on_winch as *const () as libc::sighandler_t);
    }
}

/// If runbook's terminal was resized since the last call, give the pty the same size.
pub fn follow_resize(master: &OwnedFd) {
    if RESIZED.swap(false, std::sync::atomic::Ordering::SeqCst) {
        // SAFETY: winsize is plain data; both ioctls take a pointer to it
        unsafe {
            let mut ws: libc::winsize = std::mem::zeroed();
            if libc::ioctl(libc::STDIN_FILENO, libc::TIOCGWINSZ, &mut ws) == 0 {
                libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws);
            }
        }
    }
}
