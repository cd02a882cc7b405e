//! `runbook run`: plan the selected steps, show them, and (without `--dry-run`) run them.

use super::report;
use crate::cli::RunArgs;
use crate::document::{self, Document};
use crate::error::{EXIT_INPUT, EXIT_OK, EXIT_PROBLEMS, Error, Result, Severity};
use crate::liquid::Mode;
use crate::plan::{self, Plan, Selection};
use std::fmt::Write as _;
use std::io::IsTerminal;

pub fn run(args: &RunArgs) -> Result<i32> {
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    if let Some(run_ref) = &args.resume {
        return crate::exec::resume(args, run_ref, color);
    }
    let page = args.page.as_deref().unwrap_or(std::path::Path::new(""));
    super::require_page(page)?;
    let values = plan::parse_sets(&args.set).map_err(Error::Usage)?;
    let (site, engine) = super::open_site(page, &args.site)?;
    let mode = if args.lax { Mode::Lax } else { Mode::Strict };
    let doc = match document::load(&engine, &site, page, mode) {
        Ok(d) => d,
        Err(diags) => {
            report(&diags);
            return Ok(EXIT_INPUT);
        }
    };
    let mut selection = Selection {
        sections: args.section.clone(),
        steps: args.step.clone(),
        from: args.from.clone(),
        to: args.to.clone(),
    };
    // several recipes and nothing chosen: in a terminal, ask which
    let recipes: Vec<(String, String, usize)> = plan::recipes(&doc)
        .into_iter()
        .map(|(s, n)| (s.id.clone(), s.title.clone(), n))
        .collect();
    let terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if selection.is_empty() && !args.dry_run && !args.yes && terminal && recipes.len() > 1 {
        selection.sections = crate::exec::prompt::Term::new(color).pick_sections(&recipes)?;
        if selection.sections.is_empty() {
            return Ok(EXIT_OK);
        }
    }
    let plan = plan::build(&doc, &selection, &values, true).map_err(Error::Usage)?;
    if plan.steps.is_empty() {
        report(&plan.problems);
        eprintln!(
            "{} has no runnable steps (`runbook list` says why each code block is not)",
            doc.page.file.display_path()
        );
        return Ok(EXIT_OK);
    }
    if args.dry_run {
        print!("{}", dry_run_text(&doc, &plan, color));
        report(&plan.problems);
        let errors = plan
            .problems
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        if errors > 0 {
            eprintln!(
                "the plan has {errors} problem{}: nothing would run",
                if errors == 1 { "" } else { "s" }
            );
            return Ok(EXIT_PROBLEMS);
        }
        return Ok(EXIT_OK);
    }
    // the page may name its shell: `runbook: {shell: zsh}`
    let mut args = args.clone();
    if args.shell.is_none() {
        args.shell = doc
            .page
            .front_value(&["runbook", "shell"])
            .filter(|v| !crate::liquid::value::is_nil(v))
            .map(|v| crate::liquid::value::to_s(&v));
    }
    crate::exec::run_plan(&doc, &plan, &selection, &args, color)
}

/// The dry run: every selected step in order, resolved, nothing executed.
pub fn dry_run_text(doc: &Document, plan: &Plan, color: bool) -> String {
    let (bold, dim, yellow, cyan, reset) = if color {
        ("\x1b[1m", "\x1b[2m", "\x1b[33m", "\x1b[36m", "\x1b[0m")
    } else {
        ("", "", "", "", "")
    };
    let mut o = String::new();
    let n = plan.steps.len();
    let _ = writeln!(
        o,
        "{bold}Dry run of {}{reset}: {n} step{}, nothing is executed",
        doc.page.file.display_path(),
        if n == 1 { "" } else { "s" }
    );
    let mut section = None;
    for (k, p) in plan.steps.iter().enumerate() {
        if section != Some(&p.section_id) {
            section = Some(&p.section_id);
            let _ = writeln!(
                o,
                "\n{bold}## {}{reset}  {dim}#{}{reset}",
                p.section_title, p.section_id
            );
        }
        let _ = writeln!(
            o,
            "\n{bold}[{}/{n}] {}{reset}  {dim}{}:{}{reset}",
            k + 1,
            p.step.id,
            doc.page.file.display_path(),
            p.step.lines.0
        );
        if !p.step.prose.is_empty() {
            let _ = writeln!(o, "{dim}{}{reset}", p.step.prose);
        }
        for line in p.command.lines() {
            let mut shown = line.to_string();
            if color {
                for m in &p.missing {
                    shown = shown.replace(
                        &format!("<{}>", m.name),
                        &format!("{yellow}<{}>{reset}{cyan}", m.name),
                    );
                }
            }
            let _ = writeln!(o, "    {cyan}{shown}{reset}");
        }
        for m in &p.missing {
            let _ = writeln!(
                o,
                "  {yellow}needs a value:{reset} <{}>  (--set '{}=VALUE'){}",
                m.name,
                m.set_name,
                m.hint
                    .as_ref()
                    .map(|h| format!("  hint: {h}"))
                    .unwrap_or_default()
            );
        }
        for (var, by) in &p.set_by_earlier {
            let _ = writeln!(o, "  {dim}at run time:{reset} ${var} is set by step {by}");
        }
        if !p.runtime_env_from.is_empty() {
            let _ = writeln!(
                o,
                "  {dim}at run time:{reset} the environment that step{} {} load{} (eval/source) is known only when {} run{}",
                if p.runtime_env_from.len() == 1 {
                    ""
                } else {
                    "s"
                },
                p.runtime_env_from.join(", "),
                if p.runtime_env_from.len() == 1 {
                    "s"
                } else {
                    ""
                },
                if p.runtime_env_from.len() == 1 {
                    "it"
                } else {
                    "they"
                },
                if p.runtime_env_from.len() == 1 {
                    "s"
                } else {
                    ""
                },
            );
        }
    }
    o
}
