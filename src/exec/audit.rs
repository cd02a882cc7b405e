//! Who ran a page, where, and from which revision of it: what an audit of a run asks.

use super::event::Revision;
use std::path::Path;
use std::process::{Command, Stdio};

/// The OS user running runbook: `$USER`/`$LOGNAME` when they agree with the real user id's
/// entry in /etc/passwd, else that entry's name, else the numeric uid.
pub fn user() -> String {
    let uid = rustix::process::getuid().as_raw();
    let from_passwd = std::fs::read_to_string("/etc/passwd").ok().and_then(|p| {
        p.lines().find_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            let id: u32 = f.nth(1)?.parse().ok()?;
            (id == uid).then(|| name.to_string())
        })
    });
    from_passwd
        .or_else(|| std::env::var("USER").ok())
        .or_else(|| std::env::var("LOGNAME").ok())
        .unwrap_or_else(|| uid.to_string())
}

/// The host name (uname's node name).
pub fn host() -> String {
    rustix::system::uname()
        .nodename()
        .to_string_lossy()
        .into_owned()
}

/// The commit of the repository holding `page`, and whether the page differs from it (or is
/// not in it). None outside a git repository, or without git.
pub fn revision(page: &Path) -> Option<Revision> {
    // asked once per page in a run: a run on many hosts records the same revision for each
    static KNOWN: std::sync::Mutex<Vec<(std::path::PathBuf, Option<Revision>)>> =
        std::sync::Mutex::new(Vec::new());
    let mut known = KNOWN.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((_, r)) = known.iter().find(|(p, _)| p == page) {
        return r.clone();
    }
    let r = read_revision(page);
    known.push((page.to_path_buf(), r.clone()));
    r
}

fn read_revision(page: &Path) -> Option<Revision> {
    let abs = std::path::absolute(page).ok()?;
    let dir = abs.parent()?;
    let git = |args: &[&str]| -> Option<String> {
        let out = Command::new("git")
            .args(args)
            .current_dir(dir)
            .env_remove("GIT_DIR")
            .env_remove("GIT_WORK_TREE")
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    let commit = git(&["rev-parse", "HEAD"])?;
    let name = abs.file_name()?.to_str()?;
    // untracked or changed (staged or not) is dirty
    let tracked = git(&["ls-files", "--error-unmatch", "--", name]).is_some();
    let changed = git(&["status", "--porcelain", "--", name]).is_none_or(|s| !s.is_empty());
    Some(Revision {
        commit,
        dirty: !tracked || changed,
    })
}
