//! Completion from the text before the cursor (Neovim 0.7 sends no completion context):
//! `site.` keys (nested: the config's, and `site.data.` from `_data/`), `page.` keys, include
//! names after `{% include `, and in the front matter the keys other pages of the site use.

use super::cursor::{Completing, completing};
use super::text::LineIndex;
use super::values;
use super::workspace::Workspace;
use lsp_types::{CompletionItem, CompletionItemKind, CompletionTextEdit, TextEdit};
use std::collections::BTreeMap;
use std::path::Path;

pub fn completion(ws: &Workspace, uri: &str, offset: usize) -> Vec<CompletionItem> {
    let Some(page) = ws.pages.get(uri) else {
        return Vec::new();
    };
    let Some(site) = ws.site_of(page).and_then(|s| s.site()) else {
        return Vec::new();
    };
    let text = page.text();
    let index = LineIndex::new(text);
    let item = |label: String, detail: String, kind, start: usize| CompletionItem {
        label: label.clone(),
        kind: Some(kind),
        detail: Some(detail),
        filter_text: Some(label.clone()),
        text_edit: Some(CompletionTextEdit::Edit(TextEdit::new(
            index.range(start, offset),
            label,
        ))),
        ..Default::default()
    };
    match completing(text, offset) {
        Some(Completing::Key {
            parent,
            partial,
            start,
        }) => {
            let Ok(parsed) = crate::page::parse(page.file.clone()) else {
                return Vec::new();
            };
            let mut keys = values::keys(site, &parsed, &parent);
            if parent == ["page"] {
                // keys other pages' front matter uses
                for (k, n) in front_matter_keys(ws, &page.site) {
                    if !keys.iter().any(|(x, _)| *x == k) {
                        keys.push((k, format!("front matter of {n} page(s)")));
                    }
                }
            }
            keys.into_iter()
                .filter(|(k, _)| k.starts_with(&partial))
                .map(|(k, d)| item(k, d, CompletionItemKind::FIELD, start))
                .collect()
        }
        Some(Completing::Include { partial, start }) => {
            let dir = &site.env.includes_dir;
            let mut names = Vec::new();
            list_files(dir, dir, &mut names);
            names.sort();
            names
                .into_iter()
                .filter(|n| n.starts_with(&partial))
                .map(|n| item(n, "include".into(), CompletionItemKind::FILE, start))
                .collect()
        }
        None => {
            // a key at the start of a front matter line
            let Some((yaml, _)) = crate::page::split_front_matter(text) else {
                return Vec::new();
            };
            if !(yaml.start..=yaml.end).contains(&offset) {
                return Vec::new();
            }
            let line_start = text[..offset].rfind('\n').map(|i| i + 1).unwrap_or(0);
            let typed = &text[line_start..offset];
            if !typed
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '-')
            {
                return Vec::new();
            }
            front_matter_keys(ws, &page.site)
                .into_iter()
                .filter(|(k, _)| k.starts_with(typed))
                .map(|(k, n)| {
                    item(
                        k,
                        format!("front matter of {n} page(s)"),
                        CompletionItemKind::PROPERTY,
                        line_start,
                    )
                })
                .collect()
        }
    }
}

/// The top-level front matter keys of the site's pages, with how many pages use each.
fn front_matter_keys(ws: &Workspace, site_key: &Path) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    let Some(site) = ws.sites.get(site_key).and_then(|s| s.site()) else {
        return out;
    };
    for p in site.index.get().pages_read() {
        for (k, _) in crate::liquid::value::map_pairs(&p.front) {
            *out.entry(crate::liquid::value::to_s(&k)).or_insert(0) += 1;
        }
    }
    out
}

fn list_files(root: &Path, dir: &Path, out: &mut Vec<String>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if e.file_name().to_string_lossy().starts_with('.') {
            continue;
        }
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            list_files(root, &p, out);
        } else if let Ok(rel) = p.strip_prefix(root) {
            out.push(rel.to_string_lossy().into_owned());
        }
    }
}
