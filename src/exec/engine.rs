//! The step loop: each step of the plan in order is shown, asked about (unless `--yes`), run
//! in the carried shell session and recorded; every event goes to the reporters. A manual
//! step (something a person does) is asked about as done, skipped or run (its inline
//! command), or with `--yes` shown and passed as not confirmed.

use super::config::RunConfig;
use super::event::{Decision, Event, Outcome, StepEnd};
use super::prompt::{Choice, ManualChoice, Term};
use super::report::Reporters;
use super::secrets::{self, Secrets};
use super::shell::{self, Shell};
use super::state::{self, Delta, State};
use super::{EXIT_INTERRUPTED, EXIT_STEP_FAILED, HANGUP, INTERRUPTED, STOPPED};
use crate::error::{EXIT_OK, Error, Result};
use crate::journal::{self, RunDir};
use crate::plan::{self, Planned};
use std::collections::HashMap;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Instant;

pub struct Engine<'a> {
    pub cfg: &'a RunConfig,
    pub term: &'a Term,
    pub run: &'a RunDir,
    pub reporters: Reporters<'a>,
    pub shell: Shell,
    pub secrets: Secrets,
    /// The placeholder values: those given or asked for before the run, and those asked for
    /// when the operator runs a manual step's command.
    pub values: HashMap<String, String>,
    /// The page, as shown (in messages about a line of it).
    pub page: String,
    /// In a run on several hosts: this host, and what the hosts share (questions answered
    /// once for all, a signal that stops them all).
    pub fleet: Option<super::fleet::HostCtl<'a>>,
}

/// How one step ended, for the loop.
struct Ran {
    status: i32,
    interrupted: bool,
}

/// What the loop does after a step.
enum Flow {
    Next,
    Stop(Outcome, i32),
}

/// Per step position: what the step changed in the state so far (all its attempts), and
/// whether its snapshot file exists.
#[derive(Default)]
struct StepState {
    at: Option<usize>,
    changes: Delta,
    written: bool,
}

impl Engine<'_> {
    /// Run `items[from..]` starting from `state`. Returns runbook's exit status.
    pub fn execute(&mut self, items: &[Planned], from: usize, mut state: State) -> Result<i32> {
        let cfg = self.cfg;
        let mut run_all = cfg.yes;
        let total = items.len();
        let started = Instant::now();
        let (mut result, mut exit) = (Outcome::Ok, EXIT_OK);
        let mut k = from;
        let mut attempt = 0;
        let mut snapshot = StepState::default();
        // a command edited after a failure, to retry the same step with
        let mut edited: Option<String> = None;
        // the operator chose retry: run again without asking again
        let mut retry = false;
        // (a remote host's sessions for the first steps connect while the first is shown)
        self.shell
            .transport
            .steps_ahead(items[k..].iter().filter(|p| !p.is_manual()).count());
        while k < total {
            let p = &items[k];
            if self.fleet.is_some() && STOPPED.load(Ordering::SeqCst) {
                // a signal stopped the hosts: none starts another step
                (result, exit) = (Outcome::Interrupted, EXIT_INTERRUPTED);
                break;
            }
            if p.is_manual() {
                match self.manual(
                    k,
                    total,
                    started,
                    p,
                    &mut state,
                    &mut snapshot,
                    &mut attempt,
                )? {
                    Flow::Next => {
                        k += 1;
                        continue;
                    }
                    Flow::Stop(r, e) => {
                        (result, exit) = (r, e);
                        break;
                    }
                }
            }
            let mut command = edited.take().unwrap_or_else(|| p.command.clone());
            self.secrets.add_assigned(&command, &cfg.secret);
            // with -q and nothing to ask, only the steps' output is shown (on several hosts
            // the screen says which step each host is at)
            if self.fleet.is_none() && (cfg.verbosity >= 0 || !run_all) {
                self.term.show_step(
                    k + 1,
                    total,
                    started.elapsed(),
                    p,
                    &self.secrets.mask(&command),
                );
            }
            let decision = if run_all || std::mem::take(&mut retry) {
                Choice::Run
            } else if let Some(f) = &self.fleet {
                f.choose(self.term, k + 1, total, p, &self.secrets.mask(&command))?
            } else {
                loop {
                    match self.term.choose()? {
                        Choice::Edit => match self.edit(&command)? {
                            Some(e) => {
                                command = e;
                                self.secrets.add_assigned(&command, &cfg.secret);
                                self.term.show_command(&self.secrets.mask(&command));
                            }
                            None => errln!("(unchanged)"),
                        },
                        other => break other,
                    }
                }
            };
            match decision {
                Choice::Quit => {
                    self.reporters.event(&Event::Step {
                        id: p.step.id.clone(),
                        decision: Decision::Quit,
                        command: None,
                    })?;
                    (result, exit) = quit_outcome();
                    break;
                }
                Choice::Skip => {
                    self.reporters.event(&Event::Step {
                        id: p.step.id.clone(),
                        decision: Decision::Skip,
                        command: Some(self.secrets.mask(&command)),
                    })?;
                    k += 1;
                    continue;
                }
                Choice::All => run_all = true,
                _ => {}
            }
            attempt += 1;
            self.shell
                .transport
                .steps_ahead(items[k..].iter().filter(|p| !p.is_manual()).count());
            let ran = self.run_command(k, p, &command, attempt, &mut state, &mut snapshot)?;
            if let Some(stop) = self.after_interrupt(&ran)? {
                (result, exit) = stop;
                break;
            }
            if ran.status != 0 {
                if cfg.keep_going {
                    (result, exit) = (Outcome::Failed, EXIT_STEP_FAILED);
                    k += 1;
                    continue;
                }
                // on several hosts a failed host stops (the others go on)
                if cfg.interactive && !cfg.yes && self.fleet.is_none() {
                    match self.term.after_failure()? {
                        Choice::Run => {
                            edited = Some(command); // retry the command as it last ran
                            retry = true;
                            continue;
                        }
                        Choice::Edit => {
                            edited = Some(self.edit(&command)?.unwrap_or(command));
                            continue;
                        }
                        Choice::Skip => {
                            self.reporters.event(&Event::Step {
                                id: p.step.id.clone(),
                                decision: Decision::Skip,
                                command: None,
                            })?;
                            k += 1;
                            continue;
                        }
                        _ => {}
                    }
                }
                (result, exit) = (Outcome::Failed, EXIT_STEP_FAILED);
                break;
            }
            k += 1;
        }
        tracing::info!(result = result.as_str(), "run ended");
        self.reporters.event(&Event::RunEnd {
            result,
            error: None,
        })?;
        Ok(exit)
    }

    /// A manual step: asked about on a terminal, passed (not confirmed) with `--yes`.
    #[allow(clippy::too_many_arguments)]
    fn manual(
        &mut self,
        k: usize,
        total: usize,
        started: Instant,
        p: &Planned,
        state: &mut State,
        snapshot: &mut StepState,
        attempt: &mut u32,
    ) -> Result<Flow> {
        let manual = |decision| Event::Manual {
            id: p.step.id.clone(),
            text: p.text().to_string(),
            decision,
        };
        if !self.cfg.interactive || self.cfg.yes {
            // a person must do it and nobody is asked: it is shown, and left unconfirmed
            self.reporters.event(&manual(Decision::NotConfirmed))?;
            return Ok(Flow::Next);
        }
        if let Some(f) = &self.fleet {
            // on several hosts: said done, skipped or quit (for all of them at once, or per
            // host); its command is not run for them
            let decision = match f.choose_manual(self.term, k + 1, total, p)? {
                ManualChoice::Done => Decision::Done,
                ManualChoice::Skip => Decision::Skip,
                _ => Decision::Quit,
            };
            self.reporters.event(&manual(decision))?;
            return Ok(if decision == Decision::Quit {
                let (r, e) = quit_outcome();
                Flow::Stop(r, e)
            } else {
                Flow::Next
            });
        }
        let inline = p.inline_command().map(|c| self.secrets.mask(c));
        self.term
            .show_manual(k + 1, total, started.elapsed(), p, inline.as_deref());
        loop {
            match self.term.choose_manual(inline.is_some())? {
                ManualChoice::Done => {
                    self.reporters.event(&manual(Decision::Done))?;
                    return Ok(Flow::Next);
                }
                ManualChoice::Skip => {
                    self.reporters.event(&manual(Decision::Skip))?;
                    return Ok(Flow::Next);
                }
                ManualChoice::Quit => {
                    self.reporters.event(&manual(Decision::Quit))?;
                    let (r, e) = quit_outcome();
                    return Ok(Flow::Stop(r, e));
                }
                ManualChoice::Run => {
                    let Some(command) = self.inline_command(p)? else {
                        continue;
                    };
                    *attempt += 1;
                    let ran = self.run_command(k, p, &command, *attempt, state, snapshot)?;
                    if let Some((r, e)) = self.after_interrupt(&ran)? {
                        return Ok(Flow::Stop(r, e));
                    }
                    if ran.status == 0 {
                        self.reporters.event(&manual(Decision::Run))?;
                        return Ok(Flow::Next);
                    }
                    errln!("the command failed: the step is still to be done");
                }
            }
        }
    }

    /// A manual step's inline command with every placeholder filled: values asked for now
    /// when missing; None when a value cannot be used (said why).
    fn inline_command(&mut self, p: &Planned) -> Result<Option<String>> {
        for m in &p.missing {
            if self.values.contains_key(&m.name) || self.values.contains_key(&m.set_name) {
                continue;
            }
            let secret = self.cfg.is_secret(&m.name) || self.cfg.is_secret(&m.set_name);
            let v = self.term.ask_value(
                &m.name,
                &p.step.id,
                p.step.code.trim(),
                m.hint.as_deref(),
                secret,
            )?;
            if secret {
                self.secrets.add(&v);
            }
            self.values.insert(m.name.clone(), v);
        }
        let filled = plan::fill(&p.step, &self.values);
        if let Some((m, why)) = filled.refused.first() {
            errln!(
                "the value given for <{}> cannot be used there: {why}",
                m.name
            );
            self.values.remove(&m.name);
            return Ok(None);
        }
        Ok(Some(filled.command))
    }

    /// After a step that was interrupted: the run stops (it can be resumed), unless the
    /// operator on the terminal says to go on.
    fn after_interrupt(&mut self, ran: &Ran) -> Result<Option<(Outcome, i32)>> {
        if ran.interrupted
            && (!self.cfg.interactive
                || HANGUP.load(Ordering::SeqCst)
                || self.cfg.yes
                || self.term.confirm_default_yes(
                    "The step was interrupted. Quit the run (it can be resumed)?",
                )?)
        {
            return Ok(Some((Outcome::Interrupted, EXIT_INTERRUPTED)));
        }
        Ok(None)
    }

    /// Run one command as the step at plan position `k`: recorded from its start to its end,
    /// its output to the reporters, the state it leaves taken in and its changes written.
    fn run_command(
        &mut self,
        k: usize,
        p: &Planned,
        command: &str,
        attempt: u32,
        state: &mut State,
        snapshot: &mut StepState,
    ) -> Result<Ran> {
        let cfg = self.cfg;
        let id = &p.step.id;
        let begin = journal::now_rfc3339();
        // marks every process of this execution of the step, to find them all if it must stop
        let token = format!("{}:{id}:{}:{attempt}", self.run.id, std::process::id());
        journal::failpoint("step-before");
        self.reporters.event(&Event::StepStart {
            id: id.clone(),
            command: self.secrets.mask(command),
            decision: Decision::Run,
            attempt,
            token: token.clone(),
        })?;
        tracing::info!(step = %id, "step started");
        // bash's messages about a line of the command name the page and its line (when the
        // command has the page's lines: not edited, no value spanning lines)
        let lines = &p.step.code_lines;
        let same_lines = command.trim_end_matches('\n').split('\n').count() == lines.len();
        let mut child = 0;
        // hosts that run at once share no terminal
        let terminal = cfg.interactive && self.fleet.as_ref().is_none_or(|f| f.one_at_a_time());
        let Engine {
            shell,
            reporters,
            secrets,
            page,
            ..
        } = self;
        let outcome = shell.run(
            state,
            command,
            secrets,
            &shell::Launch {
                terminal,
                token: &token,
                timeout: cfg.timeout,
                source: same_lines.then_some(shell::Source {
                    file: page.as_str(),
                    lines,
                }),
            },
            &mut |pid| {
                child = pid as i32;
                super::step_started(child);
                journal::failpoint("step-running");
            },
            &mut |stream, chunk| reporters.output(stream, chunk),
        );
        super::step_ended(child);
        let outcome = outcome.map_err(|e| {
            // the transport lost the host mid-step: say so as it is, not as a start failure
            if e.kind() == std::io::ErrorKind::ConnectionAborted {
                Error::Usage(e.to_string())
            } else {
                Error::Usage(format!("cannot start `{}`: {e}", cfg.shell))
            }
        })?;
        journal::failpoint("step-exited");
        for v in &outcome.learned {
            self.secrets.add_bytes(v);
        }
        // Ctrl-C on the step's own terminal reaches it, not runbook
        let interrupted = INTERRUPTED.swap(false, Ordering::SeqCst)
            || (self.fleet.is_some() && STOPPED.load(Ordering::SeqCst))
            || (cfg.interactive
                && (outcome.signal == Some(rustix::process::Signal::INT.as_raw())
                    || outcome.status == 130));
        // a step that was stopped leaves nothing running: not a background child that
        // ignored the signal, nor one that moved to a process group or session of its own
        let leftovers = if interrupted || outcome.timed_out {
            self.shell
                .transport
                .stop_leftovers(&token, std::time::Duration::from_secs(2))
        } else {
            0
        };
        if outcome.timed_out {
            errln!(
                "step {id} ran longer than --timeout {:?}: stopped",
                cfg.timeout.unwrap_or_default()
            );
        }
        if let Some(dump) = &outcome.dump {
            let delta = state.advance(dump, &self.shell.inherited, &cfg.secret, &mut self.secrets);
            // one file per step that changed the state, holding what it changed (what all its
            // attempts changed, when it ran again after a failure): a resume applies them in
            // order
            if snapshot.at != Some(k) {
                *snapshot = StepState {
                    at: Some(k),
                    ..StepState::default()
                };
            }
            snapshot.changes.merge(delta);
            if !snapshot.changes.is_empty() || snapshot.written {
                self.run.write_private(
                    &format!("state/{:03}-{id}.sh", k + 1),
                    &snapshot.changes.to_bytes(&format!("step {} ({id})", k + 1)),
                )?;
                snapshot.written = true;
            }
        }
        let state_error = outcome.restore_failed.then(|| {
            self.secrets.mask(&format!(
                "did not run: {}",
                lost_directory(state.cwd().unwrap_or_default())
            ))
        });
        // an edited command is recorded with what the page said
        let page_command =
            (command.trim_end() != p.command.trim_end()).then(|| self.secrets.mask(&p.command));
        self.reporters.event(&Event::StepEnd(Box::new(StepEnd {
            id: id.clone(),
            command: self.secrets.mask(command),
            page_command,
            decision: Decision::Run,
            start: begin,
            end: journal::now_rfc3339(),
            elapsed: outcome.elapsed.as_secs_f64(),
            status: outcome.status,
            signal: outcome.signal,
            interrupted,
            timed_out: outcome.timed_out,
            leftovers_stopped: leftovers,
            output_bytes: outcome.output_bytes,
            secret_names: state.secret_names(),
            state_error,
        })))?;
        tracing::info!(step = %id, status = outcome.status, elapsed = ?outcome.elapsed, "step ended");
        Ok(Ran {
            status: outcome.status,
            interrupted,
        })
    }

    /// Edit a command in the operator's editor without its secrets reaching the editor's
    /// file: each is a `[[secret N]]` token there, put back after.
    fn edit(&self, command: &str) -> Result<Option<String>> {
        let (text, tokens) = self.secrets.tokenize(command);
        Ok(self
            .term
            .edit(&text, &self.run.path)?
            .map(|edited| secrets::detokenize(&edited, &tokens)))
    }
}

/// The run quit by the operator, or ended by a hangup (a question read the end of input).
fn quit_outcome() -> (Outcome, i32) {
    if HANGUP.load(Ordering::SeqCst) {
        (Outcome::Interrupted, EXIT_INTERRUPTED)
    } else {
        (Outcome::Quit, EXIT_STEP_FAILED)
    }
}

/// Why a step cannot start in the directory `dir`, where the step before it ended.
fn lost_directory(dir: &[u8]) -> String {
    if dir.is_empty() {
        return "the working directory the step before it ended in is not known ($PWD was unset)"
            .to_string();
    }
    let shown = format!("{:?}", String::from_utf8_lossy(dir));
    let path = Path::new(std::ffi::OsStr::from_bytes(dir));
    let why = match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            "no longer exists (removed or renamed)".to_string()
        }
        Err(e) => format!("cannot be reached ({e})"),
        Ok(m) if !m.is_dir() => "is no longer a directory".to_string(),
        Ok(_) => "cannot be entered (permission denied)".to_string(),
    };
    format!(
        "its working directory {shown}, where the step before it ended, {why}; it would run elsewhere, so it fails with status {} (recreate the directory, then retry or resume: every later step starts there too)",
        state::EXIT_STATE_LOST
    )
}
