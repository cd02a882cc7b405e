//! What the text at a position is, read from the page's source (not its rendering):
//!
//! - a Liquid tag is `{{ … }}` or `{% … %}`; the cursor is in it from its `{` to its `}`;
//! - in a tag, a variable is a run of `[A-Za-z0-9_.-]` starting with `site.` or `page.`;
//!   the cursor's segment and those before it are the variable meant (`site.data.a` on the
//!   `data` of `site.data.a.b`);
//! - `{% include NAME … %}` and `{% include_relative NAME … %}` name a file; a NAME holding
//!   Liquid (`{{ … }}`) names none that can be known before rendering.

/// A Liquid reference under the cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `site.a.b` or `page.x`, up to the segment under the cursor; the byte range of that
    /// text.
    Variable {
        path: Vec<String>,
        start: usize,
        end: usize,
    },
    /// The file an include tag names.
    Include {
        relative: bool,
        name: String,
        start: usize,
        end: usize,
    },
}

/// The byte range of the Liquid tag around `offset`, if the cursor is in one.
pub fn tag_at(text: &str, offset: usize) -> Option<(usize, usize)> {
    let offset = offset.min(text.len());
    // on the tag's first `{`: the tag starts here
    let probe = (offset + 2).min(text.len());
    let probe = (offset..=probe)
        .rev()
        .find(|i| text.is_char_boundary(*i))
        .unwrap_or(offset);
    let before = &text[..probe];
    // not further back than a few lines: a tag is short
    let floor = before.len().saturating_sub(4096);
    let open = [before.rfind("{{"), before.rfind("{%")]
        .into_iter()
        .flatten()
        .filter(|o| *o >= floor)
        .max()?;
    let rest = &text[open + 2..];
    let close = [rest.find("}}"), rest.find("%}")]
        .into_iter()
        .flatten()
        .min()?
        + open
        + 2;
    (offset <= close + 1).then_some((open, close + 2))
}

fn is_path_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.')
}

/// The Liquid reference at `offset`.
pub fn target_at(text: &str, offset: usize) -> Option<Target> {
    let (open, close) = tag_at(text, offset)?;
    let tag = &text[open..close];
    if let Some(t) = include_in(tag, open) {
        return Some(t);
    }
    let offset = offset.clamp(open, close);
    // the run of path characters around the cursor
    let start = text[open..offset]
        .char_indices()
        .rev()
        .take_while(|(_, c)| is_path_char(*c))
        .last()
        .map(|(i, _)| open + i)
        .unwrap_or(offset);
    let end = text[offset..close]
        .char_indices()
        .find(|(_, c)| !is_path_char(*c))
        .map(|(i, _)| offset + i)
        .unwrap_or(close);
    let run = &text[start..end];
    if !(run.starts_with("site.") || run.starts_with("page.") || run == "site" || run == "page") {
        return None;
    }
    // segments up to the one the cursor is in
    let upto = offset - start;
    let seg_end = run[upto..].find('.').map(|i| upto + i).unwrap_or(run.len());
    let path: Vec<String> = run[..seg_end]
        .split('.')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    Some(Target::Variable {
        path,
        start,
        end: start + seg_end,
    })
}

/// `{% include NAME %}` / `{% include_relative NAME %}` in a tag's text (at `base`).
fn include_in(tag: &str, base: usize) -> Option<Target> {
    let inner = tag.strip_prefix("{%")?;
    let inner_at = 2 + (inner.len() - inner.trim_start_matches('-').len());
    let body = &tag[inner_at..];
    let body = body.trim_start();
    let (relative, after) = if let Some(r) = body.strip_prefix("include_relative") {
        (true, r)
    } else {
        (false, body.strip_prefix("include")?)
    };
    if !after.starts_with(char::is_whitespace) {
        return None;
    }
    let name_at = tag.len() - after.len() + (after.len() - after.trim_start().len());
    let name: String = tag[name_at..]
        .chars()
        .take_while(|c| !c.is_whitespace() && *c != '%' && *c != '}')
        .collect();
    if name.is_empty() || name.contains("{{") {
        return None;
    }
    Some(Target::Include {
        relative,
        start: base + name_at,
        end: base + name_at + name.len(),
        name,
    })
}

/// What completion is asked for, from the text before the cursor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Completing {
    /// A key under `parent` (`["site"]`, `["site", "data"]`, `["page"]`), `partial` typed so
    /// far from byte `start`.
    Key {
        parent: Vec<String>,
        partial: String,
        start: usize,
    },
    /// An include's name, typed so far from byte `start`.
    Include { partial: String, start: usize },
}

/// What the text before `offset` asks to complete: it is in an unclosed Liquid tag (on this
/// line), after `site.`, `page.` or `include `.
pub fn completing(text: &str, offset: usize) -> Option<Completing> {
    let offset = offset.min(text.len());
    let line_start = text[..offset].rfind('\n').map(|i| i + 1).unwrap_or(0);
    let line = &text[line_start..offset];
    let open = [line.rfind("{{"), line.rfind("{%")]
        .into_iter()
        .flatten()
        .max()?;
    let in_tag = &line[open..];
    if in_tag[2..].contains("}}") || in_tag[2..].contains("%}") {
        return None;
    }
    if let Some(rest) = in_tag.strip_prefix("{%") {
        let rest = rest.trim_start_matches('-').trim_start();
        if let Some(name) = rest.strip_prefix("include")
            && name.starts_with(char::is_whitespace)
        {
            let partial = name.trim_start();
            if !partial.contains(char::is_whitespace) {
                return Some(Completing::Include {
                    partial: partial.to_string(),
                    start: offset - partial.len(),
                });
            }
        }
    }
    let run_len = in_tag
        .chars()
        .rev()
        .take_while(|c| is_path_char(*c))
        .map(char::len_utf8)
        .sum::<usize>();
    let run = &in_tag[in_tag.len() - run_len..];
    if !(run.starts_with("site.") || run.starts_with("page.")) {
        return None;
    }
    let (parent, partial) = run.rsplit_once('.')?;
    Some(Completing::Key {
        parent: parent.split('.').map(str::to_string).collect(),
        partial: partial.to_string(),
        start: offset - partial.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(text: &str, at: &str) -> Option<Vec<String>> {
        match target_at(text, text.find(at).unwrap()) {
            Some(Target::Variable { path, .. }) => Some(path),
            _ => None,
        }
    }

    #[test]
    fn variables() {
        let t = "x {{ site.data.a.b | upcase }} y {{site.builduser}}";
        assert_eq!(var(t, "data").unwrap(), ["site", "data"]);
        assert_eq!(var(t, "b |").unwrap(), ["site", "data", "a", "b"]);
        assert_eq!(var(t, "site.builduser").unwrap(), ["site"]);
        assert_eq!(var(t, "builduser").unwrap(), ["site", "builduser"]);
        assert_eq!(var(t, "upcase"), None);
        assert_eq!(var(t, "y {{"), None);
    }

    #[test]
    fn includes() {
        let t = "{% include note.md a=1 %} {%- include_relative ../x.md -%} {% include {{ v }} %}";
        match target_at(t, t.find("note").unwrap()) {
            Some(Target::Include { name, relative, .. }) => {
                assert_eq!(name, "note.md");
                assert!(!relative);
            }
            other => panic!("{other:?}"),
        }
        match target_at(t, t.find("relative").unwrap()) {
            Some(Target::Include { name, relative, .. }) => {
                assert_eq!(name, "../x.md");
                assert!(relative);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(target_at(t, t.find("{{ v").unwrap() - 2), None);
    }

    #[test]
    fn completion_context() {
        let t = "a {{ site.";
        assert_eq!(
            completing(t, t.len()),
            Some(Completing::Key {
                parent: vec!["site".into()],
                partial: String::new(),
                start: t.len()
            })
        );
        let t = "{{ site.data.us";
        assert_eq!(
            completing(t, t.len()),
            Some(Completing::Key {
                parent: vec!["site".into(), "data".into()],
                partial: "us".into(),
                start: t.len() - 2
            })
        );
        let t = "{% include no";
        assert_eq!(
            completing(t, t.len()),
            Some(Completing::Include {
                partial: "no".into(),
                start: t.len() - 2
            })
        );
        assert_eq!(completing("{{ site.x }} site.", 18), None);
    }
}
