//! Hover: a variable's value and where it is defined; a placeholder's name for `--set` and
//! its hint; a code block's command as `run` executes it, and whether it is a step.

use super::cursor::{Target, target_at};
use super::values;
use super::workspace::Workspace;
use crate::document::Document;
use crate::runbook::Step;
use std::fmt::Write as _;

/// Markdown for the thing at byte `offset` of the page, if there is something to say.
pub fn hover(ws: &mut Workspace, uri: &str, offset: usize) -> Option<String> {
    let page = ws.pages.get(uri)?;
    let text = page.text().to_string();
    if let Some(t) = target_at(&text, offset) {
        let site = ws.site_of(page)?.site()?;
        return Some(match t {
            Target::Variable { path, .. } => variable(ws, uri, &path)?,
            Target::Include { relative, name, .. } => {
                match super::definition::include_path(site, &page.path, relative, &name) {
                    Some(p) => format!("include `{}`", crate::source::display_path(&p)),
                    None => format!("include `{name}`: no such file"),
                }
            }
        });
    }
    let doc = ws.model(uri)?;
    let index = super::text::LineIndex::new(&text);
    let pos = index.position(offset);
    let line = pos.line as usize + 1;
    let line_text = doc.page.file.line_text(line);
    let col = line_text[..offset
        .saturating_sub(index.line_start(pos.line as usize))
        .min(line_text.len())]
        .chars()
        .count()
        + 1;
    if let Some(h) = placeholder(&doc, line, col) {
        return Some(h);
    }
    // the innermost step around the line (a manual step's item holds no block)
    let step = doc
        .runbook
        .steps()
        .filter(|s| (s.lines.0..=s.lines.1).contains(&line))
        .min_by_key(|s| s.lines.1 - s.lines.0)?;
    Some(step_hover(step))
}

fn variable(ws: &Workspace, uri: &str, path: &[String]) -> Option<String> {
    let page = ws.pages.get(uri)?;
    let site = ws.site_of(page)?.site()?;
    let parsed = crate::page::parse(page.file.clone()).ok()?;
    let name = path.join(".");
    let mut o = String::new();
    if path.len() == 1 {
        // the whole site (its pages included) is too much to show: its keys
        let keys: Vec<String> = values::keys(site, &parsed, path)
            .into_iter()
            .map(|(k, _)| format!("`{k}`"))
            .collect();
        return Some(format!("`{name}`: {}", keys.join(", ")));
    }
    match values::value(site, &parsed, path) {
        Some(v) => {
            let shown = values::shown(&v);
            if shown.contains('\n') || shown.contains('`') {
                let _ = write!(o, "`{name}` =\n```\n{shown}\n```");
            } else {
                let _ = write!(o, "`{name}` = `{shown}`");
            }
        }
        None => {
            let _ = write!(
                o,
                "`{name}` is not defined: Jekyll renders it empty (`runbook check` reports it)"
            );
        }
    }
    if let Some(d) = values::defined(site, page, path) {
        let shown = d
            .path
            .strip_prefix(&site.root)
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| crate::source::display_path(&d.path));
        if d.text.is_empty() {
            let _ = write!(o, "\n\ndefined in `{shown}/`");
        } else {
            let line = d.text[..d.start.min(d.text.len())].matches('\n').count() + 1;
            let _ = write!(o, "\n\ndefined in `{shown}:{line}`");
        }
    }
    Some(o)
}

fn placeholder(doc: &Document, line: usize, col: usize) -> Option<String> {
    let text = doc.page.file.line_text(line);
    for step in doc.runbook.steps() {
        for p in &step.placeholders {
            if p.line != line || col < p.column {
                continue;
            }
            let from: String = text.chars().skip(p.column - 1).collect();
            let width = crate::commands::check::placeholder_width(&from, &p.name);
            if col >= p.column + width {
                continue;
            }
            let set = p.assigned_to.clone().unwrap_or_else(|| p.name.clone());
            let mut o = format!(
                "placeholder `<{}>` in step `{}`: give it a value with `--set '{set}=VALUE'`",
                p.name, step.id
            );
            if let Some(v) = &p.assigned_to {
                let _ = write!(o, " (it sets `${v}`)");
            }
            if let Some(h) = &p.hint {
                let _ = write!(o, "\n\nhint: {h}");
            }
            return Some(o);
        }
    }
    None
}

fn step_hover(step: &Step) -> String {
    let mut o = String::new();
    if step.is_manual() {
        let _ = write!(
            o,
            "step `{}`, done by hand: {}",
            step.id,
            crate::shell::display(&step.prose)
        );
        if !step.code.is_empty() {
            let _ = write!(
                o,
                "\n\nits command (run only if you choose to):\n```sh\n{}\n```",
                step.code.trim_end()
            );
        }
        return o;
    }
    if step.runnable {
        let _ = write!(o, "step `{}`: `runbook run` executes", step.id);
    } else {
        let _ = write!(
            o,
            "code block `{}`, not a step: `runbook run` skips it ({})",
            step.id, step.why
        );
    }
    let fill = crate::plan::fill(step, &Default::default());
    let _ = write!(
        o,
        "\n```sh\n{}\n```",
        crate::shell::display(fill.command.trim_end_matches('\n'))
    );
    for m in &fill.missing {
        let _ = write!(
            o,
            "\nneeds a value: `<{}>` (`--set '{}=VALUE'`){}",
            m.name,
            m.set_name,
            m.hint
                .as_ref()
                .map(|h| format!(", hint: {h}"))
                .unwrap_or_default()
        );
    }
    o
}
