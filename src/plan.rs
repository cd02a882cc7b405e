//! From a page to the list of commands a run will execute: selection (`--section`,
//! `--step`, `--from`, `--to`), placeholder values (`--set`), and the pre-flight checks that
//! must pass before anything runs. Nothing here executes anything.
//!
//! Grammar of the choices:
//! - a section is named by its id (the heading's slug, as `list` shows it) or its heading text
//!   (case and a trailing `:` ignored); it brings the sections nested under it;
//! - a step is named by its id (`<section-id>-<n>`); `--from`/`--to` bound the selection,
//!   both inclusive, in page order;
//! - runnable steps are planned to run; manual steps (list items a person does, see
//!   [`crate::runbook`]) inside the selection are planned beside them, in page order: a
//!   section brings its manual steps, `--step` may name one (`<section-id>-m<n>`), and
//!   `--from`/`--to` may name one and bound them too;
//! - `--set NAME=VALUE` gives a placeholder its value, NAME being the placeholder's text as
//!   `list` shows it (`alimesosXX`, `slave name`, `X`) or the shell variable it is assigned to
//!   (`MACHINE_NAME` for `MACHINE_NAME=<alimesosXX>`). The value is inserted quoted for the
//!   place it sits in (unquoted, in single or double quotes, in `$(...)`), never spliced raw.
//!   It also names placeholders of manual steps' inline commands: filled in when given, but a
//!   missing one is no problem of the plan (it is asked for if the operator runs the command).

use crate::document::Document;
use crate::error::{Diagnostic, Severity};
use crate::runbook::{Section, Step, StepKind};
use crate::shell;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub sections: Vec<String>,
    pub steps: Vec<String>,
    pub from: Option<String>,
    pub to: Option<String>,
}

impl Selection {
    pub fn is_empty(&self) -> bool {
        self.sections.is_empty()
            && self.steps.is_empty()
            && self.from.is_none()
            && self.to.is_none()
    }
}

/// One step as it will run (a code step), or as the operator will be shown it (a manual step).
#[derive(Debug, Clone)]
pub struct Planned {
    /// The step; `step.kind` says whether it is code or manual.
    pub step: Step,
    pub section_id: String,
    pub section_title: String,
    /// The command with every placeholder that has a value filled in (quoted). For a manual
    /// step: its inline command so filled, empty when it has none.
    pub command: String,
    /// Placeholders still without a value: (name, what `--set` accepts, hint). For a code
    /// step each is an error of the plan; for a manual step they are its inline command's,
    /// to be asked for only if the operator runs it.
    pub missing: Vec<Missing>,
    /// Shell variables the command uses that an earlier planned step sets: (variable, step id).
    pub set_by_earlier: Vec<(String, String)>,
    /// An earlier step can set variables nobody can know before running it (`eval`, `source`).
    pub runtime_env_from: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub name: String,
    pub set_name: String,
    pub hint: Option<String>,
    pub line: usize,
    pub column: usize,
}

impl Planned {
    pub fn kind(&self) -> StepKind {
        self.step.kind
    }

    pub fn is_manual(&self) -> bool {
        self.step.is_manual()
    }

    /// What the operator reads: a manual step's text (its item's), a code step's prose.
    pub fn text(&self) -> &str {
        &self.step.prose
    }

    /// A manual step's inline command, placeholders with values filled in (those without
    /// a value are in `missing`); None for a code step and for a manual step without one.
    pub fn inline_command(&self) -> Option<&str> {
        (self.is_manual() && self.step.inline.is_some()).then_some(self.command.as_str())
    }
}

pub struct Plan {
    /// The runnable steps, in page order: what a run executes.
    pub steps: Vec<Planned>,
    /// The manual steps of the selection, in page order; `step.index` places each among
    /// `steps` ([`Plan::in_order`] merges them).
    pub manual: Vec<Planned>,
    /// Problems that keep the plan from running (errors) and things worth knowing (warnings).
    pub problems: Vec<Diagnostic>,
}

impl Plan {
    pub fn is_clean(&self) -> bool {
        !self.problems.iter().any(|d| d.severity == Severity::Error)
    }

    /// Every planned step, code and manual, in page order.
    pub fn in_order(&self) -> Vec<&Planned> {
        let mut all: Vec<&Planned> = self.steps.iter().chain(&self.manual).collect();
        all.sort_by_key(|p| p.step.index);
        all
    }
}

/// Sections of the page that hold runnable steps: the recipes a picker offers.
pub fn recipes(doc: &Document) -> Vec<(&Section, usize)> {
    doc.runbook
        .sections
        .iter()
        .map(|s| (s, s.steps.iter().filter(|st| st.runnable).count()))
        .filter(|(_, n)| *n > 0)
        .collect()
}

fn norm(s: &str) -> String {
    s.trim().trim_end_matches(':').trim().to_lowercase()
}

/// The steps a selection names, in page order: its runnable steps and its manual steps; Err
/// names what matched nothing.
pub fn select<'a>(
    doc: &'a Document,
    sel: &Selection,
) -> Result<Vec<(&'a Section, &'a Step)>, String> {
    let sections = &doc.runbook.sections;
    let mut chosen: Vec<bool> = vec![sel.sections.is_empty(); sections.len()];
    for want in &sel.sections {
        let w = norm(want);
        let Some(i) = sections
            .iter()
            .position(|s| s.id == *want || norm(&s.title) == w)
        else {
            let known: Vec<&str> = recipes(doc).iter().map(|(s, _)| s.id.as_str()).collect();
            return Err(format!(
                "no section `{want}` on this page (sections with steps: {})",
                known.join(", ")
            ));
        };
        chosen[i] = true;
        // the sections nested under it come along
        let level = sections[i].level;
        for (j, s) in sections.iter().enumerate().skip(i + 1) {
            if level == 0 || s.level <= level {
                break;
            }
            chosen[j] = true;
        }
    }
    let mut out: Vec<(&Section, &Step)> = sections
        .iter()
        .zip(&chosen)
        .filter(|(_, c)| **c)
        .flat_map(|(s, _)| {
            s.steps
                .iter()
                .filter(|st| st.runnable || st.is_manual())
                .map(move |st| (s, st))
        })
        .collect();
    let all_ids: Vec<&str> = doc.runbook.steps().map(|s| s.id.as_str()).collect();
    let check = |id: &str| -> Result<(), String> {
        match doc.runbook.step(id) {
            None => Err(format!(
                "no step `{id}` on this page (`runbook list` shows the ids; e.g. {})",
                all_ids
                    .iter()
                    .take(3)
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            Some(s) if !s.runnable && !s.is_manual() => {
                Err(format!("step `{id}` is not runnable ({})", s.why))
            }
            Some(_) => Ok(()),
        }
    };
    if !sel.steps.is_empty() {
        for id in &sel.steps {
            check(id)?;
        }
        out.retain(|(_, st)| sel.steps.contains(&st.id));
    }
    if let Some(from) = &sel.from {
        check(from)?;
        let idx = doc.runbook.step(from).map(|s| s.index).unwrap_or(0);
        out.retain(|(_, st)| st.index >= idx);
    }
    if let Some(to) = &sel.to {
        check(to)?;
        let idx = doc.runbook.step(to).map(|s| s.index).unwrap_or(usize::MAX);
        out.retain(|(_, st)| st.index <= idx);
    }
    if out.is_empty() && !sel.is_empty() {
        return Err("the selection holds no runnable step".into());
    }
    // a page without runnable steps gives an empty plan: nothing to run is not an error
    Ok(out)
}

/// A step's command with the values it has filled in.
#[derive(Debug, Clone, Default)]
pub struct Fill {
    pub command: String,
    /// Placeholders still without a value.
    pub missing: Vec<Missing>,
    /// Placeholders whose value cannot be placed where they sit, and why.
    pub refused: Vec<(Missing, String)>,
}

/// Fill the placeholders of a step's command that have a value in `values` (by name, or by
/// the variable they are assigned to), each written for its quoting context.
pub fn fill(step: &Step, values: &HashMap<String, String>) -> Fill {
    let filled = shell::fill(&step.code, |p| {
        values
            .get(&p.name)
            .or_else(|| p.assigned_to.as_ref().and_then(|a| values.get(a)))
            .cloned()
    });
    // the model's placeholders are the same lexer's, in the same order: they give the place
    // in the page and the hint
    let lexed = shell::lex(&step.code);
    let meta = |p: &shell::Placeholder| -> Missing {
        let i = lexed
            .placeholders
            .iter()
            .position(|q| q.start == p.start)
            .unwrap_or(usize::MAX);
        let m = step.placeholders.get(i).filter(|m| m.name == p.name);
        Missing {
            set_name: p.assigned_to.clone().unwrap_or_else(|| p.name.clone()),
            name: p.name.clone(),
            hint: m.and_then(|m| m.hint.clone()),
            line: m.map(|m| m.line).unwrap_or(step.lines.0),
            column: m.map(|m| m.column).unwrap_or(1),
        }
    };
    let mut missing: Vec<Missing> = Vec::new();
    for p in &filled.missing {
        if !missing.iter().any(|m| m.name == p.name) {
            missing.push(meta(p));
        }
    }
    let refused = filled
        .refused
        .iter()
        .map(|(p, why)| (meta(p), why.clone()))
        .collect();
    Fill {
        command: filled.text,
        missing,
        refused,
    }
}

/// Variables a command assigns (`NAME=`, `export NAME=`, `read NAME`, `for NAME in`...).
pub fn assigned_vars(code: &str) -> BTreeSet<String> {
    shell::lex(code)
        .assigns
        .into_iter()
        .map(|a| a.name)
        .collect()
}

/// Variables a command reads (`$NAME`, `${NAME...}`, names in arithmetic).
pub fn used_vars(code: &str) -> BTreeSet<String> {
    shell::lex(code).reads.into_iter().map(|v| v.name).collect()
}

/// Shell builtins and keywords: never looked for on PATH.
const SHELL_WORDS: &[&str] = &[
    "if",
    "then",
    "else",
    "elif",
    "fi",
    "for",
    "while",
    "until",
    "do",
    "done",
    "case",
    "esac",
    "in",
    "function",
    "select",
    "time",
    "{",
    "}",
    "[[",
    "]]",
    "!",
    "cd",
    "echo",
    "export",
    "eval",
    "source",
    ".",
    "exit",
    "return",
    "set",
    "unset",
    "read",
    "local",
    "declare",
    "readonly",
    "typeset",
    "shift",
    "test",
    "[",
    "printf",
    "pwd",
    "true",
    "false",
    ":",
    "alias",
    "builtin",
    "command",
    "exec",
    "trap",
    "wait",
    "type",
    "ulimit",
    "umask",
    "pushd",
    "popd",
    "let",
    "shopt",
    "hash",
    "jobs",
    "fg",
    "bg",
    "kill",
    "getopts",
    "break",
    "continue",
    "mapfile",
    "readarray",
    "dirs",
    "disown",
    "enable",
    "help",
    "history",
    "logout",
    "suspend",
    "times",
    "caller",
    "compgen",
    "complete",
    "compopt",
    "bind",
    "fc",
    "unalias",
];

/// The commands a shell text runs that could be looked for on PATH: static command words
/// (also inside `$(...)`, backticks, after `|`, `;`, `&&`, `||` and behind `sudo`, `env`...),
/// not builtins, keywords, paths, globs or computed words.
pub fn command_words(code: &str) -> BTreeSet<String> {
    shell::lex(code)
        .command_names()
        .filter(|w| {
            !w.is_empty()
                && !SHELL_WORDS.contains(w)
                && !w.contains(['/', '=', '*', '?', '$'])
                && !w.starts_with(['-', '.', '~', '[', '{', '}'])
        })
        .map(String::from)
        .collect()
}

/// Whether `cmd` is an executable file: on PATH, or at the path it names.
pub fn on_path(cmd: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if cmd.contains('/') {
        return executable(Path::new(cmd));
    }
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|d| executable(&d.join(cmd)))
}

/// What `--set` accepts for these steps: placeholder texts and the variables they are assigned to.
fn names(chosen: &[(&Section, &Step)]) -> BTreeSet<String> {
    chosen
        .iter()
        .flat_map(|(_, st)| {
            st.placeholders
                .iter()
                .flat_map(|p| std::iter::once(p.name.clone()).chain(p.assigned_to.clone()))
        })
        .collect()
}

/// The names `--set` accepts for a selection (nothing when the selection is invalid).
pub fn placeholder_names(doc: &Document, sel: &Selection) -> BTreeSet<String> {
    select(doc, sel).map(|c| names(&c)).unwrap_or_default()
}

/// Build the plan: select, fill placeholders, and run the pre-flight checks.
/// `diagnostics` are those of rendering the page (strict or lax); those inside selected steps
/// become the plan's problems as they are, the others are kept as warnings.
pub fn build(
    doc: &Document,
    sel: &Selection,
    values: &HashMap<String, String>,
    check_path: bool,
) -> Result<Plan, String> {
    let chosen = select(doc, sel)?;
    let mut problems = Vec::new();
    // Liquid problems: errors in what will run stay errors
    for d in &doc.diagnostics {
        let line = d.position().map(|p| p.1).unwrap_or(0);
        let inside = chosen
            .iter()
            .any(|(_, st)| (st.lines.0..=st.lines.1).contains(&line));
        let mut d = d.clone();
        if !inside && d.severity == Severity::Error {
            d.severity = Severity::Warning;
        }
        problems.push(d);
    }
    // control characters in what will run: shown escaped, and said
    for d in crate::document::control_characters(&doc.page.file) {
        let line = d.position().map(|p| p.1).unwrap_or(0);
        if chosen
            .iter()
            .any(|(_, st)| (st.lines.0..=st.lines.1).contains(&line))
        {
            let mut d = d;
            d.severity = Severity::Warning;
            problems.push(d);
        }
    }
    // every --set must name something in the selection
    let known = names(&chosen);
    for name in values.keys() {
        if !known.contains(name) {
            let list = if known.is_empty() {
                "the selected steps have no placeholders".to_string()
            } else {
                format!(
                    "placeholders here: {}",
                    known.iter().cloned().collect::<Vec<_>>().join(", ")
                )
            };
            return Err(format!(
                "{}: --set {name}: no placeholder or variable of that name in the selected steps ({list})",
                doc.page.file.display_path()
            ));
        }
    }
    let mut steps = Vec::new();
    let mut manual = Vec::new();
    let mut setters: HashMap<String, String> = HashMap::new();
    let mut runtime_env: Vec<String> = Vec::new();
    let mut functions: BTreeSet<String> = BTreeSet::new();
    let mut missing_cmds: BTreeSet<String> = BTreeSet::new();
    for (section, step) in &chosen {
        let Fill {
            command,
            missing,
            refused,
        } = fill(step, values);
        if step.kind == StepKind::Manual {
            // done by hand: its inline command runs only if the operator asks for it, so
            // a missing value is asked for then, and nothing it sets is counted on
            let used: BTreeSet<String> = shell::lex(&command)
                .reads
                .into_iter()
                .map(|v| v.name)
                .collect();
            let set_by_earlier = used
                .iter()
                .filter_map(|v| setters.get(v).map(|s| (v.clone(), s.clone())))
                .collect();
            for (m, why) in &refused {
                let file = &doc.page.file;
                let line = file.line_text(m.line);
                let col = line
                    .char_indices()
                    .nth(m.column.saturating_sub(1))
                    .map(|(i, _)| i)
                    .unwrap_or(0);
                problems.push(
                    Diagnostic::warning(
                        "value-refused",
                        format!(
                            "the value given for `<{}>` in the command of manual step {} cannot be used there: {why}",
                            m.name, step.id
                        ),
                    )
                    .at(file, file.line_start(m.line) + col)
                    .width(m.name.chars().count() + 2)
                    .hint(format!(
                        "pass another value with --set '{}=VALUE' if you mean to run it",
                        m.set_name
                    )),
                );
            }
            manual.push(Planned {
                step: (*step).clone(),
                section_id: section.id.clone(),
                section_title: section.title.clone(),
                command,
                missing,
                set_by_earlier,
                runtime_env_from: runtime_env.clone(),
            });
            continue;
        }
        let lexed = shell::lex(&command);
        let used: BTreeSet<String> = lexed.reads.iter().map(|v| v.name.clone()).collect();
        let set_by_earlier = used
            .iter()
            .filter_map(|v| setters.get(v).map(|s| (v.clone(), s.clone())))
            .collect();
        for m in &missing {
            let file = &doc.page.file;
            let line = file.line_text(m.line);
            let col = line
                .char_indices()
                .nth(m.column.saturating_sub(1))
                .map(|(i, _)| i)
                .unwrap_or(0);
            let mut hint = format!("pass --set '{}=VALUE'", m.set_name);
            if let Some(h) = &m.hint {
                hint.push_str(&format!(" ({h})"));
            }
            problems.push(
                Diagnostic::error(
                    "missing-value",
                    format!(
                        "placeholder `<{}>` in step {} has no value",
                        m.name, step.id
                    ),
                )
                .at(file, file.line_start(m.line) + col)
                .width(m.name.chars().count() + 2)
                .hint(hint),
            );
        }
        for (m, why) in &refused {
            let file = &doc.page.file;
            let line = file.line_text(m.line);
            let col = line
                .char_indices()
                .nth(m.column.saturating_sub(1))
                .map(|(i, _)| i)
                .unwrap_or(0);
            problems.push(
                Diagnostic::error(
                    "value-refused",
                    format!(
                        "the value given for `<{}>` in step {} cannot be used there: {why}",
                        m.name, step.id
                    ),
                )
                .at(file, file.line_start(m.line) + col)
                .width(m.name.chars().count() + 2)
                .hint(format!(
                    "pass another value with --set '{}=VALUE'",
                    m.set_name
                )),
            );
        }
        functions.extend(lexed.functions.iter().cloned());
        if check_path {
            // the commands as written: a value filled in is an argument, never a command
            for cmd in command_words(&step.code) {
                if !functions.contains(&cmd) && !on_path(&cmd) && missing_cmds.insert(cmd.clone()) {
                    let file = &doc.page.file;
                    let (line, col) = (step.lines.0..=step.lines.1)
                        .find_map(|l| file.line_text(l).find(&cmd).map(|c| (l, c)))
                        .unwrap_or((step.lines.0, 0));
                    problems.push(
                        Diagnostic::warning(
                            "command-not-found",
                            format!("`{cmd}` (step {}) is not on PATH here", step.id),
                        )
                        .at(file, file.line_start(line) + col)
                        .width(cmd.len())
                        .hint("install it, or run where it exists (e.g. the host the page names)"),
                    );
                }
            }
        }
        for a in &lexed.assigns {
            setters.insert(a.name.clone(), step.id.clone());
        }
        let runtime_env_from = runtime_env.clone();
        if lexed
            .command_names()
            .any(|c| matches!(c, "eval" | "source" | "."))
        {
            runtime_env.push(step.id.clone());
        }
        steps.push(Planned {
            step: (*step).clone(),
            section_id: section.id.clone(),
            section_title: section.title.clone(),
            command,
            missing,
            set_by_earlier,
            runtime_env_from,
        });
    }
    Ok(Plan {
        steps,
        manual,
        problems,
    })
}

/// `NAME=VALUE` pairs from `--set`.
pub fn parse_sets(sets: &[String]) -> Result<HashMap<String, String>, String> {
    let mut out = HashMap::new();
    for s in sets {
        let (k, v) = s.split_once('=').ok_or_else(|| {
            format!("--set {s}: expected NAME=VALUE (NAME as `runbook list` shows it)")
        })?;
        if k.trim().is_empty() {
            return Err(format!("--set {s}: the name is empty"));
        }
        out.insert(k.trim().to_string(), v.to_string());
    }
    Ok(out)
}

/// For messages: a path relative to the working directory.
pub fn shown(path: &Path) -> String {
    crate::source::display_path(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variables_and_commands() {
        let code = "MACHINE_NAME=x\nexport ZONE=a # comment\nread -r ANSWER\nfor h in a b; do ssh $h; done\n";
        let a = assigned_vars(code);
        assert!(
            a.contains("MACHINE_NAME")
                && a.contains("ZONE")
                && a.contains("ANSWER")
                && a.contains("h")
        );
        let u = used_vars("echo \"$MACHINE_NAME-store\" '${NOT}' ${ZONE:-x} $1");
        assert_eq!(u.into_iter().collect::<Vec<_>>(), ["MACHINE_NAME", "ZONE"]);
        let c = command_words(
            "eval $(ai-rc \"x\")\nai-bs-vm -g g \\\n   --flag $X\nFOO=1 openstack server list | grep x\ncat <<EOF\nnot a command\nEOF\n",
        );
        assert_eq!(
            c.into_iter().collect::<Vec<_>>(),
            ["ai-bs-vm", "ai-rc", "cat", "grep", "openstack"]
        );
        let c = command_words(
            "echo \"has $(count_words greeting.txt) words\" > out.txt 2>&1 # wc x\nif true; then uptime; fi\nsudo -u root systemctl restart x\n",
        );
        assert_eq!(
            c.into_iter().collect::<Vec<_>>(),
            ["count_words", "sudo", "systemctl", "uptime"]
        );
    }
}
