//! Reading a page: front matter split exactly as Jekyll's regular expression does.

use crate::error::{Diagnostic, Error};
use crate::source::SourceFile;
use crate::yaml::{self, YamlSource};
use minijinja::Value;
use std::path::Path;
use std::sync::Arc;

#[derive(Debug, Clone)]
pub struct Page {
    pub file: Arc<SourceFile>,
    /// Front matter values (nil when there is none).
    pub front: Value,
    /// Whether the page had front matter.
    pub has_front: bool,
    /// Byte offset where the body starts.
    pub body_start: usize,
    pub warnings: Vec<Diagnostic>,
}

impl Page {
    pub fn body(&self) -> &str {
        &self.file.text[self.body_start..]
    }

    /// A front matter value by its path (`["runbook", "shell"]`); None when absent or nil.
    pub fn front_value(&self, path: &[&str]) -> Option<Value> {
        let mut v = self.front.clone();
        for key in path {
            v = crate::liquid::value::lookup(&v, &Value::from(*key), false)?;
        }
        (!crate::liquid::value::is_nil(&v)).then_some(v)
    }

    /// A front matter value as text (`title`, `runbook.shell`).
    pub fn front_str(&self, path: &[&str]) -> Option<String> {
        self.front_value(path)
            .map(|v| crate::liquid::value::to_s(&v))
    }
}

/// Read a file as UTF-8 text; binary and non-UTF-8 files are refused with a located message.
pub fn read_text(path: &Path) -> Result<Arc<SourceFile>, Error> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if bytes.contains(&0) {
        let at = bytes.iter().position(|b| *b == 0).unwrap_or(0);
        let line = bytes[..at].iter().filter(|b| **b == b'\n').count() + 1;
        return Err(Error::Input(vec![
            Diagnostic::error(
                "binary-file",
                format!(
                    "{}:{line}: is a binary file (NUL byte at offset {at})",
                    crate::source::display_path(path)
                ),
            )
            .hint("runbook reads Markdown pages; pass a .md or .markdown file"),
        ]));
    }
    match String::from_utf8(bytes) {
        Ok(text) => Ok(SourceFile::new(path.to_path_buf(), text)),
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            Err(Error::Input(vec![
                Diagnostic::error("not-utf8", not_utf8_message(path, e.as_bytes(), at))
                    .hint("save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8`)"),
            ]))
        }
    }
}

/// `file:line:column: is not valid UTF-8 (byte 0x..)` for the first bad byte at `at`.
pub fn not_utf8_message(path: &Path, bytes: &[u8], at: usize) -> String {
    let line = bytes[..at].iter().filter(|b| **b == b'\n').count() + 1;
    let col = at
        - bytes[..at]
            .iter()
            .rposition(|b| *b == b'\n')
            .map(|p| p + 1)
            .unwrap_or(0)
        + 1;
    format!(
        "{}:{line}:{col}: is not valid UTF-8 (byte 0x{:02x})",
        crate::source::display_path(path),
        bytes.get(at).copied().unwrap_or(0)
    )
}

/// Split `---\n yaml \n---\n body` the way Jekyll's `YAML_FRONT_MATTER_REGEXP` does:
/// `\A(---\s*\n.*?\n?)^((---|\.\.\.)\s*$\n?)` (multi-line). Returns (yaml range, body start).
pub fn split_front_matter(text: &str) -> Option<(std::ops::Range<usize>, usize)> {
    let b = text.as_bytes();
    if !text.starts_with("---") {
        return None;
    }
    // `---\s*\n`: whitespace after the dashes, ending at the last newline of that run
    let mut i = 3;
    let mut last_nl = None;
    while i < b.len() && b[i].is_ascii_whitespace() {
        if b[i] == b'\n' {
            last_nl = Some(i);
        }
        i += 1;
    }
    let yaml_start = last_nl? + 1;
    // earliest line start at or after yaml_start with `---` or `...` then `\s*$`
    let mut p = yaml_start;
    loop {
        if p > b.len() {
            return None;
        }
        let at_line_start = p == 0 || b[p - 1] == b'\n';
        if at_line_start && (text[p..].starts_with("---") || text[p..].starts_with("...")) {
            let mut j = p + 3;
            let mut end_nl = None;
            let mut k = j;
            while k < b.len() && b[k].is_ascii_whitespace() {
                if b[k] == b'\n' {
                    end_nl = Some(k);
                }
                k += 1;
            }
            let ok = if k == b.len() {
                j = k;
                true
            } else if let Some(nl) = end_nl {
                j = nl + 1;
                true
            } else {
                false
            };
            if ok {
                return Some((yaml_start..p, j));
            }
        }
        match text[p..].find('\n') {
            Some(n) => p += n + 1,
            None => return None,
        }
    }
}

pub fn load(path: &Path) -> Result<Page, Error> {
    let file = read_text(path)?;
    parse(file)
}

pub fn parse(file: Arc<SourceFile>) -> Result<Page, Error> {
    let Some((yaml_range, body_start)) = split_front_matter(&file.text) else {
        let mut warnings = Vec::new();
        if file.text.starts_with("---\n") || file.text.starts_with("---\r\n") {
            warnings.push(
                Diagnostic::warning(
                    "unclosed-front-matter",
                    "front matter is not closed: Jekyll treats the whole file as the body",
                )
                .at(&file, 0)
                .width(3)
                .hint("end the front matter with a line `---`"),
            );
        }
        return Ok(Page {
            file,
            front: Value::from(()),
            has_front: false,
            body_start: 0,
            warnings,
        });
    };
    let (front, warnings) = yaml::load(&YamlSource {
        file: &file,
        base: yaml_range.start,
        text: &file.text[yaml_range.clone()],
    })
    .map_err(|d| Error::Input(vec![d]))?;
    if !front.is_none() && !crate::liquid::value::is_map(&front) {
        return Err(Error::Input(vec![
            Diagnostic::error(
                "invalid-front-matter",
                "front matter must be a YAML mapping (`key: value` lines)",
            )
            .at(&file, yaml_range.start),
        ]));
    }
    Ok(Page {
        file,
        front,
        has_front: true,
        body_start,
        warnings,
    })
}

#[cfg(test)]
mod tests {
    use super::split_front_matter;

    #[test]
    fn front_matter_like_jekyll() {
        let t = "---\ntitle: x\n---\n\n\nbody\n";
        let (y, b) = split_front_matter(t).unwrap();
        assert_eq!(&t[y], "title: x\n");
        assert_eq!(&t[b..], "body\n");
        let t = "---\n---\nbody";
        assert_eq!(&t[split_front_matter(t).unwrap().1..], "body");
        assert!(split_front_matter("no front matter\n---\n").is_none());
        let t = "---\na: 1\n---x\n...\nrest";
        assert_eq!(&t[split_front_matter(t).unwrap().1..], "rest");
    }
}
