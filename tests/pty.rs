//! Driving runbook as an operator would: on a pseudo-terminal, typing answers and reading
//! the screen.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct Screen {
    master: std::fs::File,
    child: Child,
    pub text: String,
}

impl Screen {
    /// Start runbook with `args` in `dir`, its terminal a new pty.
    pub fn start(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Screen {
        let (mut m, mut s) = (-1, -1);
        // SAFETY: openpty fills in two new fds
        unsafe {
            let mut ws: libc::winsize = std::mem::zeroed();
            ws.ws_row = 50;
            ws.ws_col = 200;
            assert_eq!(
                libc::openpty(&mut m, &mut s, std::ptr::null_mut(), std::ptr::null(), &ws),
                0
            );
        }
        // SAFETY: the fds are ours now
        let (master, slave) = unsafe { (OwnedFd::from_raw_fd(m), OwnedFd::from_raw_fd(s)) };
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_runbook"));
        cmd.args(args)
            .current_dir(dir)
            .env("NO_COLOR", "1")
            .env("XDG_STATE_HOME", dir.join("state"))
            .env("TERM", "dumb")
            .stdin(Stdio::from(slave.try_clone().unwrap()))
            .stdout(Stdio::from(slave.try_clone().unwrap()))
            .stderr(Stdio::from(slave));
        for (k, v) in env {
            cmd.env(k, v);
        }
        // SAFETY: setsid and ioctl are async-signal-safe
        unsafe {
            cmd.pre_exec(|| {
                libc::setsid();
                libc::ioctl(0, libc::TIOCSCTTY as _, 0);
                Ok(())
            });
        }
        let child = cmd.spawn().unwrap();
        // SAFETY: master is a valid fd
        unsafe {
            let fl = libc::fcntl(master.as_raw_fd(), libc::F_GETFL);
            libc::fcntl(master.as_raw_fd(), libc::F_SETFL, fl | libc::O_NONBLOCK);
        }
        Screen {
            master: std::fs::File::from(master),
            child,
            text: String::new(),
        }
    }

    fn pump(&mut self) {
        let mut buf = [0u8; 4096];
        loop {
            match self.master.read(&mut buf) {
                Ok(0) => return,
                Ok(n) => self
                    .text
                    .push_str(&String::from_utf8_lossy(&buf[..n]).replace('\r', "")),
                Err(_) => return,
            }
        }
    }

    /// Wait until the screen shows `what` (after everything seen so far was consumed up to
    /// the previous expectation).
    pub fn expect(&mut self, what: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            self.pump();
            if self.text.contains(what) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "screen never showed {what:?}; it shows:\n{}",
                self.text
            );
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// Type a line.
    pub fn send(&mut self, line: &str) {
        self.master.write_all(line.as_bytes()).unwrap();
        self.master.write_all(b"\n").unwrap();
    }

    /// Resize the terminal, as a window manager would.
    pub fn resize(&mut self, rows: u16, cols: u16) {
        // SAFETY: winsize is plain data
        unsafe {
            let mut ws: libc::winsize = std::mem::zeroed();
            ws.ws_row = rows;
            ws.ws_col = cols;
            libc::ioctl(self.master.as_raw_fd(), libc::TIOCSWINSZ, &ws);
        }
    }

    /// Send bytes as typed (no newline).
    pub fn raw_write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.master.write_all(data)?;
        Ok(data.len())
    }

    /// Forget what was shown so far (the next `expect` looks at new output only).
    pub fn clear(&mut self) {
        self.pump();
        self.text.clear();
    }

    pub fn finish(mut self) -> (i32, String) {
        let deadline = Instant::now() + Duration::from_secs(15);
        let status = loop {
            self.pump();
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(
                Instant::now() < deadline,
                "runbook did not exit; screen:\n{}",
                self.text
            );
            std::thread::sleep(Duration::from_millis(10));
        };
        self.pump();
        (status.code().unwrap_or(-1), self.text)
    }
}
