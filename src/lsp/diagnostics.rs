//! `check`'s diagnostics as LSP diagnostics: the same problems at the same places, the rule
//! id as `code`, `source` "runbook".

use super::text::{LineIndex, path_to_uri};
use crate::error::{Diagnostic, Severity};
use lsp_types::{
    DiagnosticRelatedInformation, DiagnosticSeverity, Location, NumberOrString, Position, Range,
};
use std::path::Path;

/// The page's diagnostics: those located in it at their place (the caret's width in
/// characters, within the line, as `check` underlines it); those located in another file
/// (an include, `_config.yml`, a data file) or nowhere at the top of the page, saying where.
pub fn to_lsp(page: &Path, text: &str, diags: &[Diagnostic]) -> Vec<lsp_types::Diagnostic> {
    let index = LineIndex::new(text);
    let mut seen = std::collections::HashSet::new();
    diags
        .iter()
        // one message is enough (as `check` dedups them)
        .filter(|d| seen.insert((d.message.clone(), d.position())))
        .map(|d| convert(page, text, &index, d))
        .collect()
}

fn convert(page: &Path, text: &str, index: &LineIndex, d: &Diagnostic) -> lsp_types::Diagnostic {
    let severity = match d.severity {
        Severity::Error => DiagnosticSeverity::ERROR,
        Severity::Warning => DiagnosticSeverity::WARNING,
        Severity::Note => DiagnosticSeverity::INFORMATION,
    };
    let mut message = d.message.clone();
    if let Some(h) = &d.hint {
        message.push_str("\nhelp: ");
        message.push_str(h);
    }
    let mut related = None;
    let range = match &d.location {
        Some(loc) if loc.file.path == page => {
            let start = loc.offset.min(text.len());
            let line = index.position(start).line as usize;
            let line_end = index.line_end(line).max(start);
            let end = text[start..line_end]
                .char_indices()
                .nth(d.width.max(1))
                .map(|(i, _)| start + i)
                .unwrap_or(line_end);
            index.range(start, end)
        }
        Some(loc) => {
            let (line, col) = loc.line_col();
            message = format!("{}:{line}:{col}: {message}", loc.file.display_path());
            if let Some(uri) = path_to_uri(&loc.file.path) {
                let other = LineIndex::new(&loc.file.text);
                let p = other.position(loc.offset);
                related = Some(vec![DiagnosticRelatedInformation {
                    location: Location::new(uri, Range::new(p, p)),
                    message: d.message.clone(),
                }]);
            }
            Range::new(Position::new(0, 0), Position::new(0, 0))
        }
        None => Range::new(Position::new(0, 0), Position::new(0, 0)),
    };
    lsp_types::Diagnostic {
        range,
        severity: Some(severity),
        code: Some(NumberOrString::String(d.code.to_string())),
        source: Some("runbook".to_string()),
        message,
        related_information: related,
        ..Default::default()
    }
}
