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
//! - `--set NAME=VALUE` also gives a value to an *input* of the selection: a variable that a
//!   selected step reads (`$ZONE`, `${ZONE}`, not `${ZONE:-default}`) that no earlier selected
//!   step (nor the step itself) sets, but that a runnable step outside the selection sets (the
//!   nearest before the reader, else the first after it), or, when no step of the page sets it
//!   and no selected step before the reader loads an environment, that an unselected step
//!   before the reader may set by loading an environment (`eval`, `source`, `.`). Variables bash
//!   sets itself (`PWD`, `RANDOM`...) are never inputs. An input without a value from
//!   `--set` or from runbook's own environment is an error of the plan (`unset-input`, at the
//!   read): the step would run with it empty. [`Plan::inputs`] holds the values `--set` gave,
//!   for the runner to export before the first step; [`recipe_needs`] tells a picker which
//!   other sections a recipe's inputs come from.

use crate::document::Document;
use crate::error::{Diagnostic, Severity};
use crate::runbook::{AsksHost, Section, Step, StepKind};
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
    /// The inputs this step reads first in the selection: set only by steps outside it.
    pub inputs: Vec<Input>,
}

/// A variable a selected step reads that only a step outside the selection sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub name: String,
    /// The selected step that reads it first, and where in its code (byte offset).
    pub read_by: String,
    pub read_at: usize,
    /// The runnable step outside the selection that sets it, and its section.
    pub set_by: String,
    pub set_by_section: String,
    /// `set_by` sets no such variable that can be seen, but loads an environment
    /// (`eval`, `source`) that may: no step of the page sets it otherwise.
    pub loaded: bool,
    /// Where its value comes from; None: nowhere (an error of the plan).
    pub value: Option<InputValue>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputValue {
    /// `--set NAME=VALUE`: in [`Plan::inputs`], for the runner to export.
    Set,
    /// runbook's environment, which every step inherits.
    Environment,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub name: String,
    pub set_name: String,
    pub hint: Option<String>,
    pub line: usize,
    pub column: usize,
}

impl Missing {
    /// Where the placeholder's `<` is in `file`, as a byte offset (its line and column are
    /// in characters).
    pub fn offset(&self, file: &crate::source::SourceFile) -> usize {
        let col = file
            .line_text(self.line)
            .char_indices()
            .nth(self.column.saturating_sub(1))
            .map(|(i, _)| i)
            .unwrap_or(0);
        file.line_start(self.line) + col
    }
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
    /// Values given with `--set` for the selection's inputs (variables set only by steps
    /// outside the selection), in the order they are first read: the runner exports them
    /// into the first step's shell.
    pub inputs: Vec<(String, String)>,
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
        // the sections nested under it come along (callouts in it too)
        for j in doc.runbook.nested(i) {
            chosen[j] = true;
        }
    }
    let chosen_ids: Vec<&str> = sections
        .iter()
        .zip(&chosen)
        .filter(|(_, c)| **c)
        .map(|(s, _)| s.id.as_str())
        .collect();
    // in page order: a section that holds a callout goes on after it
    let mut out: Vec<(&Section, &Step)> = doc
        .runbook
        .steps_in_sections()
        .into_iter()
        .filter(|(s, st)| chosen_ids.contains(&s.id.as_str()) && (st.runnable || st.is_manual()))
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

/// Whether `cmd` is an executable file: on PATH, or at the path it names. Answers are kept for
/// the process (a page names the same command many times; runbook's own PATH does not change).
pub fn on_path(cmd: &str) -> bool {
    use std::collections::HashMap;
    use std::sync::{Mutex, OnceLock};
    static KNOWN: OnceLock<Mutex<HashMap<String, bool>>> = OnceLock::new();
    let known = KNOWN.get_or_init(Default::default);
    if let Some(&found) = known.lock().unwrap().get(cmd) {
        return found;
    }
    let found = if cmd.contains('/') {
        executable(Path::new(cmd))
    } else {
        find_on_path(cmd).is_some()
    };
    known.lock().unwrap().insert(cmd.to_string(), found);
    found
}

/// Where a shell would find `program` (a name without `/`) on PATH: the first executable file
/// of that name in PATH's folders (each looked in once).
pub fn find_on_path(program: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var_os("PATH")?;
    let mut seen = BTreeSet::new();
    std::env::split_paths(&path)
        .filter(|d| seen.insert(d.clone()))
        .map(|d| d.join(program))
        .find(|p| executable(p))
}

fn executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
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

/// The names `--set` accepts for a selection: its placeholders, the variables they are
/// assigned to, and its inputs (nothing when the selection is invalid).
pub fn placeholder_names(doc: &Document, sel: &Selection) -> BTreeSet<String> {
    select(doc, sel)
        .map(|c| {
            let mut n = names(&c);
            n.extend(find_inputs(doc, &c).into_iter().map(|i| i.name));
            n
        })
        .unwrap_or_default()
}

/// Variables bash sets by itself: never inputs.
const SHELL_SET_VARS: &[&str] = &[
    "BASH",
    "BASHOPTS",
    "BASHPID",
    "BASH_ARGC",
    "BASH_ARGV",
    "BASH_COMMAND",
    "BASH_LINENO",
    "BASH_REMATCH",
    "BASH_SOURCE",
    "BASH_SUBSHELL",
    "BASH_VERSINFO",
    "BASH_VERSION",
    "COLUMNS",
    "DIRSTACK",
    "EPOCHREALTIME",
    "EPOCHSECONDS",
    "EUID",
    "FUNCNAME",
    "GROUPS",
    "HISTCMD",
    "HOSTNAME",
    "HOSTTYPE",
    "IFS",
    "LINENO",
    "LINES",
    "MACHTYPE",
    "OLDPWD",
    "OPTARG",
    "OPTIND",
    "OSTYPE",
    "PIPESTATUS",
    "PPID",
    "PWD",
    "RANDOM",
    "REPLY",
    "SECONDS",
    "SHELLOPTS",
    "SHLVL",
    "SRANDOM",
    "UID",
];

/// The read at `at` in `code` gives a value of its own when the variable is unset
/// (`${X:-default}`, `${X-d}`, `${X:=d}`, `${X=d}`, `${X:+alt}`, `${X+alt}`).
fn has_default(code: &str, at: usize) -> bool {
    let after = code.get(at..).unwrap_or("");
    !after.starts_with('$')
        && [":-", "-", ":=", "=", ":+", "+"]
            .iter()
            .any(|p| after.starts_with(p))
}

fn loads_env(lexed: &shell::Lexed) -> bool {
    lexed
        .command_names()
        .any(|c| matches!(c, "eval" | "source" | "."))
}

/// The runnable steps of a page, lexed once: who sets what, who loads an environment.
struct PageSteps<'a> {
    steps: Vec<PageStep<'a>>,
    /// Position in `steps` of each step id.
    pos: HashMap<&'a str, usize>,
    /// For each variable, the positions of the steps that set it, in order.
    setters: HashMap<String, Vec<usize>>,
    /// Positions of the steps that load an environment (`eval`, `source`, `.`), in order.
    loaders: Vec<usize>,
}

struct PageStep<'a> {
    section: &'a Section,
    step: &'a Step,
    lexed: shell::Lexed,
    sets: BTreeSet<String>,
}

impl<'a> PageSteps<'a> {
    fn new(doc: &'a Document) -> PageSteps<'a> {
        let mut page = PageSteps {
            steps: Vec::new(),
            pos: HashMap::new(),
            setters: HashMap::new(),
            loaders: Vec::new(),
        };
        for (section, step) in doc.runbook.steps_in_sections() {
            if step.runnable {
                let i = page.steps.len();
                let lexed = shell::lex(&step.code);
                let sets: BTreeSet<String> = lexed.assigns.iter().map(|a| a.name.clone()).collect();
                for name in &sets {
                    page.setters.entry(name.clone()).or_default().push(i);
                }
                if loads_env(&lexed) {
                    page.loaders.push(i);
                }
                page.pos.insert(&step.id, i);
                page.steps.push(PageStep {
                    section,
                    step,
                    lexed,
                    sets,
                });
            }
        }
        page
    }

    /// The inputs of a selection (see the module documentation), in the order they are
    /// first read, without their values.
    fn inputs<'s>(&self, chosen: impl Iterator<Item = &'s Step>) -> Vec<Input> {
        let mut selected: Vec<usize> = chosen
            .filter(|st| st.runnable)
            .filter_map(|st| self.pos.get(st.id.as_str()).copied())
            .collect();
        selected.sort_unstable();
        selected.dedup();
        if selected.len() == self.steps.len() {
            return Vec::new();
        }
        let is_selected = |i: &usize| selected.binary_search(i).is_ok();
        let mut out: Vec<Input> = Vec::new();
        let mut set_before: BTreeSet<&str> = BTreeSet::new();
        let mut reported: BTreeSet<&str> = BTreeSet::new();
        let mut loaded_before = false;
        for &i in &selected {
            let ps = &self.steps[i];
            for read in &ps.lexed.reads {
                let name = read.name.as_str();
                if ps.sets.contains(name)
                    || set_before.contains(name)
                    || SHELL_SET_VARS.contains(&name)
                    || reported.contains(name)
                    || has_default(&ps.step.code, read.at)
                {
                    continue;
                }
                // the nearest unselected setter before the reader, else the first after it
                let setters = self.setters.get(name).map_or(&[][..], Vec::as_slice);
                let split = setters.partition_point(|&s| s < i);
                let setter = setters[..split]
                    .iter()
                    .rev()
                    .chain(&setters[split..])
                    .find(|s| !is_selected(s));
                let (setter, loaded) = match setter {
                    Some(&s) => (s, false),
                    None if loaded_before || !setters.is_empty() => continue,
                    None => {
                        let split = self.loaders.partition_point(|&l| l < i);
                        match self.loaders[..split].iter().rev().find(|l| !is_selected(l)) {
                            Some(&l) => (l, true),
                            None => continue,
                        }
                    }
                };
                let setter = &self.steps[setter];
                reported.insert(name);
                out.push(Input {
                    name: name.to_string(),
                    read_by: ps.step.id.clone(),
                    read_at: read.at,
                    set_by: setter.step.id.clone(),
                    set_by_section: setter.section.id.clone(),
                    loaded,
                    value: None,
                });
            }
            set_before.extend(ps.sets.iter().map(String::as_str));
            loaded_before |= loads_env(&ps.lexed);
        }
        out
    }
}

/// The inputs of a selection (see the module documentation), in the order they are first
/// read, without their values.
fn find_inputs(doc: &Document, chosen: &[(&Section, &Step)]) -> Vec<Input> {
    PageSteps::new(doc).inputs(chosen.iter().map(|(_, st)| *st))
}

/// What a recipe needs from the rest of the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecipeNeeds {
    /// The recipe: a section with runnable steps, as [`recipes`] lists it.
    pub section: String,
    /// The variables its steps read that only other sections' steps set (values ignored:
    /// the environment and `--set` are the picker's to check).
    pub needs: Vec<Input>,
}

impl RecipeNeeds {
    /// The other sections its inputs come from, in page order, each once.
    pub fn sections(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for n in &self.needs {
            if !out.contains(&n.set_by_section.as_str()) {
                out.push(&n.set_by_section);
            }
        }
        out
    }
}

/// For each recipe of the page (in the order of [`recipes`]), the variables its steps read
/// that only steps of other sections set, selected as `--section ID` would select it.
pub fn recipe_needs(doc: &Document) -> Vec<RecipeNeeds> {
    let page = PageSteps::new(doc);
    let sections = &doc.runbook.sections;
    sections
        .iter()
        .enumerate()
        .filter(|(_, s)| s.steps.iter().any(|st| st.runnable))
        .map(|(i, s)| {
            // the section and those nested under it, as `--section` selects them
            let steps = doc
                .runbook
                .nested(i)
                .into_iter()
                .flat_map(|n| sections[n].steps.iter());
            RecipeNeeds {
                section: s.id.clone(),
                needs: page.inputs(steps),
            }
        })
        .collect()
}

/// Where a step's code reads `name` (at byte `at` of the code), in the page: (line, byte
/// column in that line, width). The step's lines are searched for the code line holding the
/// read, then for the read itself.
fn read_location(doc: &Document, step: &Step, at: usize, name: &str) -> (usize, usize, usize) {
    let file = &doc.page.file;
    let code_line = step
        .code
        .get(..at)
        .map_or("", |before| {
            let start = before.rfind('\n').map_or(0, |i| i + 1);
            let end = step.code[start..]
                .find('\n')
                .map_or(step.code.len(), |i| start + i);
            &step.code[start..end]
        })
        .trim();
    let needles = [format!("${{{name}"), format!("${name}"), name.to_string()];
    let lines = step.lines.0..=step.lines.1.max(step.lines.0);
    let found = (!code_line.is_empty())
        .then(|| {
            lines.clone().find_map(|l| {
                let text = file.line_text(l);
                let from = text.find(code_line)?;
                needles.iter().find_map(|n| {
                    text[from..]
                        .find(n.as_str())
                        .map(|c| (l, from + c, n.len()))
                })
            })
        })
        .flatten()
        .or_else(|| {
            needles.iter().find_map(|n| {
                lines
                    .clone()
                    .find_map(|l| file.line_text(l).find(n.as_str()).map(|c| (l, c, n.len())))
            })
        });
    found.unwrap_or((step.lines.0, 0, 1))
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
    // the variables the selection reads that only steps outside it set
    let mut inputs = find_inputs(doc, &chosen);
    // every --set must name something in the selection
    let placeholders = names(&chosen);
    for name in values.keys() {
        if !placeholders.contains(name) && !inputs.iter().any(|i| &i.name == name) {
            let mut list = if placeholders.is_empty() {
                "the selected steps have no placeholders".to_string()
            } else {
                format!(
                    "placeholders here: {}",
                    placeholders.iter().cloned().collect::<Vec<_>>().join(", ")
                )
            };
            if !inputs.is_empty() {
                list.push_str(&format!(
                    "; variables set only by steps not selected: {}",
                    inputs
                        .iter()
                        .map(|i| i.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ));
            }
            return Err(format!(
                "{}: --set {name}: no placeholder or variable of that name in the selected steps ({list})",
                doc.page.file.display_path()
            ));
        }
    }
    let mut given = Vec::new();
    let by_id: HashMap<&str, &Step> = if inputs.is_empty() {
        HashMap::new()
    } else {
        doc.runbook.steps().map(|st| (st.id.as_str(), st)).collect()
    };
    for input in &mut inputs {
        if let Some(v) = values.get(&input.name) {
            input.value = Some(InputValue::Set);
            given.push((input.name.clone(), v.clone()));
            continue;
        }
        if std::env::var_os(&input.name).is_some() {
            input.value = Some(InputValue::Environment);
            continue;
        }
        let Some(&step) = by_id.get(input.read_by.as_str()) else {
            continue;
        };
        let (line, col, width) = read_location(doc, step, input.read_at, &input.name);
        let file = &doc.page.file;
        let message = if input.loaded {
            format!(
                "`${}` is read by step {} but no step of the page sets it; step {}, which is not selected, loads an environment (eval/source) that may: it would be empty",
                input.name, input.read_by, input.set_by
            )
        } else {
            format!(
                "`${}` is read by step {} but set only by step {}, which is not selected: it would be empty",
                input.name, input.read_by, input.set_by
            )
        };
        // selecting the setter helps only when it runs before the reader
        let before = by_id
            .get(input.set_by.as_str())
            .is_some_and(|setter| setter.index < step.index);
        let select_it = if !before {
            String::new()
        } else if !sel.sections.is_empty() {
            format!(
                "select its section too (--section {}), ",
                input.set_by_section
            )
        } else if !sel.steps.is_empty() {
            format!("select it too (--step {}), ", input.set_by)
        } else {
            format!("start from it (--from {}), ", input.set_by)
        };
        problems.push(
            Diagnostic::error("unset-input", message)
                .at(file, file.line_start(line) + col)
                .width(width)
                .hint(format!(
                    "{select_it}give it a value with --set '{}=VALUE', or export {} before running",
                    input.name, input.name
                )),
        );
    }
    let mut inputs_of: HashMap<&str, Vec<Input>> = HashMap::new();
    for input in &inputs {
        inputs_of
            .entry(input.read_by.as_str())
            .or_default()
            .push(input.clone());
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
        // the variables the command reads, and the steps before it that set them
        let lexed = shell::lex(&command);
        let used: BTreeSet<String> = lexed.reads.iter().map(|v| v.name.clone()).collect();
        let set_by_earlier = used
            .iter()
            .filter_map(|v| setters.get(v).map(|s| (v.clone(), s.clone())))
            .collect();
        if step.kind == StepKind::Manual {
            // done by hand: its inline command runs only if the operator asks for it, so
            // a missing value is asked for then, and nothing it sets is counted on
            for (m, why) in &refused {
                let file = &doc.page.file;
                problems.push(
                    Diagnostic::warning(
                        "value-refused",
                        format!(
                            "the value given for `<{}>` in the command of manual step {} cannot be used there: {why}",
                            m.name, step.id
                        ),
                    )
                    .at(file, m.offset(file))
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
                inputs: Vec::new(),
            });
            continue;
        }
        for m in &missing {
            let file = &doc.page.file;
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
                .at(file, m.offset(file))
                .width(m.name.chars().count() + 2)
                .hint(hint),
            );
        }
        for (m, why) in &refused {
            let file = &doc.page.file;
            problems.push(
                Diagnostic::error(
                    "value-refused",
                    format!(
                        "the value given for `<{}>` in step {} cannot be used there: {why}",
                        m.name, step.id
                    ),
                )
                .at(file, m.offset(file))
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
            inputs: inputs_of.remove(step.id.as_str()).unwrap_or_default(),
        });
    }
    Ok(Plan {
        steps,
        manual,
        inputs: given,
        problems,
    })
}

/// A host the page asks to run planned steps on (see "Where to run" in [`crate::runbook`]):
/// runbook runs them where it is started all the same, and says so.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostAsk {
    /// The host as the page writes it (`aiadm.cern.ch`, `<slave>`).
    pub host: String,
    /// The planned sections that ask for it, in page order, each with where it is said.
    pub sections: Vec<(String, AsksHost)>,
    /// `runbook run PAGE [the selection] --on HOST`; None when the selection cannot be
    /// written for this host's steps alone.
    pub command: Option<String>,
    /// Every planned section asks for it.
    pub everything: bool,
}

impl HostAsk {
    /// What the operator is told, the same in the dry run and the run: that the page asks
    /// for the host, where (`page:line`), and that nothing connects unless `--on` says so,
    /// with the command line that would. `said`: only about the sections that ask for it
    /// there (the dry run's, before the first of them), else about all of them (the run's).
    pub fn notice(&self, page: &str, said: Option<&AsksHost>) -> [String; 2] {
        let sections: Vec<&(String, AsksHost)> = self
            .sections
            .iter()
            .filter(|(_, a)| said.is_none_or(|s| s == a))
            .collect();
        let mut lines: Vec<usize> = sections.iter().map(|(_, a)| a.line).collect();
        lines.sort_unstable();
        lines.dedup();
        let places = lines
            .iter()
            .map(|l| format!("{page}:{l}"))
            .collect::<Vec<_>>()
            .join(", ");
        let what = match sections.as_slice() {
            [_] if said.is_some() => "this section".to_string(),
            [_, _, ..] if self.everything && sections.len() == self.sections.len() => {
                "every section".to_string()
            }
            _ => sections
                .iter()
                .map(|(id, _)| format!("#{id}"))
                .collect::<Vec<_>>()
                .join(", "),
        };
        let placeholder = self.host.contains('<');
        let host = shell::display(&self.host);
        let first = format!(
            "the page asks to run {what} on {host}{} ({places})",
            if placeholder {
                ", a host it leaves to you"
            } else {
                ""
            }
        );
        let on = if placeholder {
            format!("--on HOST (HOST for {host})")
        } else {
            format!("--on {}", shell::shell_quote(&self.host))
        };
        let second = match &self.command {
            Some(c) => format!("nothing connects unless --on says so: {c} {on}"),
            None => {
                format!("nothing connects unless --on says so: add {on} to a run of these steps")
            }
        };
        [first, second]
    }
}

/// The hosts the planned steps' sections ask for, in page order, each with the command line
/// that runs those steps there: the selection the operator gave, when every planned section
/// asks for this host; else, when the selection names sections at most, `--section` for each
/// section of the plan that asks for it (a section brings its nested ones, which must ask for
/// it too); else none.
pub fn host_asks(doc: &Document, planned: &[&Planned], sel: &Selection) -> Vec<HostAsk> {
    let mut ids: Vec<&str> = Vec::new();
    for p in planned {
        if !ids.contains(&p.section_id.as_str()) {
            ids.push(&p.section_id);
        }
    }
    let sections: Vec<&Section> = ids
        .iter()
        .filter_map(|id| doc.runbook.section(id))
        .collect();
    let asks = |s: &Section| s.asks_host.as_ref().map(|a| a.host.clone());
    let page = shell::shell_quote(&doc.page.file.display_path());
    let mut out: Vec<HostAsk> = Vec::new();
    for s in &sections {
        let Some(a) = &s.asks_host else { continue };
        match out.iter_mut().find(|h| h.host == a.host) {
            Some(h) => h.sections.push((s.id.clone(), a.clone())),
            None => out.push(HostAsk {
                host: a.host.clone(),
                sections: vec![(s.id.clone(), a.clone())],
                command: None,
                everything: false,
            }),
        }
    }
    for h in &mut out {
        let all = sections.iter().all(|s| asks(s).as_deref() == Some(&h.host));
        h.everything = all;
        h.command = if all {
            let mut args = String::new();
            for (flag, values) in [
                ("--section", sel.sections.iter().collect::<Vec<_>>()),
                ("--step", sel.steps.iter().collect()),
                ("--from", sel.from.iter().collect()),
                ("--to", sel.to.iter().collect()),
            ] {
                for v in values {
                    args.push_str(&format!(" {flag} {}", shell::shell_quote(v)));
                }
            }
            Some(format!("runbook run {page}{args}"))
        } else if sel.steps.is_empty() && sel.from.is_none() && sel.to.is_none() {
            let all_sections = &doc.runbook.sections;
            let mut chosen: Vec<usize> = Vec::new();
            let mut simple = true;
            for (id, _) in &h.sections {
                let Some(i) = all_sections.iter().position(|s| s.id == *id) else {
                    continue;
                };
                if chosen.iter().any(|&c| doc.runbook.nested(c).contains(&i)) {
                    continue;
                }
                // `--section` brings the sections nested in it: each with steps must ask
                // for this host too
                simple &= doc.runbook.nested(i).into_iter().all(|j| {
                    let n = &all_sections[j];
                    asks(n).as_deref() == Some(&h.host)
                        || !n.steps.iter().any(|st| st.runnable || st.is_manual())
                });
                chosen.push(i);
            }
            simple.then(|| {
                let args: String = chosen
                    .iter()
                    .map(|&i| format!(" --section {}", shell::shell_quote(&all_sections[i].id)))
                    .collect();
                format!("runbook run {page}{args}")
            })
        } else {
            None
        };
    }
    out
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

    /// A shipped runbook (or a fixture), loaded as `run` loads it.
    fn doc(rel: &str) -> Document {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(rel);
        let site = crate::site::Site::load(&path, None, &[]).expect("site");
        let engine = crate::liquid::Engine::new(site.env.clone());
        crate::document::load(&engine, &site, &path, crate::liquid::Mode::Lax)
            .unwrap_or_else(|d| panic!("{d:?}"))
    }

    #[test]
    fn recipe_needs_of_the_shipped_runbooks() {
        // every recipe of the seed runbook stands on its own
        let d = doc("runbooks/build-infrastructure.md");
        let needs = recipe_needs(&d);
        assert_eq!(needs.len(), 5);
        assert!(needs.iter().all(|n| n.needs.is_empty()), "{needs:#?}");
        // hello's later sections need the first one
        let d = doc("runbooks/hello.md");
        let needs = recipe_needs(&d);
        type Need<'a> = (&'a str, &'a str, bool);
        let got: Vec<(&str, Vec<&str>, Vec<Need>)> = needs
            .iter()
            .map(|n| {
                (
                    n.section.as_str(),
                    n.sections(),
                    n.needs
                        .iter()
                        .map(|i| (i.name.as_str(), i.set_by.as_str(), i.loaded))
                        .collect(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                ("prepare-a-workspace", vec![], vec![]),
                (
                    "use-the-workspace",
                    vec!["prepare-a-workspace"],
                    vec![
                        ("GREETING", "prepare-a-workspace-2", true),
                        ("AUDIENCE", "prepare-a-workspace-2", true)
                    ]
                ),
                (
                    "clean-up",
                    vec!["prepare-a-workspace"],
                    vec![("WORKDIR", "prepare-a-workspace-1", false)]
                ),
            ]
        );
        assert!(needs[2].needs.iter().all(|i| i.read_by == "clean-up-1"));
    }

    #[test]
    fn plan_carries_inputs_and_manual_steps() {
        let d = doc("runbooks/build-infrastructure.md");
        let sel = Selection {
            steps: vec!["create-a-master-3".into()],
            ..Selection::default()
        };
        let plan = build(&d, &sel, &HashMap::new(), false).unwrap();
        let names: Vec<&str> = plan.steps[0]
            .inputs
            .iter()
            .map(|i| i.name.as_str())
            .collect();
        if std::env::var_os("ZONE").is_none() && std::env::var_os("MACHINE_NAME").is_none() {
            assert_eq!(names, ["ZONE", "MACHINE_NAME"]);
            assert!(!plan.is_clean());
            assert!(plan.inputs.is_empty());
        }
        assert_eq!(
            placeholder_names(&d, &sel).into_iter().collect::<Vec<_>>(),
            ["MACHINE_NAME", "ZONE"]
        );
        let values: HashMap<String, String> = [("ZONE", "a"), ("MACHINE_NAME", "m b")]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let plan = build(&d, &sel, &values, false).unwrap();
        assert!(plan.is_clean(), "{:?}", plan.problems);
        // in the order they are read
        assert_eq!(
            plan.inputs,
            [
                ("ZONE".to_string(), "a".to_string()),
                ("MACHINE_NAME".to_string(), "m b".to_string())
            ]
        );
        assert!(
            plan.steps[0]
                .inputs
                .iter()
                .all(|i| i.value == Some(InputValue::Set))
        );

        // the seed's deletion recipe: manual steps beside the eval, in page order
        let d = doc("tests/fixtures/seed/site/infrastructure-mesos.markdown");
        let sel = Selection {
            sections: vec!["Deleting a slave".into()],
            ..Selection::default()
        };
        let plan = build(&d, &sel, &HashMap::new(), false).unwrap();
        assert!(plan.is_clean(), "{:?}", plan.problems);
        assert_eq!(plan.steps.len(), 1);
        let order: Vec<(&str, StepKind)> = plan
            .in_order()
            .iter()
            .map(|p| (p.step.id.as_str(), p.kind()))
            .collect();
        assert_eq!(
            order,
            [
                ("deleting-a-slave-m1", StepKind::Manual),
                ("deleting-a-slave-1", StepKind::Code),
                ("deleting-a-slave-m2", StepKind::Manual),
                ("deleting-a-slave-m3", StepKind::Manual),
            ]
        );
        let kill = &plan.manual[1];
        assert_eq!(
            kill.text(),
            "Delete the machine with ai-kill-vm <alibuildXX>"
        );
        assert_eq!(kill.inline_command(), Some("ai-kill-vm <alibuildXX>"));
        assert_eq!(kill.missing[0].name, "alibuildXX");
        assert_eq!(plan.manual[0].inline_command(), None);
        assert_eq!(plan.steps[0].inline_command(), None);
        let values: HashMap<String, String> =
            [("alibuildXX".to_string(), "alibuild42".to_string())].into();
        let plan = build(&d, &sel, &values, false).unwrap();
        assert_eq!(
            plan.manual[1].inline_command(),
            Some("ai-kill-vm alibuild42")
        );
        assert!(plan.manual[1].missing.is_empty());
    }

    #[test]
    fn reads_with_a_default_are_not_inputs() {
        let code = "echo ${A:-x} ${B-y} ${C:=z} ${D:+w} ${E} $F ${G:?no} $((H + 1))";
        let reads = shell::lex(code).reads;
        let plain: Vec<&str> = reads
            .iter()
            .filter(|r| !has_default(code, r.at))
            .map(|r| r.name.as_str())
            .collect();
        assert_eq!(plain, ["E", "F", "G", "H"]);
    }

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
