//! Document symbols: the page's sections (nested as their headings are) and their steps, as
//! `runbook list` shows them.

use super::text::LineIndex;
use crate::document::Document;
use lsp_types::{DocumentSymbol, SymbolKind};

#[allow(deprecated)] // `deprecated` is a required field of DocumentSymbol
pub fn symbols(doc: &Document, text: &str) -> Vec<DocumentSymbol> {
    let index = LineIndex::new(text);
    let last_line = text.lines().count().max(1);
    let sections = &doc.runbook.sections;
    // a section runs to the line before the next heading of its level or higher
    let ends: Vec<usize> = (0..sections.len())
        .map(|i| {
            sections[i + 1..]
                .iter()
                .find(|s| s.level <= sections[i].level || sections[i].level == 0)
                .map(|s| s.line.saturating_sub(1).max(sections[i].line))
                .unwrap_or(last_line)
        })
        .collect();
    // 1-based inclusive lines to a range over whole lines
    let lines = |a: usize, b: usize| {
        let start = index.line_start(a.saturating_sub(1));
        let end = index.line_end(b.max(a).saturating_sub(1));
        index.range(start, end.max(start))
    };
    let mut built: Vec<Option<DocumentSymbol>> = sections
        .iter()
        .zip(&ends)
        .map(|(s, end)| {
            let steps = s
                .steps
                .iter()
                .map(|st| {
                    let detail = if st.is_manual() {
                        format!("by hand: {}", st.prose)
                    } else {
                        let first = st.code.lines().next().unwrap_or("").to_string();
                        if st.runnable {
                            first
                        } else {
                            format!("skip: {first}")
                        }
                    };
                    let r = lines(st.lines.0, st.lines.1);
                    DocumentSymbol {
                        name: st.id.clone(),
                        detail: Some(detail),
                        kind: if st.is_manual() {
                            SymbolKind::EVENT
                        } else {
                            SymbolKind::FUNCTION
                        },
                        tags: None,
                        deprecated: None,
                        range: r,
                        selection_range: lines(st.lines.0, st.lines.0),
                        children: None,
                    }
                })
                .collect::<Vec<_>>();
            let title = if s.title.is_empty() {
                "(top of page)".to_string()
            } else {
                s.title.clone()
            };
            Some(DocumentSymbol {
                name: title,
                detail: Some(format!("#{}", s.id)),
                kind: SymbolKind::NAMESPACE,
                tags: None,
                deprecated: None,
                range: lines(s.line, *end),
                selection_range: lines(s.line, s.line),
                children: Some(steps),
            })
        })
        .collect();
    // nest each section in its parent (parents come first: attach from the last)
    for i in (0..sections.len()).rev() {
        let Some(parent) = sections[i].parent.as_deref() else {
            continue;
        };
        let Some(p) = sections[..i].iter().rposition(|s| s.id == parent) else {
            continue;
        };
        if let Some(child) = built[i].take()
            && let Some(ps) = built[p].as_mut()
        {
            let children = ps.children.get_or_insert_with(Vec::new);
            children.push(child);
            children.sort_by_key(|c| (c.range.start.line, c.range.start.character));
            // the parent's range covers its children
            if child_end(children) > ps.range.end {
                ps.range.end = child_end(children);
            }
        }
    }
    built.into_iter().flatten().collect()
}

fn child_end(children: &[DocumentSymbol]) -> lsp_types::Position {
    children
        .iter()
        .map(|c| c.range.end)
        .max()
        .unwrap_or_default()
}
