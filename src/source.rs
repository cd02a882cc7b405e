//! Source files and positions: every diagnostic points at `file:line:column`.

use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};

/// A file's text with a line index, shared by everything that reports on it.
#[derive(Debug)]
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
    /// Computed on first use: most files are rendered without a single message.
    line_starts: OnceLock<Vec<usize>>,
}

impl SourceFile {
    pub fn new(path: PathBuf, text: String) -> Arc<SourceFile> {
        Arc::new(SourceFile {
            path,
            text,
            line_starts: OnceLock::new(),
        })
    }

    fn starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| line_starts(&self.text))
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let starts = self.starts();
        let line = match starts.binary_search(&offset) {
            Ok(i) => i,
            Err(i) => i - 1,
        };
        let start = starts[line];
        let col = self.text[start..floor_char_boundary(&self.text, offset)]
            .chars()
            .count();
        (line + 1, col + 1)
    }

    /// The text of a 1-based line, without its newline.
    pub fn line_text(&self, line: usize) -> &str {
        let starts = self.starts();
        if line == 0 || line > starts.len() {
            return "";
        }
        let start = starts[line - 1];
        let end = starts.get(line).map(|e| e - 1).unwrap_or(self.text.len());
        self.text[start..end.max(start)].trim_end_matches('\r')
    }

    pub fn line_count(&self) -> usize {
        self.starts().len()
    }

    /// Byte offset where a 1-based line starts.
    pub fn line_start(&self, line: usize) -> usize {
        self.starts()
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(self.text.len())
    }

    pub fn display_path(&self) -> String {
        display_path(&self.path)
    }
}

/// Paths are shown relative to the working directory when they are below it.
pub fn display_path(path: &Path) -> String {
    if let Ok(cwd) = std::env::current_dir()
        && let Ok(rel) = path.strip_prefix(&cwd)
    {
        return rel.display().to_string();
    }
    path.display().to_string()
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while i > 0 && !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

/// The byte offset where each line of `text` starts (the first is 0).
pub fn line_starts(text: &str) -> Vec<usize> {
    let mut v = vec![0];
    v.extend(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1));
    v
}

/// `text.lines().collect()`, with the newlines found by `memchr` (a page's lines are split
/// several times on the way to its model; `str::lines` costs per line what this costs per
/// 32 bytes).
pub fn lines(text: &str) -> Vec<&str> {
    let mut out = Vec::with_capacity(text.len() / 32 + 1);
    let mut start = 0;
    for nl in memchr::memchr_iter(b'\n', text.as_bytes()) {
        let line = &text[start..nl];
        out.push(line.strip_suffix('\r').unwrap_or(line));
        start = nl + 1;
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

/// A position in a source file.
#[derive(Debug, Clone)]
pub struct Location {
    pub file: Arc<SourceFile>,
    pub offset: usize,
}

impl Location {
    pub fn new(file: &Arc<SourceFile>, offset: usize) -> Location {
        Location {
            file: file.clone(),
            offset,
        }
    }
    pub fn line_col(&self) -> (usize, usize) {
        self.file.line_col(self.offset)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `lines` is `str::lines` on every text of up to 7 characters drawn from `a`, `\r`,
    /// `\n` and `é` (line ends of both kinds, a lone `\r` inside and at the end, a multi-byte
    /// character next to them, an empty text).
    #[test]
    fn lines_are_str_lines() {
        let alphabet = ["a", "\r", "\n", "é"];
        let mut texts = vec![String::new()];
        for _ in 0..7 {
            let longer: Vec<String> = texts
                .iter()
                .filter(|t| t.chars().count() == texts.last().map_or(0, |l| l.chars().count()))
                .flat_map(|t| alphabet.iter().map(move |c| format!("{t}{c}")))
                .collect();
            texts.extend(longer);
        }
        assert!(texts.len() > 20_000);
        for t in &texts {
            assert_eq!(lines(t), t.lines().collect::<Vec<_>>(), "{t:?}");
            let starts: Vec<usize> = std::iter::once(0)
                .chain(t.match_indices('\n').map(|(i, _)| i + 1))
                .collect();
            assert_eq!(line_starts(t), starts, "{t:?}");
        }
    }
}
