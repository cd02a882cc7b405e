//! Typed errors, exit codes, and the one place that prints diagnostics.
//!
//! Exit codes (documented in the README and `--help`):
//! - 0: success (for `check`: no problems),
//! - 1: `check` found problems in the pages,
//! - 2: usage error or input that cannot be processed (missing page, invalid YAML,
//!   fatal Liquid error, …).

use crate::source::{Location, SourceFile};
use serde::Serialize;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::sync::Arc;

pub const EXIT_OK: i32 = 0;
pub const EXIT_PROBLEMS: i32 = 1;
pub const EXIT_INPUT: i32 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    /// Information that is not a problem (e.g. a placeholder to fill at run time).
    Note,
}

/// One problem in one file, with where it is and how to fix it.
#[derive(Debug, Clone)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Short machine-readable kind, e.g. `undefined-variable`.
    pub code: &'static str,
    pub message: String,
    pub location: Option<Location>,
    /// Number of characters the caret underlines.
    pub width: usize,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            location: None,
            width: 1,
            hint: None,
        }
    }
    pub fn warning(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }
    pub fn at(mut self, file: &Arc<SourceFile>, offset: usize) -> Diagnostic {
        self.location = Some(Location::new(file, offset));
        self
    }
    pub fn at_loc(mut self, loc: Option<Location>) -> Diagnostic {
        self.location = loc;
        self
    }
    pub fn width(mut self, width: usize) -> Diagnostic {
        self.width = width.max(1);
        self
    }
    pub fn hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hint = Some(hint.into());
        self
    }
    pub fn note(code: &'static str, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Note,
            ..Diagnostic::error(code, message)
        }
    }
    pub fn as_error(mut self) -> Diagnostic {
        self.severity = Severity::Error;
        self
    }

    /// `file:line:column` of the problem, or just the file.
    pub fn position(&self) -> Option<(String, usize, usize)> {
        self.location.as_ref().map(|loc| {
            let (line, col) = loc.line_col();
            (loc.file.display_path(), line, col)
        })
    }

    /// The human rendering: a header, the source line with a caret, and the hint.
    pub fn render(&self, color: bool) -> String {
        let (red, yellow, blue, bold, reset) = if color {
            ("\x1b[31m", "\x1b[33m", "\x1b[34m", "\x1b[1m", "\x1b[0m")
        } else {
            ("", "", "", "", "")
        };
        let mut out = String::new();
        let (label, c) = match self.severity {
            Severity::Error => ("error", red),
            Severity::Warning => ("warning", yellow),
            Severity::Note => ("note", blue),
        };
        // the rule id last: a stable name for the kind of problem (`check --allow RULE`)
        let _ = writeln!(
            out,
            "{bold}{c}{label}{reset}{bold}: {}{reset} {blue}[{}]{reset}",
            crate::shell::display(&self.message),
            self.code
        );
        if let Some(loc) = &self.location {
            let (line, col) = loc.line_col();
            let _ = writeln!(
                out,
                "  {blue}-->{reset} {}:{}:{}",
                loc.file.display_path(),
                line,
                col
            );
            let text = loc.file.line_text(line);
            let gutter = line.to_string().len();
            // control characters in the page are shown escaped (`\e`), so the snippet shows
            // what is there and the terminal is not driven by it; the caret follows
            let show =
                |s: &str| -> String { crate::shell::display(&s.replace('\t', " ")).into_owned() };
            let before: String = text.chars().take(col - 1).collect();
            let pad = show(&before).chars().count();
            let shown = show(text);
            let marked: String = text.chars().skip(col - 1).take(self.width.max(1)).collect();
            let avail = shown.chars().count().saturating_sub(pad).max(1);
            let width = show(&marked).chars().count().max(1);
            let _ = writeln!(out, "{blue}{:gutter$} |{reset}", "");
            let _ = writeln!(out, "{blue}{line} |{reset} {shown}");
            let _ = writeln!(
                out,
                "{blue}{:gutter$} |{reset} {}{c}{}{reset}",
                "",
                " ".repeat(pad),
                "^".repeat(width.min(avail))
            );
        }
        if let Some(hint) = &self.hint {
            let _ = writeln!(out, "  {blue}= help:{reset} {hint}");
        }
        out
    }

    pub fn to_json(&self) -> serde_json::Value {
        let (file, line, column) = match self.position() {
            Some((f, l, c)) => (Some(f), Some(l), Some(c)),
            None => (None, None, None),
        };
        serde_json::json!({
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "file": file,
            "line": line,
            "column": column,
            "hint": self.hint,
        })
    }
}

/// Everything that can stop a command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{0}")]
    Usage(String),
    /// Reading or writing (a page, a run's journal on a full disk): say which file and why.
    #[error("{}: {source}", crate::source::display_path(path))]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Problems in the input, already located.
    #[error("{}", .0.first().map(|d| d.message.clone()).unwrap_or_default())]
    Input(Vec<Diagnostic>),
}

impl Error {
    pub fn code(&self) -> i32 {
        match self {
            Error::Usage(_) | Error::Io { .. } | Error::Input(_) => EXIT_INPUT,
        }
    }
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
    pub fn render(&self, color: bool) -> String {
        match self {
            Error::Input(diags) => diags.iter().map(|d| d.render(color)).collect(),
            other => {
                let (red, bold, reset) = if color {
                    ("\x1b[31m", "\x1b[1m", "\x1b[0m")
                } else {
                    ("", "", "")
                };
                format!("{bold}{red}error{reset}{bold}: {other}{reset}\n")
            }
        }
    }
}

impl From<Diagnostic> for Error {
    fn from(d: Diagnostic) -> Error {
        Error::Input(vec![d])
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
