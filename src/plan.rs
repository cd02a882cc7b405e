//! From a page to the list of commands a run will execute: selection (`--section`,
//! `--step`, `--from`, `--to`), placeholder values (`--set`), and the pre-flight checks that
//! must pass before anything runs. Nothing here executes anything.
//!
//! Grammar of the choices:
//! - a section is named by its id (the heading's slug, as `list` shows it) or its heading text
//!   (case and a trailing `:` ignored); it brings the sections nested under it;
//! - a step is named by its id (`<section-id>-<n>`); `--from`/`--to` bound the selection,
//!   both inclusive, in page order;
//! - only runnable steps are planned;
//! - `--set NAME=VALUE` gives a placeholder its value, NAME being the placeholder's text as
//!   `list` shows it (`alimesosXX`, `slave name`, `X`) or the shell variable it is assigned to
//!   (`MACHINE_NAME` for `MACHINE_NAME=<alimesosXX>`). The value is inserted quoted for the
//!   place it sits in (unquoted, in single or double quotes, in `$(...)`), never spliced raw.

use crate::document::Document;
use crate::error::{Diagnostic, Severity};
use crate::runbook::{self, Section, Step};
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

/// One step as it will run.
#[derive(Debug, Clone)]
pub struct Planned {
    pub step: Step,
    pub section_id: String,
    pub section_title: String,
    /// The command with every placeholder that has a value filled in (quoted).
    pub command: String,
    /// Placeholders still without a value: (name, what `--set` accepts, hint).
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

pub struct Plan {
    pub steps: Vec<Planned>,
    /// Problems that keep the plan from running (errors) and things worth knowing (warnings).
    pub problems: Vec<Diagnostic>,
}

impl Plan {
    pub fn is_clean(&self) -> bool {
        !self.problems.iter().any(|d| d.severity == Severity::Error)
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

/// The steps a selection names, in page order; Err names what matched nothing.
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
                .filter(|st| st.runnable)
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
            Some(s) if !s.runnable => Err(format!("step `{id}` is not runnable ({})", s.why)),
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

/// Quote `value` for bash so that it is one word whatever it holds.
pub fn shell_quote(value: &str) -> String {
    if !value.is_empty()
        && value
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:@%+=,".contains(c))
    {
        return value.to_string();
    }
    format!("'{}'", value.replace('\'', r"'\''"))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ctx {
    Plain,
    Single,
    Double,
}

/// The quoting context at each byte offset of interest, with `$(...)` nesting.
fn context_at(code: &str, at: usize) -> Ctx {
    let mut stack = vec![Ctx::Plain];
    let b = code.as_bytes();
    let mut i = 0;
    while i < at.min(b.len()) {
        let top = *stack.last().unwrap_or(&Ctx::Plain);
        match (top, b[i]) {
            (Ctx::Single, b'\'') => {
                stack.pop();
            }
            (Ctx::Single, _) => {}
            (_, b'\\') => i += 1,
            (Ctx::Plain, b'\'') => stack.push(Ctx::Single),
            (Ctx::Plain, b'"') => stack.push(Ctx::Double),
            (Ctx::Double, b'"') => {
                stack.pop();
            }
            (_, b'$') if b.get(i + 1) == Some(&b'(') => {
                stack.push(Ctx::Plain);
                i += 1;
            }
            (Ctx::Plain, b')') if stack.len() > 1 => {
                stack.pop();
            }
            (Ctx::Plain, b'#') if i == 0 || b[i - 1].is_ascii_whitespace() => {
                // a comment: skip to the end of the line
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    *stack.last().unwrap_or(&Ctx::Plain)
}

/// `value` written so that, placed at a spot of context `ctx`, the shell reads it literally.
fn quoted_for(ctx: Ctx, value: &str) -> String {
    match ctx {
        Ctx::Plain => shell_quote(value),
        // close the single quotes, add the quoted value, open them again
        Ctx::Single => format!("'{}'", shell_quote(value)),
        Ctx::Double => {
            let mut o = String::new();
            for c in value.chars() {
                if matches!(c, '\\' | '"' | '$' | '`') {
                    o.push('\\');
                }
                o.push(c);
            }
            o
        }
    }
}

/// Fill the placeholders of `code` that have a value in `values` (by name, or by the
/// variable they are assigned to). Returns the command and the placeholders left.
pub fn fill(step: &Step, values: &HashMap<String, String>) -> (String, Vec<Missing>) {
    let code = &step.code;
    let mut out = String::with_capacity(code.len());
    let mut last = 0;
    let mut missing = Vec::new();
    for (i, span) in runbook::placeholder_spans(code).into_iter().enumerate() {
        let meta = step.placeholders.get(i).filter(|p| p.name == span.name);
        let assigned = meta.and_then(|p| p.assigned_to.clone());
        let value = values
            .get(&span.name)
            .or_else(|| assigned.as_ref().and_then(|a| values.get(a)));
        match value {
            Some(v) => {
                out.push_str(&code[last..span.start]);
                out.push_str(&quoted_for(context_at(code, span.start), v));
                last = span.end;
            }
            None => {
                if !missing.iter().any(|m: &Missing| m.name == span.name) {
                    missing.push(Missing {
                        set_name: assigned.clone().unwrap_or_else(|| span.name.clone()),
                        name: span.name.clone(),
                        hint: meta.and_then(|p| p.hint.clone()),
                        line: meta.map(|p| p.line).unwrap_or(step.lines.0),
                        column: meta.map(|p| p.column).unwrap_or(1),
                    });
                }
            }
        }
    }
    out.push_str(&code[last..]);
    (out, missing)
}

/// Variables a command assigns (`NAME=`, `export NAME=`, `read NAME`, `for NAME in`).
pub fn assigned_vars(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in code.lines() {
        for cmd in line.split([';', '&', '|']) {
            let mut words = cmd.split_whitespace().peekable();
            while let Some(w) = words.next() {
                let w = w.trim_start_matches('(');
                if matches!(w, "export" | "local" | "declare" | "readonly" | "typeset") {
                    continue;
                }
                if w == "read" {
                    for v in words.by_ref() {
                        if !v.starts_with('-') && is_name(v) {
                            out.insert(v.to_string());
                        }
                    }
                    break;
                }
                if w == "for" {
                    if let Some(v) = words.next().filter(|v| is_name(v)) {
                        out.insert(v.to_string());
                    }
                    break;
                }
                match w.split_once('=') {
                    Some((name, _)) if is_name(name) => {
                        out.insert(name.to_string());
                    }
                    _ => break,
                }
            }
        }
    }
    out
}

/// Variables a command reads (`$NAME`, `${NAME...}`), outside single quotes.
pub fn used_vars(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let b = code.as_bytes();
    let mut i = 0;
    let mut single = false;
    while i < b.len() {
        match b[i] {
            b'\'' => single = !single,
            b'\\' if !single => i += 1,
            b'$' if !single => {
                let start = if b.get(i + 1) == Some(&b'{') {
                    i + 2
                } else {
                    i + 1
                };
                let len = b[start.min(b.len())..]
                    .iter()
                    .take_while(|c| c.is_ascii_alphanumeric() || **c == b'_')
                    .count();
                if len > 0 && !b[start].is_ascii_digit() {
                    out.insert(code[start..start + len].to_string());
                }
            }
            _ => {}
        }
        i += 1;
    }
    out
}

fn is_name(s: &str) -> bool {
    let mut c = s.chars();
    c.next()
        .is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
        && c.all(|x| x.is_ascii_alphanumeric() || x == '_')
}

/// Whether a command can set variables no one can list before it runs.
fn sets_runtime_env(code: &str) -> bool {
    code.lines().any(|l| {
        let t = l.trim_start();
        t.starts_with("eval ") || t.starts_with("source ") || t.starts_with(". ")
    })
}

const SHELL_WORDS: &[&str] = &[
    "if", "then", "else", "elif", "fi", "for", "while", "until", "do", "done", "case", "esac",
    "in", "function", "select", "time", "{", "}", "[[", "]]", "!", "cd", "echo", "export", "eval",
    "source", ".", "exit", "return", "set", "unset", "read", "local", "declare", "readonly",
    "typeset", "shift", "test", "[", "printf", "pwd", "true", "false", ":", "alias", "builtin",
    "command", "exec", "trap", "wait", "type", "ulimit", "umask", "pushd", "popd", "let", "shopt",
    "hash", "jobs", "fg", "bg", "kill", "getopts", "break", "continue",
];

/// Functions a command defines (`name() {` or `function name`).
fn defined_functions(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in code.lines() {
        let t = line.trim_start();
        if let Some(rest) = t.strip_prefix("function ") {
            if let Some(n) = rest
                .split(|c: char| c.is_whitespace() || c == '(' || c == '{')
                .next()
                .filter(|n| !n.is_empty())
            {
                out.insert(n.to_string());
            }
        } else if let Some((name, _)) = t.split_once("()")
            && is_name(name.trim())
        {
            out.insert(name.trim().to_string());
        }
    }
    out
}

/// Lines of a script without heredoc bodies and with `\` continuations joined.
fn logical_lines(code: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut heredoc: Option<String> = None;
    let mut continued = false;
    for line in code.lines() {
        if let Some(end) = &heredoc {
            if line.trim() == end {
                heredoc = None;
            }
            continue;
        }
        if let Some(i) = line
            .find("<<")
            .filter(|i| line.as_bytes().get(i + 2) != Some(&b'<'))
        {
            let d: String = line[i + 2..]
                .trim_start_matches(['-', '~'])
                .trim_start()
                .chars()
                .take_while(|c| !c.is_whitespace() && !matches!(c, ';' | '|' | '&' | ')'))
                .filter(|c| !matches!(c, '\'' | '"' | '\\'))
                .collect();
            if !d.is_empty() {
                heredoc = Some(d);
            }
        }
        let text = line.strip_suffix('\\').unwrap_or(line);
        if continued {
            if let Some(last) = out.last_mut() {
                last.push(' ');
                last.push_str(text);
            }
        } else {
            out.push(text.to_string());
        }
        continued = line.ends_with('\\');
    }
    out
}

/// The command words of a shell text: the first word of each simple command, also inside
/// `$(...)` and after `|`, `;`, `&&`, `||`; not assignments, keywords, words in quotes,
/// redirection targets, comments or heredoc bodies.
pub fn command_words(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in logical_lines(code) {
        let b: Vec<char> = line.chars().collect();
        // quoting contexts: false = plain, true = inside double quotes
        let mut stack: Vec<bool> = vec![false];
        let mut at_cmd = true;
        let mut after_redirect = false;
        let mut i = 0;
        while i < b.len() {
            let in_double = *stack.last().unwrap_or(&false);
            let c = b[i];
            if in_double {
                match c {
                    '\\' => i += 1,
                    '"' => {
                        stack.pop();
                    }
                    '$' if b.get(i + 1) == Some(&'(') => {
                        stack.push(false);
                        at_cmd = true;
                        i += 1;
                    }
                    _ => {}
                }
                i += 1;
                continue;
            }
            match c {
                ' ' | '\t' => {
                    i += 1;
                    continue;
                }
                '#' => break,
                ';' | '&' | '|' | '(' | '`' => {
                    at_cmd = true;
                    i += 1;
                    continue;
                }
                ')' => {
                    if stack.len() > 1 {
                        stack.pop();
                    }
                    at_cmd = false;
                    i += 1;
                    continue;
                }
                '<' | '>' => {
                    after_redirect = true;
                    i += 1;
                    while i < b.len() && matches!(b[i], '<' | '>' | '&') {
                        i += 1;
                    }
                    continue;
                }
                _ => {}
            }
            // a word: up to whitespace or an operator, quotes included
            let start = i;
            let mut quoted = false;
            let mut word = String::new();
            while i < b.len() {
                let c = b[i];
                if c == '$' && b.get(i + 1) == Some(&'(') {
                    break;
                }
                if matches!(
                    c,
                    ' ' | '\t' | ';' | '&' | '|' | '(' | ')' | '<' | '>' | '`'
                ) {
                    break;
                }
                if c == '"' && start == i {
                    // a word starting a double-quoted string: its content is not a command
                    stack.push(true);
                    quoted = true;
                    i += 1;
                    break;
                }
                if c == '\'' {
                    quoted = true;
                    i += 1;
                    while i < b.len() && b[i] != '\'' {
                        i += 1;
                    }
                } else if c == '\\' {
                    i += 1;
                } else {
                    word.push(c);
                }
                i += 1;
            }
            if after_redirect {
                after_redirect = false;
                continue;
            }
            if b.get(i) == Some(&'$') && b.get(i + 1) == Some(&'(') {
                stack.push(false);
                at_cmd = true;
                i += 2;
                continue;
            }
            if !at_cmd || word.is_empty() {
                continue;
            }
            if word.contains('=') && is_name(word.split('=').next().unwrap_or("")) {
                continue; // VAR=value before the command
            }
            if SHELL_WORDS.contains(&word.as_str()) {
                // keywords keep the command position; other builtins take it
                at_cmd = matches!(
                    word.as_str(),
                    "if" | "then"
                        | "else"
                        | "elif"
                        | "do"
                        | "while"
                        | "until"
                        | "!"
                        | "{"
                        | "time"
                        | "exec"
                        | "command"
                        | "builtin"
                );
                continue;
            }
            at_cmd = false;
            if quoted
                || word.starts_with(['$', '-', '[', '{', '}', '.', '/', '~'])
                || word.contains(['$', '=', '*', '?'])
            {
                continue;
            }
            out.insert(word);
        }
    }
    out
}

fn on_path(cmd: &str) -> bool {
    let Some(path) = std::env::var_os("PATH") else {
        return false;
    };
    std::env::split_paths(&path).any(|d| {
        let p = d.join(cmd);
        std::fs::metadata(&p).is_ok_and(|m| {
            use std::os::unix::fs::PermissionsExt;
            m.is_file() && m.permissions().mode() & 0o111 != 0
        })
    })
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
    let mut setters: HashMap<String, String> = HashMap::new();
    let mut runtime_env: Vec<String> = Vec::new();
    let mut functions: BTreeSet<String> = BTreeSet::new();
    let mut missing_cmds: BTreeSet<String> = BTreeSet::new();
    for (section, step) in &chosen {
        let (command, missing) = fill(step, values);
        let used = used_vars(&command);
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
        functions.extend(defined_functions(&command));
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
        for v in assigned_vars(&command) {
            setters.insert(v, step.id.clone());
        }
        let runtime_env_from = runtime_env.clone();
        if sets_runtime_env(&command) {
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
    Ok(Plan { steps, problems })
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
    fn quoting_by_context() {
        assert_eq!(shell_quote("abc-1"), "abc-1");
        assert_eq!(shell_quote("a b"), "'a b'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote("$(rm -rf /); x"), "'$(rm -rf /); x'");
        assert_eq!(shell_quote(""), "''");
        let code = "echo \"x <a>\" 'y <b>' <c> \"$(f <d>)\"";
        assert_eq!(context_at(code, code.find("<a>").unwrap()), Ctx::Double);
        assert_eq!(context_at(code, code.find("<b>").unwrap()), Ctx::Single);
        assert_eq!(context_at(code, code.find("<c>").unwrap()), Ctx::Plain);
        assert_eq!(context_at(code, code.find("<d>").unwrap()), Ctx::Plain);
        assert_eq!(quoted_for(Ctx::Double, "a\"$b"), "a\\\"\\$b");
        // inside '...': close, quoted value, reopen
        assert_eq!(quoted_for(Ctx::Single, "a b"), "''a b''");
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
            "echo \"has $(count_words greeting.txt) words\" > out.txt 2>&1 # wc x\nif true; then uptime; fi",
        );
        assert_eq!(c.into_iter().collect::<Vec<_>>(), ["count_words", "uptime"]);
    }
}
