//! `check`'s problems in the formats that machines read: JSON, GitHub Actions workflow
//! commands, SARIF 2.1.0 (code scanning) and JUnit XML (CI test reports); the human format is
//! [`Diagnostic::render`]. One [`Report`] (the pages checked, each problem with whether it
//! fails the check) is written by each format; what fails is the [`Policy`]'s to say
//! (`--deny`/`--allow`), never the format's.

mod github;
mod junit;
mod sarif;

use crate::error::{Diagnostic, Severity};
use std::path::{Path, PathBuf};

/// How `check` writes what it found.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Each problem with its source line and a caret, on stderr
    #[default]
    Human,
    /// One JSON document on stdout
    Json,
    /// GitHub Actions workflow commands (`::error file=...::`), one per problem, on stdout
    Github,
    /// SARIF 2.1.0 on stdout, for code scanning
    Sarif,
    /// JUnit XML on stdout: a test case per page, its problems as its failure
    Junit,
}

/// What fails the check: by default every error and warning (not notes); `--deny RULE` makes
/// a rule's problems fail whatever their severity, `--allow RULE` makes them pass (they are
/// still reported).
#[derive(Debug, Clone, Default)]
pub struct Policy {
    pub deny: Vec<String>,
    pub allow: Vec<String>,
}

impl Policy {
    /// The policy of `--deny`/`--allow`: each a rule id (else the list of ids), never both.
    pub fn new(deny: &[String], allow: &[String]) -> Result<Policy, String> {
        for id in deny.iter().chain(allow) {
            if crate::rules::find(id).is_none() {
                return Err(format!(
                    "`{id}` is not a rule of runbook's; the rules are: {}",
                    crate::rules::ids()
                ));
            }
        }
        if let Some(both) = deny.iter().find(|d| allow.contains(d)) {
            return Err(format!("`{both}` is given to both --deny and --allow"));
        }
        Ok(Policy {
            deny: deny.to_vec(),
            allow: allow.to_vec(),
        })
    }

    pub fn fails(&self, d: &Diagnostic) -> bool {
        if self.allow.iter().any(|r| r == d.code) {
            false
        } else if self.deny.iter().any(|r| r == d.code) {
            true
        } else {
            d.severity != Severity::Note
        }
    }
}

/// A problem as the formats write it.
pub struct Problem<'a> {
    pub diag: &'a Diagnostic,
    /// It makes the check fail (exit 1).
    pub fails: bool,
}

impl Problem<'_> {
    /// The level the formats give it: `error` when it fails the check, else `warning` for an
    /// error or warning that is allowed, `note` for a note.
    pub fn level(&self) -> &'static str {
        match (self.fails, self.diag.severity) {
            (true, _) => "error",
            (false, Severity::Note) => "note",
            (false, _) => "warning",
        }
    }

    /// Where it is: the file (absolute), 1-based line, column and last column (inclusive,
    /// the caret's extent on that line), in characters.
    pub fn span(&self) -> Option<(PathBuf, usize, usize, usize)> {
        let loc = self.diag.location.as_ref()?;
        let (line, col) = loc.line_col();
        let path = std::path::absolute(&loc.file.path).unwrap_or(loc.file.path.clone());
        Some((path, line, col, col + self.diag.width.max(1) - 1))
    }
}

/// What a check found.
pub struct Report<'a> {
    /// The pages checked (absolute paths), in order.
    pub pages: Vec<PathBuf>,
    pub problems: Vec<Problem<'a>>,
}

impl Report<'_> {
    pub fn failing(&self) -> usize {
        self.problems.iter().filter(|p| p.fails).count()
    }
}

/// The report in `format` (not `Human`: that one is printed as it is found).
pub fn write(format: Format, report: &Report) -> String {
    match format {
        Format::Human => String::new(),
        Format::Json => json(report),
        Format::Github => github::write(report),
        Format::Sarif => sarif::write(report),
        Format::Junit => junit::write(report),
    }
}

/// `{"pages": N, "failing": N, "problems": [...]}`: each problem's severity, rule (also as
/// `code`), message, file, line, column, end_column, hint, and whether it fails the check.
fn json(report: &Report) -> String {
    let items: Vec<serde_json::Value> = report
        .problems
        .iter()
        .map(|p| {
            let mut v = p.diag.to_json();
            v["rule"] = p.diag.code.into();
            v["fails"] = p.fails.into();
            v["end_column"] = p.span().map(|(_, _, _, end)| end).into();
            v
        })
        .collect();
    serde_json::to_string_pretty(&serde_json::json!({
        "pages": report.pages.len(),
        "failing": report.failing(),
        "problems": items,
    }))
    .unwrap_or_default()
        + "\n"
}

/// The folder paths are given relative to in SARIF: the git work tree `dir` is in, else
/// `dir` itself.
pub fn repository_root(dir: &Path) -> PathBuf {
    let mut d = std::path::absolute(dir).unwrap_or(dir.to_path_buf());
    let start = d.clone();
    loop {
        if d.join(".git").exists() {
            return d;
        }
        if !d.pop() {
            return start;
        }
    }
}

/// `path` relative to `root` with `/` separators, as a URI reference (percent-encoded where
/// a URI needs it); else its absolute `file://` URI.
pub fn relative_uri(path: &Path, root: &Path) -> String {
    match path.strip_prefix(root) {
        Ok(rel) => encode(rel),
        Err(_) => file_uri(path),
    }
}

/// The `file://` URI of an absolute path.
pub fn file_uri(path: &Path) -> String {
    format!("file://{}", encode(path))
}

/// A path's components joined with `/`, each percent-encoded where a URI needs it.
fn encode(path: &Path) -> String {
    let mut out = String::new();
    for c in path.components() {
        if !out.is_empty() && !out.ends_with('/') {
            out.push('/');
        }
        let part = c.as_os_str().to_string_lossy();
        for b in part.bytes() {
            if b.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&b) {
                out.push(b as char);
            } else {
                out.push_str(&format!("%{b:02X}"));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uris_are_relative_and_encoded() {
        let root = Path::new("/repo");
        assert_eq!(
            relative_uri(Path::new("/repo/docs/a b#c.md"), root),
            "docs/a%20b%23c.md"
        );
        assert_eq!(
            relative_uri(Path::new("/elsewhere/x.md"), root),
            "file:///elsewhere/x.md"
        );
        assert_eq!(file_uri(Path::new("/a b/")), "file:///a%20b");
    }

    #[test]
    fn deny_and_allow_name_rules() {
        assert!(
            Policy::new(&["nope".into()], &[])
                .unwrap_err()
                .contains("liquid-syntax")
        );
        assert!(Policy::new(&["shell-syntax".into()], &["shell-syntax".into()]).is_err());
        let p = Policy::new(
            &["placeholder-unfilled".into()],
            &["undefined-variable".into()],
        )
        .unwrap();
        let note = Diagnostic::note("placeholder-unfilled", "x");
        let undefined = Diagnostic::error("undefined-variable", "y");
        let other = Diagnostic::warning("duplicate-key", "z");
        assert!(p.fails(&note) && !p.fails(&undefined) && p.fails(&other));
        assert!(!Policy::default().fails(&note));
    }
}
