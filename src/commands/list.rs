//! `runbook list`: sections and steps of a page, with stable ids.

use super::report;
use crate::cli::SiteArgs;
use crate::document::{self, Document};
use crate::error::{EXIT_INPUT, EXIT_OK, Result};
use crate::liquid::Mode;
use crate::runbook::Step;
use crate::shell::display;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::Path;

pub fn run(path: &Path, json: bool, site_args: &SiteArgs) -> Result<i32> {
    super::require_page(path)?;
    let (site, engine) = super::open_site(path, site_args)?;
    let doc = match document::load(&engine, &site, path, Mode::Lax) {
        Ok(d) => d,
        Err(diags) => {
            report(&diags);
            return Ok(EXIT_INPUT);
        }
    };
    report(&doc.diagnostics);
    let out = if json {
        to_json(&doc)
    } else {
        to_text(&doc, std::io::stdout().is_terminal())
    };
    use std::io::Write;
    let mut stdout = std::io::stdout().lock();
    let _ = stdout
        .write_all(out.as_bytes())
        .and_then(|_| stdout.flush());
    // the process ends here: its memory goes back whole, not value by value
    std::mem::forget((doc, engine, site));
    Ok(EXIT_OK)
}

/// The page's model as JSON: its sections, each with its steps (serialised as the model
/// holds them), and the site variables it reads.
pub fn to_json(doc: &Document) -> String {
    #[derive(serde::Serialize)]
    struct Listing<'a> {
        page: String,
        title: Option<String>,
        site_variables: &'a [String],
        sections: &'a [crate::runbook::Section],
    }
    let listing = Listing {
        page: doc.page.file.display_path(),
        title: doc.page.front_str(&["title"]),
        site_variables: &doc.site_variables,
        sections: &doc.runbook.sections,
    };
    serde_json::to_string_pretty(&listing).unwrap_or_default() + "\n"
}

pub fn to_text(doc: &Document, color: bool) -> String {
    let (bold, dim, green, yellow, reset) = if color {
        ("\x1b[1m", "\x1b[2m", "\x1b[32m", "\x1b[33m", "\x1b[0m")
    } else {
        ("", "", "", "", "")
    };
    let mut o = String::new();
    let title = doc.page.front_str(&["title"]).unwrap_or_default();
    let _ = writeln!(
        o,
        "{bold}{}{reset}{}",
        doc.page.file.display_path(),
        if title.is_empty() {
            String::new()
        } else {
            format!(": {title}")
        }
    );
    if !doc.site_variables.is_empty() {
        let _ = writeln!(o, "site variables: {}", doc.site_variables.join(", "));
    }
    let total: usize = doc.runbook.steps().filter(|s| s.runnable).count();
    let manual = |steps: &[Step]| steps.iter().filter(|s| s.is_manual()).count();
    let by_hand = |n: usize| {
        if n > 0 {
            format!(", {n} by hand")
        } else {
            String::new()
        }
    };
    let all_manual: usize = doc.runbook.sections.iter().map(|s| manual(&s.steps)).sum();
    let _ = writeln!(
        o,
        "{} sections, {} steps ({} runnable){}",
        doc.runbook.sections.len(),
        doc.runbook.steps().count() - all_manual,
        total,
        by_hand(all_manual)
    );
    for s in &doc.runbook.sections {
        let runnable = s.steps.iter().filter(|x| x.runnable).count();
        let hand = manual(&s.steps);
        let code = s.steps.len() - hand;
        let asks = s
            .asks_host
            .as_ref()
            .map(|a| format!(", asks to run on {} (line {})", display(&a.host), a.line))
            .unwrap_or_default();
        let _ = writeln!(
            o,
            "\n{bold}{}{} {}{reset}  {dim}#{} line {}, {} step{} ({} runnable){}{}{reset}",
            // a heading in a block quote (a lesson's callout) is shown quoted
            "> ".repeat(s.quote_depth),
            "#".repeat(s.level.max(1) as usize),
            if s.title.is_empty() {
                std::borrow::Cow::Borrowed("(top of page)")
            } else {
                display(&s.title)
            },
            s.id,
            s.line,
            code,
            if code == 1 { "" } else { "s" },
            runnable,
            by_hand(hand),
            asks
        );
        for st in &s.steps {
            if st.is_manual() {
                // done by hand: its text, and the command it names if any
                let _ = writeln!(
                    o,
                    "  {yellow}hand{reset} {bold}{}{reset}  {dim}-:{}{reset}  {}",
                    st.id,
                    st.lines.0,
                    display(&st.prose)
                );
                if st.inline.is_some() {
                    let _ = writeln!(
                        o,
                        "        {dim}command:{reset} {}",
                        display(st.code.trim_end_matches('\n'))
                    );
                }
            } else {
                let shown = display(st.code.trim_end_matches('\n'));
                let first = shown.split('\n').next().unwrap_or("");
                let more = shown.split('\n').count().saturating_sub(1);
                let mark = if st.runnable {
                    format!("{green}run {reset}")
                } else {
                    format!("{dim}skip{reset}")
                };
                let _ = writeln!(
                    o,
                    "  {mark} {bold}{}{reset}  {dim}{}:{}{reset}  {}{}",
                    st.id,
                    st.lang.as_deref().unwrap_or("-"),
                    st.lines.0,
                    first,
                    if more > 0 {
                        format!(" {dim}(+{more} lines){reset}")
                    } else {
                        String::new()
                    }
                );
            }
            for p in &st.placeholders {
                let mut extra = Vec::new();
                if let Some(v) = &p.assigned_to {
                    extra.push(format!("sets ${v}"));
                }
                if let Some(h) = &p.hint {
                    extra.push(format!("hint: {h}"));
                }
                let _ = writeln!(
                    o,
                    "        {yellow}<{}>{reset} {dim}line {}:{}{}{reset}",
                    p.name,
                    p.line,
                    p.column,
                    if extra.is_empty() {
                        String::new()
                    } else {
                        format!(", {}", extra.join(", "))
                    }
                );
            }
        }
    }
    o
}
