//! The run directory: an append-only journal (JSON lines, synced after every line), the
//! Markdown transcript, the shell-state snapshots, the placeholder values and runbook's own
//! log. Directories are 0700 and files 0600; nothing secret is written (see `exec::secrets`).

use crate::error::{Error, Result};
use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

/// `$XDG_STATE_HOME/runbook/runs`, else `~/.local/state/runbook/runs`.
pub fn default_runs_dir() -> PathBuf {
    let base = std::env::var_os("XDG_STATE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".local/state")))
        .unwrap_or_else(|| PathBuf::from(".runbook-state"));
    base.join("runbook").join("runs")
}

/// UTC time as `2026-11-24T23:21:20.123Z`.
pub fn now_rfc3339() -> String {
    let d = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let secs = d.as_secs() as i64;
    let (y, m, day) = civil_from_days(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{m:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        s / 3600,
        s / 60 % 60,
        s % 60,
        d.subsec_millis()
    )
}

/// Days since 1970-01-01 to (year, month, day) (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

/// Hold the run: an exclusive lock on its journal, released when runbook exits (also by
/// `kill -9`), so two runbooks never write one journal and a resume never touches a run that
/// is still going.
fn lock(journal: &File, dir: &Path) -> Result<()> {
    match journal.try_lock() {
        Ok(()) => Ok(()),
        Err(std::fs::TryLockError::WouldBlock) => Err(Error::Usage(format!(
            "run {} is still going: another runbook has it (its journal is locked); wait for it to end, or stop that runbook (Ctrl-C, or kill its pid), then resume",
            crate::source::display_path(dir)
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(Error::io(dir.join("journal.jsonl"), e)),
    }
}

/// A run directory's journal (locked: the run is this runbook's) and transcript, opened to
/// append.
fn open_files(dir: &Path) -> Result<(Journal, Transcript)> {
    let journal_path = dir.join("journal.jsonl");
    let journal = private_file(&journal_path, true).map_err(|e| Error::io(dir, e))?;
    lock(&journal, dir)?;
    let transcript_path = dir.join("transcript.md");
    let transcript = private_file(&transcript_path, true).map_err(|e| Error::io(dir, e))?;
    Ok((
        Journal {
            file: journal,
            path: journal_path,
        },
        Transcript {
            file: transcript,
            path: transcript_path,
        },
    ))
}

fn private_file(path: &Path, append: bool) -> io::Result<File> {
    let mut o = OpenOptions::new();
    o.create(true).mode(0o600);
    if append {
        o.append(true);
    } else {
        o.write(true).truncate(true);
    }
    o.open(path)
}

/// A run's directory: where its files are.
pub struct RunDir {
    pub path: PathBuf,
    pub id: String,
}

/// The run's journal, held (locked) for as long as this lives: one JSON line per event.
pub struct Journal {
    file: File,
    path: PathBuf,
}

/// The run's Markdown transcript.
pub struct Transcript {
    file: File,
    path: PathBuf,
}

impl RunDir {
    /// A new run directory `RUNS/<date>-<time>-<page>-<pid>`, its journal and transcript.
    pub fn create(runs_dir: &Path, page: &Path) -> Result<(RunDir, Journal, Transcript)> {
        let stamp: String = now_rfc3339()
            .chars()
            .take(19)
            .filter(|c| c.is_ascii_digit() || *c == 'T')
            .collect::<String>()
            .replace('T', "-");
        let stem: String = page
            .file_stem()
            .map(|s| s.to_string_lossy().to_string())
            .unwrap_or_default()
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let id = format!("{stamp}-{stem}-{}", std::process::id());
        Self::create_named(runs_dir, &id)
    }

    /// A new run directory `parent/id` (which must not exist), its journal and transcript.
    pub fn create_named(parent: &Path, id: &str) -> Result<(RunDir, Journal, Transcript)> {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(parent)
            .map_err(|e| Error::io(parent, e))?;
        let path = parent.join(id);
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .map_err(|e| Error::io(&path, e))?;
        std::fs::DirBuilder::new()
            .mode(0o700)
            .create(path.join("state"))
            .map_err(|e| Error::io(&path, e))?;
        let (journal, transcript) = open_files(&path)?;
        Ok((
            RunDir {
                path,
                id: id.to_string(),
            },
            journal,
            transcript,
        ))
    }

    /// An existing run directory, to append to (resume). Refused while another runbook
    /// still has the run (its journal is locked for as long as that runbook lives).
    pub fn open(path: &Path) -> Result<(RunDir, Journal, Transcript)> {
        let (mut journal, transcript) = open_files(path)?;
        // a line cut off by a kill is ended, so that the next event starts a line of its own
        if !ends_with_newline(&journal.path).map_err(|e| Error::io(&journal.path, e))? {
            journal
                .file
                .write_all(b"\n")
                .map_err(|e| Error::io(&journal.path, e))?;
        }
        let id = path
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_default();
        Ok((
            RunDir {
                path: path.to_path_buf(),
                id,
            },
            journal,
            transcript,
        ))
    }

    /// Write a private file of the run (0600) so that it is complete or absent.
    pub fn write_private(&self, rel: &str, data: &[u8]) -> Result<()> {
        let target = self.path.join(rel);
        let tmp = self.path.join(format!(".{}.tmp", rel.replace('/', "_")));
        let res = private_file(&tmp, false)
            .and_then(|mut f| f.write_all(data))
            .and_then(|_| std::fs::rename(&tmp, &target));
        if res.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        res.map_err(|e| Error::io(target, e))
    }
}

impl Journal {
    /// Append one record to the journal: one write(2) of a whole line before runbook goes
    /// on, so it survives runbook being killed (SIGKILL included); `durable` also waits for
    /// the disk (step ends and the run's end: what a resume relies on), which a power cut
    /// would need.
    pub fn append(&mut self, record: &impl serde::Serialize, durable: bool) -> Result<()> {
        let mut line = serde_json::to_string(record).unwrap_or_default();
        line.push('\n');
        if failpoint_hit("journal-torn") {
            // the fault tests: killed in the middle of a journal line
            let _ = self.file.write_all(&line.as_bytes()[..line.len() / 2]);
            die();
        }
        let written = self
            .file
            .write_all(line.as_bytes())
            .and_then(|_| {
                if durable {
                    self.file.sync_data()
                } else {
                    Ok(())
                }
            })
            .map_err(|e| Error::io(&self.path, e));
        failpoint("journal-after");
        written
    }
}

impl Transcript {
    /// Append to the Markdown transcript.
    pub fn write(&mut self, text: &str) -> Result<()> {
        self.file
            .write_all(text.as_bytes())
            .map_err(|e| Error::io(&self.path, e))
    }
}

/// Whether a file is empty or ends with a newline (only its last byte is read).
fn ends_with_newline(path: &Path) -> io::Result<bool> {
    use std::io::{Read, Seek, SeekFrom};
    let mut f = File::open(path)?;
    if f.metadata()?.len() == 0 {
        return Ok(true);
    }
    f.seek(SeekFrom::End(-1))?;
    let mut last = [0u8; 1];
    f.read_exact(&mut last)?;
    Ok(last[0] == b'\n')
}

/// Fault injection for the fault tests (`tests/faults.rs`): `RUNBOOK_FAILPOINT=NAME:N` makes
/// runbook SIGKILL itself the N-th time it reaches the point NAME (`journal-torn`: halfway
/// through writing a journal line; `journal-after`: after a journal line; `step-before`,
/// `step-running`, `step-exited`: before a step starts, while it runs, after it exited and
/// before its end is recorded). Without the variable every point is a no-op.
pub fn failpoint(name: &str) {
    if failpoint_hit(name) {
        die();
    }
}

fn failpoint_hit(name: &str) -> bool {
    static SPEC: std::sync::OnceLock<Option<(String, usize)>> = std::sync::OnceLock::new();
    static HITS: Mutex<Vec<(String, usize)>> = Mutex::new(Vec::new());
    let spec = SPEC.get_or_init(|| {
        let v = std::env::var("RUNBOOK_FAILPOINT").ok()?;
        let (n, k) = v.rsplit_once(':')?;
        Some((n.to_string(), k.parse().ok()?))
    });
    let Some((want, nth)) = spec else {
        return false;
    };
    if want != name {
        return false;
    }
    let mut hits = HITS.lock().unwrap_or_else(|e| e.into_inner());
    let count = match hits.iter_mut().find(|(n, _)| n == name) {
        Some((_, c)) => {
            *c += 1;
            *c
        }
        None => {
            hits.push((name.to_string(), 1));
            1
        }
    };
    count == *nth
}

fn die() {
    // the fault the tests want, as `kill -9` from outside
    let _ = rustix::process::kill_process(rustix::process::getpid(), rustix::process::Signal::KILL);
}

/// Where runbook's own tracing log goes while a run is in progress (the run's `runbook.log`).
pub static RUN_LOG: Mutex<Option<File>> = Mutex::new(None);

/// Send runbook's log to `dir/runbook.log` from now on.
pub fn log_to(dir: &Path) -> Result<()> {
    let path = dir.join("runbook.log");
    let f = private_file(&path, true).map_err(|e| Error::io(&path, e))?;
    *RUN_LOG.lock().unwrap_or_else(|e| e.into_inner()) = Some(f);
    Ok(())
}

/// A `tracing` writer that writes to the current run's log, if any.
pub struct RunLogWriter;

impl Write for RunLogWriter {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if let Some(f) = RUN_LOG.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            f.write_all(buf)?;
        }
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        if let Some(f) = RUN_LOG.lock().unwrap_or_else(|e| e.into_inner()).as_mut() {
            f.flush()?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_416), (2025, 11, 24));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }
}
