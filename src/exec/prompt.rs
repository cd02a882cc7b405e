//! What the operator sees and answers during a guided run (on stderr; stdin for answers).

use crate::error::{Error, Result};
use crate::plan::Planned;
use crate::shell::display;
use std::io::{BufRead, Write};
use std::path::Path;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Run,
    Skip,
    Edit,
    All,
    Quit,
}

/// A recipe the picker offers: a section with runnable steps, and the other sections whose
/// steps set variables it reads (section, variables), when nothing else gives them.
#[derive(Debug, Clone)]
pub struct Recipe {
    pub id: String,
    pub title: String,
    pub steps: usize,
    pub needs: Vec<(String, Vec<String>)>,
}

/// `$A, $B`
fn dollar(vars: &[String]) -> String {
    vars.iter()
        .map(|v| format!("${v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// What the operator says of a manual step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManualChoice {
    Done,
    Skip,
    Quit,
    /// Run the step's inline command.
    Run,
}

pub struct Term {
    color: bool,
    /// The shell steps run in, when it is not bash: said with each step.
    shell: Option<String>,
}

fn read_line() -> Result<Option<String>> {
    let mut s = String::new();
    // Ctrl-C while a question waits quits the run (see exec::on_signal)
    super::PROMPTING.store(true, std::sync::atomic::Ordering::SeqCst);
    let got = std::io::stdin().lock().read_line(&mut s);
    super::PROMPTING.store(false, std::sync::atomic::Ordering::SeqCst);
    match got {
        Ok(0) => Ok(None),
        Ok(_) => Ok(Some(s.trim_end_matches(['\n', '\r']).to_string())),
        Err(e) => Err(Error::io("<stdin>", e)),
    }
}

/// Read a line without echoing it (for secrets).
fn read_hidden() -> Result<Option<String>> {
    use rustix::termios::{LocalModes, OptionalActions, tcgetattr, tcsetattr};
    let stdin = std::io::stdin();
    let Ok(old) = tcgetattr(&stdin) else {
        return read_line();
    };
    let mut quiet = old.clone();
    quiet.local_modes.remove(LocalModes::ECHO);
    let _ = tcsetattr(&stdin, OptionalActions::Now, &quiet);
    // an interrupt while the echo is off puts it back before runbook exits
    *super::ECHO_OFF.lock().unwrap_or_else(|e| e.into_inner()) = Some(old.clone());
    let line = read_line();
    *super::ECHO_OFF.lock().unwrap_or_else(|e| e.into_inner()) = None;
    let _ = tcsetattr(&stdin, OptionalActions::Now, &old);
    errln!();
    line
}

impl Term {
    pub fn new(color: bool) -> Term {
        Term { color, shell: None }
    }

    /// Steps run in `shell`: the step prompt says so when it is not bash.
    pub fn with_shell(mut self, shell: &str) -> Term {
        let bash = std::path::Path::new(shell)
            .file_name()
            .is_some_and(|n| n == "bash");
        self.shell = (!bash).then(|| shell.to_string());
        self
    }

    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    pub fn dim(&self, s: &str) -> String {
        self.paint("2", s)
    }

    /// `[k/n] Section > step-id  mm:ss elapsed  line L`
    fn step_header(&self, k: usize, n: usize, elapsed: Duration, p: &Planned) -> String {
        let secs = elapsed.as_secs();
        format!(
            "\n{} {}  {}\n",
            self.paint(
                "1",
                &format!("[{k}/{n}] {} > {}", display(&p.section_title), p.step.id)
            ),
            self.dim(&format!("{:02}:{:02} elapsed", secs / 60, secs % 60)),
            self.dim(&format!("line {}", p.step.lines.0))
        )
    }

    pub fn show_step(&self, k: usize, n: usize, elapsed: Duration, p: &Planned, command: &str) {
        // one write: the terminal shows the step whole
        let mut o = self.step_header(k, n, elapsed, p);
        if let Some(shell) = &self.shell {
            o.push_str(&self.paint("33", &format!("runs in `{shell}` (not bash)\n")));
        }
        if !p.step.prose.is_empty() {
            o.push_str(&display(&p.step.prose));
            o.push('\n');
        }
        o.push_str(&self.command_text(command));
        err!("{o}");
    }

    /// A command as it will run: control characters shown as escapes (`\e`, `\r`), so a
    /// terminal cannot hide part of it.
    /// A step a person does: its text, and the command it names, if any.
    pub fn show_manual(
        &self,
        k: usize,
        n: usize,
        elapsed: Duration,
        p: &Planned,
        command: Option<&str>,
    ) {
        let mut o = self.step_header(k, n, elapsed, p);
        o.push_str(&self.paint("33;1", "by hand: "));
        o.push_str(&display(p.text()));
        o.push('\n');
        if let Some(c) = command {
            o.push_str(&self.command_text(c));
        }
        err!("{o}");
    }

    /// What the operator did about a manual step; `can_run`: it names a command runbook can
    /// run for them.
    pub fn choose_manual(&self, can_run: bool) -> Result<ManualChoice> {
        let (question, valid) = if can_run {
            (
                "Done by hand? [d]one / [r]un the command / [s]kip / [q]uit:",
                "d, r, s or q",
            )
        } else {
            ("Done by hand? [d]one / [s]kip / [q]uit:", "d, s or q")
        };
        self.ask_until(question, valid, ManualChoice::Quit, |a| match a {
            "d" | "done" | "y" | "yes" => Some(ManualChoice::Done),
            "r" | "run" if can_run => Some(ManualChoice::Run),
            "s" | "skip" => Some(ManualChoice::Skip),
            "q" | "quit" => Some(ManualChoice::Quit),
            _ => None,
        })
    }

    fn command_text(&self, command: &str) -> String {
        display(command.trim_end_matches('\n'))
            .split('\n')
            .map(|line| format!("    {}\n", self.paint("36", line)))
            .collect()
    }

    pub fn show_command(&self, command: &str) {
        err!("{}", self.command_text(command));
    }

    /// Ask `question` until `parse` accepts the answer; the end of input answers `eof`.
    fn ask_until<T>(
        &self,
        question: &str,
        valid: &str,
        eof: T,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Result<T> {
        loop {
            err!("{} ", self.paint("1", question));
            let _ = std::io::stderr().flush();
            let Some(answer) = read_line()? else {
                return Ok(eof);
            };
            let answer = answer.trim().to_ascii_lowercase();
            match parse(&answer) {
                Some(v) => return Ok(v),
                None => errln!("`{answer}` is not an answer: type {valid}"),
            }
        }
    }

    /// Run, skip, edit, all, quit. Nothing runs on an unclear answer.
    pub fn choose(&self) -> Result<Choice> {
        self.ask_until(
            "Run this step? [y]es / [s]kip / [e]dit / [a]ll remaining / [q]uit:",
            "y, s, e, a or q",
            Choice::Quit,
            |a| match a {
                "y" | "yes" | "r" | "run" => Some(Choice::Run),
                "s" | "skip" | "n" | "no" => Some(Choice::Skip),
                "e" | "edit" => Some(Choice::Edit),
                "a" | "all" => Some(Choice::All),
                "q" | "quit" => Some(Choice::Quit),
                _ => None,
            },
        )
    }

    /// Secret variables were lost with the previous runbook: 'r' to run again from the step
    /// that set them, 'v' to type their values, 'c' to go on without them.
    pub fn ask_missing_secrets(&self, step: &str) -> Result<char> {
        self.ask_until(
            &format!("[r]un again from step {step} / type the [v]alues / [c]ontinue without:"),
            "r, v or c",
            'c',
            |a| match a {
                "r" | "v" | "c" => a.chars().next(),
                _ => None,
            },
        )
    }

    /// After a failed step: retry (Run), edit then retry, skip or quit.
    pub fn after_failure(&self) -> Result<Choice> {
        self.ask_until(
            "The step failed. [r]etry / [e]dit / [s]kip / [q]uit:",
            "r, e, s or q",
            Choice::Quit,
            |a| match a {
                "r" | "retry" => Some(Choice::Run),
                "e" | "edit" => Some(Choice::Edit),
                "s" | "skip" => Some(Choice::Skip),
                "q" | "quit" => Some(Choice::Quit),
                _ => None,
            },
        )
    }

    /// Yes unless the answer is no.
    pub fn confirm_default_yes(&self, question: &str) -> Result<bool> {
        err!("{} [Y/n] ", self.paint("1", question));
        let _ = std::io::stderr().flush();
        Ok(!matches!(
            read_line()?.as_deref().map(str::trim),
            Some("n" | "N" | "no")
        ))
    }

    pub fn confirm(&self, question: &str) -> Result<bool> {
        err!("{} [y/N] ", self.paint("1", question));
        let _ = std::io::stderr().flush();
        Ok(matches!(
            read_line()?.as_deref().map(str::trim),
            Some("y" | "Y" | "yes")
        ))
    }

    /// The picker of recipes: numbers (several with spaces or commas), or `a` for all.
    /// The picker of recipes: numbers (several with spaces or commas), or `a` for all. A
    /// recipe that reads variables only other recipes set is marked, and when it is chosen
    /// without them the operator is offered to add them.
    pub fn pick_sections(&self, recipes: &[Recipe]) -> Result<Vec<String>> {
        errln!("{}", self.paint("1", "This page has several recipes:"));
        for (i, r) in recipes.iter().enumerate() {
            let mut note = format!(
                "#{}, {} step{}",
                r.id,
                r.steps,
                if r.steps == 1 { "" } else { "s" }
            );
            for (section, vars) in &r.needs {
                note.push_str(&format!(", needs {section} (for {})", dollar(vars)));
            }
            errln!("  {:>2}) {}  {}", i + 1, display(&r.title), self.dim(&note));
        }
        let mut chosen = self.ask_until(
            "Which to run? (numbers, a for all, q to quit):",
            "numbers from the list, a or q",
            vec![],
            |a| match a {
                "q" | "quit" => Some(vec![]),
                "a" | "all" => Some(recipes.iter().map(|r| r.id.clone()).collect()),
                _ => a
                    .split([' ', ','])
                    .filter(|x| !x.is_empty())
                    .map(|x| {
                        x.parse::<usize>()
                            .ok()
                            .and_then(|i| recipes.get(i.wrapping_sub(1)))
                            .map(|r| r.id.clone())
                    })
                    .collect::<Option<Vec<String>>>()
                    .filter(|p| !p.is_empty()),
            },
        )?;
        // what the chosen recipes need and was not chosen, until nothing more is needed
        let mut asked: Vec<String> = Vec::new();
        loop {
            let wanted = recipes
                .iter()
                .filter(|r| chosen.contains(&r.id))
                .flat_map(|r| r.needs.iter().map(move |n| (r, n)))
                .find(|(_, (section, _))| !chosen.contains(section) && !asked.contains(section));
            let Some((r, (section, vars))) = wanted else {
                break;
            };
            asked.push(section.clone());
            if self.confirm_default_yes(&format!(
                "{} reads {}, set only in {section}: run {section} first?",
                r.id,
                dollar(vars)
            ))? {
                chosen.push(section.clone());
            }
        }
        // in page order
        Ok(recipes
            .iter()
            .filter(|r| chosen.contains(&r.id))
            .map(|r| r.id.clone())
            .collect())
    }

    /// Ask for a placeholder's value, showing the line it sits in and its hint.
    pub fn ask_value(
        &self,
        name: &str,
        step: &str,
        line: &str,
        hint: Option<&str>,
        secret: bool,
    ) -> Result<String> {
        errln!(
            "\n{} in step {step}:",
            self.paint("1", &format!("<{name}>"))
        );
        errln!("    {}", self.paint("36", &display(line)));
        if let Some(h) = hint {
            errln!("    {}", self.dim(&format!("hint: {}", display(h))));
        }
        loop {
            err!(
                "{} ",
                self.paint(
                    "1",
                    &format!(
                        "value for <{name}>{}:",
                        if secret { " (hidden)" } else { "" }
                    )
                )
            );
            let _ = std::io::stderr().flush();
            let v = if secret { read_hidden()? } else { read_line()? };
            match v {
                None => return Err(Error::Usage(format!("no value given for <{name}>"))),
                Some(v) if v.is_empty() => errln!("a value is needed (Ctrl-D to give up)"),
                Some(v) if secret && v.len() < super::secrets::MIN_LEN => errln!(
                    "a secret must have at least {} characters to be masked in the output without hiding ordinary text: type it again",
                    super::secrets::MIN_LEN
                ),
                Some(v) => return Ok(v),
            }
        }
    }

    /// Edit the command in $VISUAL/$EDITOR; None when it did not change.
    pub fn edit(&self, command: &str, run_dir: &Path) -> Result<Option<String>> {
        let editor = std::env::var("VISUAL")
            .or_else(|_| std::env::var("EDITOR"))
            .unwrap_or_else(|_| "vi".into());
        let path = run_dir.join("edit.sh");
        {
            use std::os::unix::fs::OpenOptionsExt;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(0o600)
                .open(&path)
                .map_err(|e| Error::io(&path, e))?;
            f.write_all(command.as_bytes())
                .map_err(|e| Error::io(&path, e))?;
        }
        let status = std::process::Command::new("sh")
            .arg("-c")
            .arg(format!("{editor} \"$1\""))
            .arg("sh")
            .arg(&path)
            .status();
        let edited = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e));
        let _ = std::fs::remove_file(&path);
        match status {
            Ok(s) if s.success() => {}
            _ => {
                errln!("the editor failed; the command is unchanged");
                return Ok(None);
            }
        }
        let edited = edited?;
        Ok((edited.trim_end() != command.trim_end()).then_some(edited))
    }
}
