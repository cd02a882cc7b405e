//! `runbook check`: every problem in every page, strict, with file:line:column.

use super::{markdown_files, report as report_diags, site_vars};
use crate::cli::SiteArgs;
use crate::error::{Diagnostic, EXIT_OK, EXIT_PROBLEMS, Error, Result, Severity};
use crate::formats::{Format, Policy, Problem, Report};
use crate::liquid::{Engine, Mode};
use crate::site::Site;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// All problems of one page (strict Liquid, Markdown structure, runnable steps that `bash -n`
/// refuses: see [`crate::syntax`]; it parses and runs nothing), then the placeholders the
/// page needs filled at run time, as notes: those of runnable steps, and those of manual
/// steps' inline commands (asked only if the operator chooses to run that command, so never
/// more than a note either).
pub fn check_page(engine: &Engine, site: &Site, path: &Path) -> Vec<Diagnostic> {
    check_loaded(crate::document::load(engine, site, path, Mode::Strict))
}

/// [`check_page`] on a page whose text is given (an editor's buffer: `runbook lsp`).
pub fn check_text(
    engine: &Engine,
    site: &Site,
    file: std::sync::Arc<crate::source::SourceFile>,
) -> Vec<Diagnostic> {
    check_loaded(crate::document::load_text(engine, site, file, Mode::Strict))
}

fn check_loaded(doc: Result<crate::document::Document, Vec<Diagnostic>>) -> Vec<Diagnostic> {
    let doc = match doc {
        Ok(d) => d,
        Err(diags) => return diags,
    };
    let mut out = doc.diagnostics;
    let file = &doc.page.file;
    let in_page = crate::document::control_characters(file);
    // a control character can also reach a command through the site's variables: the
    // rendered step holds it where the page does not
    for step in doc.runbook.steps().filter(|s| s.runnable) {
        let in_source = in_page.iter().any(|d| {
            d.position()
                .is_some_and(|p| (step.lines.0..=step.lines.1).contains(&p.1))
        });
        if crate::shell::has_control(&step.code) && !in_source {
            out.push(
                Diagnostic::error(
                    "control-character",
                    format!(
                        "step {} holds a control character that comes from a Liquid value (it runs as `{}`)",
                        step.id,
                        crate::shell::display(step.code.trim_end())
                    ),
                )
                .at(file, file.line_start(step.lines.0))
                .hint("remove it from the site's config or data, where the step's variables come from"),
            );
        }
    }
    out.extend(in_page);
    // `bash -n` on each runnable step (parses only; nothing runs), when the page runs bash
    let page_shell = doc
        .page
        .front_value(&["runbook", "shell"])
        .filter(|v| !crate::liquid::value::is_nil(v))
        .map(|v| crate::liquid::value::to_s(&v));
    if page_shell.as_deref().is_none_or(crate::syntax::is_bash) {
        let runnable: Vec<&crate::runbook::Step> =
            doc.runbook.steps().filter(|s| s.runnable).collect();
        out.extend(crate::syntax::diagnostics(file, &runnable));
    }
    for step in doc.runbook.steps().filter(|s| s.runnable || s.is_manual()) {
        for p in &step.placeholders {
            let line = file.line_text(p.line);
            let col = line
                .char_indices()
                .nth(p.column - 1)
                .map(|(i, _)| i)
                .unwrap_or(0);
            let name = p.assigned_to.clone().unwrap_or_else(|| p.name.clone());
            let mut hint = format!("give it a value when running: --set '{name}=VALUE'");
            if let Some(h) = &p.hint {
                hint.push_str(&format!(" ({h})"));
            }
            let message = if step.is_manual() {
                format!(
                    "placeholder `<{}>` in the command of manual step {} needs a value if that command is run",
                    p.name, step.id
                )
            } else {
                format!(
                    "placeholder `<{}>` in step {} needs a value",
                    p.name, step.id
                )
            };
            out.push(
                Diagnostic::note("placeholder-unfilled", message)
                    .at(file, file.line_start(p.line) + col)
                    .width(placeholder_width(&line[col..], &p.name))
                    .hint(hint),
            );
        }
    }
    out
}

pub fn run(
    paths: &[PathBuf],
    format: Format,
    deny: &[String],
    allow: &[String],
    site_args: &SiteArgs,
) -> Result<i32> {
    let policy = Policy::new(deny, allow).map_err(Error::Usage)?;
    let vars = site_vars(site_args)?;
    // (file, named on the command line rather than found in a folder)
    let mut files: Vec<(PathBuf, bool)> = Vec::new();
    for p in paths {
        if p.is_dir() {
            files.extend(markdown_files(p).into_iter().map(|f| (f, false)));
        } else if p.exists() {
            files.push((p.clone(), true));
        } else {
            return Err(Error::Usage(format!(
                "{} does not exist",
                crate::source::display_path(p)
            )));
        }
    }
    // one site (and engine) per config
    let mut engines: HashMap<Option<PathBuf>, (Site, Engine)> = HashMap::new();
    let mut all = Vec::new();
    let mut checked: Vec<PathBuf> = Vec::new();
    for (f, named) in &files {
        let key = match &site_args.site {
            Some(s) => Some(s.clone()),
            None => crate::site::find_config(&std::path::absolute(f).unwrap_or(f.clone())),
        };
        if !engines.contains_key(&key) {
            let site = match Site::load(f, site_args.site.as_deref(), &vars) {
                Ok(s) => s,
                Err(Error::Input(d)) => {
                    all.extend(d);
                    continue;
                }
                Err(e) => return Err(e),
            };
            all.extend(site.warnings.clone());
            // _data is read lazily when rendering; a check reads it all
            match site.data.load() {
                Ok((_, warnings)) => all.extend(warnings.iter().cloned()),
                Err(d) => all.extend(d.iter().cloned()),
            }
            let engine = super::engine_for(&site);
            engines.insert(key.clone(), (site, engine));
        }
        let (site, engine) = &engines[&key];
        // a file the site excludes is no page of it (unless named on the command line)
        if !named && site.excludes(f) {
            continue;
        }
        checked.push(std::path::absolute(f).unwrap_or(f.clone()));
        all.extend(check_page(engine, site, f));
    }
    // a broken `_data` file is found by the check of the site and again by each page that
    // reads it: one message is enough
    let mut seen = std::collections::HashSet::new();
    all.retain(|d| seen.insert((d.message.clone(), d.position())));
    let report = Report {
        pages: checked,
        problems: all
            .iter()
            .map(|d| Problem {
                diag: d,
                fails: policy.fails(d),
            })
            .collect(),
    };
    if format == Format::Human {
        report_diags(&all);
        summary(&report);
    } else {
        out!("{}", crate::formats::write(format, &report));
    }
    Ok(if report.failing() == 0 {
        EXIT_OK
    } else {
        EXIT_PROBLEMS
    })
}

/// After the problems, as `check` shows them to a person, a count: those that fail the
/// check, those that are allowed (`--allow`), the placeholders to fill at run time.
fn summary(report: &Report) {
    let checked = report.pages.len();
    let n = report.failing();
    let allowed = report
        .problems
        .iter()
        .filter(|p| !p.fails && p.diag.severity != Severity::Note)
        .count();
    let notes = report
        .problems
        .iter()
        .filter(|p| !p.fails && p.diag.code == "placeholder-unfilled")
        .count();
    let mut tail = String::new();
    if allowed > 0 {
        tail.push_str(&format!(", {allowed} allowed"));
    }
    if notes > 0 {
        tail.push_str(&format!(
            ", {notes} placeholder{} to fill at run time",
            if notes == 1 { "" } else { "s" }
        ));
    }
    errln!(
        "{} page{} checked, {n} problem{}{tail}",
        checked,
        if checked == 1 { "" } else { "s" },
        if n == 1 { "" } else { "s" },
    );
}

/// Characters from `<` to its `>` in the source (which may hold Liquid, e.g.
/// `<{{site.exp_prefix}}mesosXX>`), else the placeholder's own length.
pub(crate) fn placeholder_width(from_lt: &str, name: &str) -> usize {
    let mut depth = 0usize;
    for (n, c) in from_lt.chars().enumerate() {
        match c {
            '{' => depth += 1,
            '}' => depth = depth.saturating_sub(1),
            '>' if depth == 0 => return n + 1,
            _ => {}
        }
    }
    name.chars().count() + 2
}
