//! Real `sshd` processes for the tests: each on its own loopback address (127.0.0.x) and a
//! free port, with generated host and user keys, an environment of its own (`SetEnv`: the
//! host's name, a home without startup files, a temporary folder the test can inspect) and
//! an ssh configuration naming it, so `runbook run --on NAME --ssh-config FILE` reaches it.
//! Started and stopped by the test (Drop), every wait bounded.

use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const SSHD: &str = "/usr/sbin/sshd";

pub struct Sshd {
    pub addr: SocketAddr,
    /// Holds the keys, the configs, the remote home and TMPDIR.
    pub dir: PathBuf,
    child: Child,
}

/// Make a key pair at `path` (ssh-keygen, no passphrase).
fn keygen(path: &Path) {
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(path)
        .stdin(Stdio::null())
        .status()
        .expect("ssh-keygen runs (openssh-client)");
    assert!(st.success(), "ssh-keygen failed");
}

impl Sshd {
    /// Start a server called `name` on 127.0.0.`octet`, its files under `root/name`. The
    /// ssh configuration `root/ssh_config` gets a `Host name` entry for it.
    pub fn start(root: &Path, name: &str, octet: u8) -> Sshd {
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} is missing: these tests need a real sshd (apt-get install openssh-server)"
        );
        assert!(
            (2..=254).contains(&octet),
            "a loopback address 127.0.0.2-254"
        );
        let ip = format!("127.0.0.{octet}");
        let dir = root.join(name);
        for sub in ["home", "tmp"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        // sshd wants its privilege separation folder
        let _ = std::fs::create_dir_all("/run/sshd");
        keygen(&dir.join("host_key"));
        if !root.join("id").exists() {
            keygen(&root.join("id"));
        }
        std::fs::copy(root.join("id.pub"), dir.join("authorized_keys")).unwrap();
        // a free port on that address (sshd binds it right after)
        let port = TcpListener::bind((ip.as_str(), 0))
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let addr: SocketAddr = format!("{ip}:{port}").parse().unwrap();
        let user = whoami();
        let d = dir.display();
        std::fs::write(
            dir.join("sshd_config"),
            format!(
                "ListenAddress {addr}\nHostKey {d}/host_key\nAuthorizedKeysFile {d}/authorized_keys\n\
                 PidFile {d}/sshd.pid\nStrictModes no\nUsePAM no\nPasswordAuthentication no\n\
                 KbdInteractiveAuthentication no\nPubkeyAuthentication yes\n\
                 PermitRootLogin prohibit-password\nAllowUsers {user}\nMaxStartups 100\n\
                 SetEnv RUNBOOK_TEST_HOST={name} HOME={d}/home TMPDIR={d}/tmp\nLogLevel ERROR\n"
            ),
        )
        .unwrap();
        let host_pub = std::fs::read_to_string(dir.join("host_key.pub")).unwrap();
        let key: Vec<&str> = host_pub.split_whitespace().take(2).collect();
        std::fs::write(
            dir.join("known_hosts"),
            format!("[{ip}]:{port} {}\n", key.join(" ")),
        )
        .unwrap();
        let mut cfg = std::fs::read_to_string(root.join("ssh_config")).unwrap_or_default();
        cfg.push_str(&format!(
            "Host {name}\n  HostName {ip}\n  Port {port}\n  User {user}\n  IdentityFile {}/id\n  \
             IdentitiesOnly yes\n  UserKnownHostsFile {d}/known_hosts\n  StrictHostKeyChecking yes\n",
            root.display()
        ));
        std::fs::write(root.join("ssh_config"), cfg).unwrap();
        let child = Command::new(SSHD)
            .args(["-D", "-f"])
            .arg(dir.join("sshd_config"))
            .arg("-E")
            .arg(dir.join("sshd.log"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sshd starts");
        let s = Sshd { addr, dir, child };
        s.wait_listening();
        s
    }

    fn wait_listening(&self) {
        let until = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect_timeout(&self.addr, Duration::from_millis(200)).is_err() {
            assert!(
                Instant::now() < until,
                "sshd on {} did not listen within 10 s: {}",
                self.addr,
                std::fs::read_to_string(self.dir.join("sshd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Cut every connection of the server (its per-connection processes, children of the
    /// listener, are killed); the server goes on listening.
    pub fn drop_connections(&self) {
        let me = self.child.id().to_string();
        for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
            // the parent pid is the second field after the command name in parentheses
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, r)| r.split_whitespace().nth(1));
            if ppid == Some(me.as_str())
                && let Some(pid) = e.file_name().to_str().and_then(|p| p.parse::<i32>().ok())
            {
                let _ = Command::new("kill")
                    .args(["-KILL", &pid.to_string()])
                    .status();
            }
        }
    }

    /// Stop the server (its sessions end with it).
    pub fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Regular files under the remote TMPDIR, and their contents.
    pub fn tmp_files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        let mut out = Vec::new();
        let mut stack = vec![self.dir.join("tmp")];
        while let Some(d) = stack.pop() {
            for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
                let ft = e.file_type().unwrap();
                if ft.is_dir() {
                    stack.push(e.path());
                } else if ft.is_file() {
                    out.push((e.path(), std::fs::read(e.path()).unwrap_or_default()));
                }
            }
        }
        out
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        self.stop();
    }
}

fn whoami() -> String {
    let out = Command::new("id").arg("-un").output().expect("id");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Live processes whose environment holds `needle` (`NAME=value`), as runbook finds a step's.
pub fn processes_with_env(needle: &str) -> Vec<i32> {
    runbook::exec::transport::processes_with_env(needle.as_bytes())
}
