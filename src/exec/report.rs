//! The reporters of a run: each receives the run's [`Event`]s and the steps' output and
//! records or shows them its way. The journal (what a resume reads back), the transcript (the
//! run as a change record), the terminal (output, status lines, the closing summary). They
//! decide nothing.

use super::event::{Decision, Event, Outcome, RecordRef, Reporter, RunStart, StepEnd};
use super::shell::Stream;
use crate::error::Result;
use crate::journal::{self, Journal, Transcript};
use crate::shell::display;
use std::collections::HashMap;
use std::io::Write;

/// Every reporter of a run, in the order they get each event: the journal first (an event
/// is on disk before anyone is told).
#[derive(Default)]
pub struct Reporters<'a> {
    list: Vec<Box<dyn Reporter + 'a>>,
}

impl<'a> Reporters<'a> {
    pub fn add(&mut self, r: impl Reporter + 'a) {
        self.list.push(Box::new(r));
    }

    pub fn event(&mut self, event: &Event) -> Result<()> {
        for r in &mut self.list {
            r.event(event)?;
        }
        Ok(())
    }

    pub fn output(&mut self, stream: Stream, data: &[u8]) {
        for r in &mut self.list {
            r.output(stream, data);
        }
    }
}

/// The journal: one JSON line per event, each one write(2) before runbook goes on (so it
/// survives runbook being killed, `kill -9` included); the run's end also waits for the disk.
/// In a run on several hosts each line is tagged with its host, and the fleet's own journal
/// (shared by the hosts' threads) gets every host's lines too.
pub struct JournalReporter {
    journal: JournalRef,
    host: Option<String>,
}

enum JournalRef {
    Own(Journal),
    Shared(std::sync::Arc<std::sync::Mutex<Journal>>),
}

impl JournalReporter {
    pub fn new(journal: Journal) -> Self {
        JournalReporter {
            journal: JournalRef::Own(journal),
            host: None,
        }
    }

    /// A journal several hosts write to, each line tagged with its `host` (none: the
    /// run's own lines).
    pub fn shared(journal: std::sync::Arc<std::sync::Mutex<Journal>>, host: Option<&str>) -> Self {
        JournalReporter {
            journal: JournalRef::Shared(journal),
            host: host.map(String::from),
        }
    }

    /// Each line tagged with `host`.
    pub fn tagged(mut self, host: &str) -> Self {
        self.host = Some(host.to_string());
        self
    }
}

impl Reporter for JournalReporter {
    fn event(&mut self, event: &Event) -> Result<()> {
        let durable = matches!(event, Event::RunEnd { .. });
        let record = RecordRef {
            event,
            time: journal::now_rfc3339(),
            host: self.host.as_deref(),
        };
        match &mut self.journal {
            JournalRef::Own(j) => j.append(&record, durable),
            JournalRef::Shared(j) => j
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .append(&record, durable),
        }
    }
}

/// What the transcript says of a step besides its events: its section and prose.
pub struct StepText {
    pub section: String,
    pub prose: String,
}

/// The transcript: the run as a Markdown change record (who, where, from which revision,
/// each step's command as it ran, what the page said when it was edited, its output, its
/// status).
pub struct TranscriptReporter {
    file: Transcript,
    title: String,
    page: String,
    steps: HashMap<String, StepText>,
    section: Option<String>,
    capture: Capture,
}

impl TranscriptReporter {
    pub fn new(
        file: Transcript,
        title: &str,
        page: &str,
        steps: HashMap<String, StepText>,
    ) -> Self {
        TranscriptReporter {
            file,
            title: title.to_string(),
            page: page.to_string(),
            steps,
            section: None,
            capture: Capture::default(),
        }
    }

    /// The step's section heading, when the step opens a new one.
    fn heading(&mut self, id: &str) -> String {
        let section = self.steps.get(id).map(|s| s.section.clone());
        if section.is_some() && section != self.section {
            self.section = section.clone();
            format!("\n## {}\n", display(&section.unwrap_or_default()))
        } else {
            String::new()
        }
    }

    fn prose(&self, id: &str) -> String {
        match self.steps.get(id) {
            Some(s) if !s.prose.is_empty() => format!("{}\n\n", display(&s.prose)),
            _ => String::new(),
        }
    }

    fn header(&self, s: &RunStart, time: &str) -> String {
        let mut o = format!(
            "# Run of {}\n\n- page: `{}`\n- run: `{}`\n- started: {time}\n",
            display(&self.title),
            self.page,
            s.run
        );
        if let (Some(user), Some(host)) = (&s.user, &s.host) {
            o.push_str(&format!("- by: `{user}` on `{host}`\n"));
        }
        if let Some(v) = &s.version {
            o.push_str(&format!("- runbook: {v}\n"));
        }
        match &s.revision {
            Some(r) => o.push_str(&format!(
                "- page revision: `{}`{}\n",
                r.commit,
                if r.dirty {
                    " with uncommitted changes to the page"
                } else {
                    ""
                }
            )),
            None => o.push_str("- page revision: not in a git repository\n"),
        }
        o.push_str(&format!("- shell: `{}`\n", s.shell));
        let sel = &s.selection;
        let mut chosen = Vec::new();
        for x in &sel.sections {
            chosen.push(format!("--section {x}"));
        }
        for x in &sel.steps {
            chosen.push(format!("--step {x}"));
        }
        if let Some(x) = &sel.from {
            chosen.push(format!("--from {x}"));
        }
        if let Some(x) = &sel.to {
            chosen.push(format!("--to {x}"));
        }
        o.push_str(&format!(
            "- selection: {}\n",
            if chosen.is_empty() {
                "the whole page".to_string()
            } else {
                format!("`{}`", chosen.join(" "))
            }
        ));
        if !s.values.is_empty() {
            o.push_str("- values:\n");
            for (k, v) in &s.values {
                o.push_str(&format!("  - `{k}` = `{}`\n", display(v)));
            }
        }
        o
    }
}

impl Reporter for TranscriptReporter {
    fn event(&mut self, event: &Event) -> Result<()> {
        let now = journal::now_rfc3339();
        let text = match event {
            Event::RunStart(s) => self.header(s, &now),
            Event::RunResume { from } => format!("\n---\nresumed at {now} from step {from}\n"),
            Event::Step {
                id,
                decision,
                command,
            } => {
                let what = match decision {
                    Decision::Skip => "skipped",
                    Decision::Quit => "the run was quit here",
                    _ => "not run",
                };
                let mut o = format!("{}\n### {id} ({what})\n", self.heading(id));
                if let Some(c) = command {
                    o.push_str(&format!("\n```bash\n{}\n```\n", display(c.trim_end())));
                }
                o
            }
            Event::StepStart { .. } => {
                self.capture = Capture::default();
                String::new()
            }
            Event::StepEnd(e) => self.step_end(e),
            Event::Manual { id, text, decision } => {
                let what = match decision {
                    Decision::Done => "done by hand, confirmed by the operator",
                    Decision::Skip => "by hand, skipped",
                    Decision::NotConfirmed => "by hand, not confirmed (--yes did not wait for it)",
                    Decision::Quit => "by hand, the run was quit here",
                    Decision::Run => "by hand, its command run",
                };
                format!(
                    "{}\n### {id} ({what})\n\n{}\n",
                    self.heading(id),
                    display(text)
                )
            }
            Event::RunEnd { result, error } => format!(
                "\n---\nrun {} at {now}{}\n",
                result.as_str(),
                error.as_ref().map(|e| format!(": {e}")).unwrap_or_default()
            ),
        };
        if text.is_empty() {
            return Ok(());
        }
        self.file.write(&text)
    }

    fn output(&mut self, _stream: Stream, data: &[u8]) {
        self.capture.push(data);
    }
}

impl TranscriptReporter {
    fn step_end(&mut self, e: &StepEnd) -> String {
        // a pty ends lines with \r\n: the transcript is text
        let out = std::mem::take(&mut self.capture)
            .text()
            .replace("\r\n", "\n");
        let mut o = format!(
            "{}\n### {}\n\n{}",
            self.heading(&e.id),
            e.id,
            self.prose(&e.id)
        );
        if let Some(page) = &e.page_command {
            o.push_str(&format!(
                "The operator edited the command. The page said:\n\n```bash\n{}\n```\n\nWhat ran:\n\n",
                display(page.trim_end())
            ));
        }
        o.push_str(&format!(
            "```bash\n{}\n```\n\n```\n{out}{}```\n\n",
            display(e.command.trim_end()),
            if out.is_empty() || out.ends_with('\n') {
                ""
            } else {
                "\n"
            }
        ));
        if let Some(err) = &e.state_error {
            o.push_str(&format!("step {} {err}\n\n", e.id));
        }
        o.push_str(&format!(
            "exit status {} after {:.1} s\n",
            e.status, e.elapsed
        ));
        o
    }
}

/// A step's output for the transcript: the first and the last `Capture::HALF` bytes.
#[derive(Default)]
pub struct Capture {
    head: Vec<u8>,
    tail: std::collections::VecDeque<u8>,
    dropped: usize,
}

impl Capture {
    const HALF: usize = 512 * 1024;

    pub fn push(&mut self, mut data: &[u8]) {
        let room = Self::HALF.saturating_sub(self.head.len());
        let n = room.min(data.len());
        self.head.extend_from_slice(&data[..n]);
        data = &data[n..];
        self.tail.extend(data);
        let over = self.tail.len().saturating_sub(Self::HALF);
        self.tail.drain(..over);
        self.dropped += over;
    }

    pub fn text(&self) -> String {
        let mut out = String::from_utf8_lossy(&self.head).into_owned();
        if self.dropped > 0 {
            out.push_str(&format!(
                "\n[... {} bytes of output not kept here ...]\n",
                self.dropped
            ));
        }
        let tail: Vec<u8> = self.tail.iter().copied().collect();
        out.push_str(&String::from_utf8_lossy(&tail));
        out
    }
}

/// How a step of the run ended, for the closing summary.
#[derive(Debug, Clone, PartialEq, Eq)]
enum StepOutcome {
    Ok,
    Failed(i32),
    TimedOut,
    Interrupted,
    NotStarted(String),
    Skipped,
    ManualDone,
    ManualSkipped,
    ManualNotConfirmed,
    /// Started, never ended: runbook stopped while it ran (a lost connection, say).
    Unknown,
}

/// The terminal: the steps' output as it comes (stdout to stdout; stderr to stderr when the
/// step runs on pipes), a status line after each step, and at the end a summary of every
/// step that did not plainly succeed, the run directory and the command that resumes it.
/// `-q` leaves only the steps' output and errors; `-v` adds detail.
pub struct TerminalReporter {
    color: bool,
    verbosity: i8,
    /// The steps this execution covers, in order: (id, what the summary calls it).
    order: Vec<String>,
    outcomes: HashMap<String, StepOutcome>,
    run_dir: String,
    run_id: String,
    resume: String,
    /// Said when the run starts or resumes: the hosts the page asks to run steps on, which
    /// this run does not connect to.
    notices: Vec<String>,
}

impl TerminalReporter {
    pub fn new(
        color: bool,
        verbosity: i8,
        order: Vec<String>,
        run_dir: &str,
        run_id: &str,
        resume: String,
    ) -> Self {
        TerminalReporter {
            color,
            verbosity,
            order,
            outcomes: HashMap::new(),
            run_dir: run_dir.to_string(),
            run_id: run_id.to_string(),
            resume,
            notices: Vec::new(),
        }
    }

    /// Lines to say when the run starts or resumes (unless `-q`).
    pub fn with_notices(mut self, notices: Vec<String>) -> Self {
        self.notices = notices;
        self
    }

    fn tell_notices(&self) {
        for line in &self.notices {
            errln!("{}", self.paint("33", line));
        }
    }

    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    fn summary(&self, result: Outcome, error: Option<&str>) -> String {
        let mut lines = Vec::new();
        for id in &self.order {
            let what = match self.outcomes.get(id) {
                None => "not run".to_string(),
                Some(StepOutcome::Ok | StepOutcome::ManualDone) => continue,
                Some(StepOutcome::Failed(s)) => format!("failed (exit status {s})"),
                Some(StepOutcome::TimedOut) => "timed out (stopped by --timeout)".into(),
                Some(StepOutcome::Interrupted) => "interrupted".into(),
                Some(StepOutcome::NotStarted(why)) => format!("did not start: {why}"),
                Some(StepOutcome::Skipped) => "skipped".into(),
                Some(StepOutcome::Unknown) => {
                    "outcome unknown: it was running when the run stopped".into()
                }
                Some(StepOutcome::ManualSkipped) => "by hand, skipped".into(),
                Some(StepOutcome::ManualNotConfirmed) => {
                    "by hand, not confirmed: --yes did not wait for it".into()
                }
            };
            lines.push(format!("  {id}  {what}"));
        }
        let mut o = String::new();
        let head = format!("run {}", result.as_str());
        let head = match result {
            Outcome::Ok => self.paint("32;1", &head),
            _ => self.paint("31;1", &head),
        };
        o.push_str(&format!(
            "\n{head}{}\n",
            error.map(|e| format!(": {e}")).unwrap_or_default()
        ));
        if !lines.is_empty() {
            o.push_str(&format!(
                "{} of {} step{} did not plainly succeed:\n",
                lines.len(),
                self.order.len(),
                if self.order.len() == 1 { "" } else { "s" }
            ));
            for l in &lines {
                o.push_str(l);
                o.push('\n');
            }
        }
        o.push_str(&format!("run directory: {}\n", self.run_dir));
        if result != Outcome::Ok {
            o.push_str(&format!("to go on from here: {}\n", self.resume));
        }
        o
    }
}

impl Reporter for TerminalReporter {
    fn event(&mut self, event: &Event) -> Result<()> {
        let quiet = self.verbosity < 0;
        match event {
            Event::RunStart(s) => {
                if !quiet {
                    errln!(
                        "{}",
                        self.paint(
                            "2",
                            &format!(
                                "run {} (journal, transcript and logs in {})",
                                s.run, self.run_dir
                            )
                        )
                    );
                    self.tell_notices();
                }
                if self.verbosity > 0 {
                    errln!(
                        "{}",
                        self.paint(
                            "2",
                            &format!(
                                "by {} on {}, runbook {}, page revision {}",
                                s.user.as_deref().unwrap_or("?"),
                                s.host.as_deref().unwrap_or("?"),
                                s.version.as_deref().unwrap_or("?"),
                                s.revision
                                    .as_ref()
                                    .map(|r| format!(
                                        "{}{}",
                                        r.commit,
                                        if r.dirty { " (page changed)" } else { "" }
                                    ))
                                    .unwrap_or_else(|| "none (not in git)".into())
                            )
                        )
                    );
                }
            }
            Event::RunResume { from } => {
                if !quiet {
                    errln!(
                        "{}",
                        self.paint(
                            "2",
                            &format!("resuming run {} from step {from}", self.run_id)
                        )
                    );
                    self.tell_notices();
                }
            }
            Event::Step { id, decision, .. } => {
                if *decision == Decision::Skip {
                    self.outcomes.insert(id.clone(), StepOutcome::Skipped);
                }
            }
            Event::StepStart { id, .. } => {
                self.outcomes.insert(id.clone(), StepOutcome::Unknown);
            }
            Event::StepEnd(e) => {
                let outcome = if let Some(why) = &e.state_error {
                    errln!("{}", self.paint("31;1", &format!("step {} {why}", e.id)));
                    StepOutcome::NotStarted("its working directory is gone".into())
                } else if e.timed_out {
                    StepOutcome::TimedOut
                } else if e.interrupted {
                    StepOutcome::Interrupted
                } else if e.status != 0 {
                    StepOutcome::Failed(e.status)
                } else {
                    StepOutcome::Ok
                };
                if !quiet || outcome != StepOutcome::Ok {
                    let msg = format!("exit status {} ({:.1} s)", e.status, e.elapsed);
                    errln!(
                        "{}",
                        if e.status == 0 {
                            self.paint("32", &msg)
                        } else {
                            self.paint("31;1", &format!("step {}: {msg}", e.id))
                        }
                    );
                }
                if self.verbosity > 0 {
                    errln!(
                        "{}",
                        self.paint(
                            "2",
                            &format!(
                                "  {} bytes of output, {} secret name{} kept in memory, {} process{} stopped after it",
                                e.output_bytes,
                                e.secret_names.len(),
                                if e.secret_names.len() == 1 { "" } else { "s" },
                                e.leftovers_stopped,
                                if e.leftovers_stopped == 1 { "" } else { "es" }
                            )
                        )
                    );
                }
                self.outcomes.insert(e.id.clone(), outcome);
            }
            Event::Manual { id, text, decision } => {
                let outcome = match decision {
                    Decision::Done | Decision::Run => StepOutcome::ManualDone,
                    Decision::Skip => StepOutcome::ManualSkipped,
                    Decision::NotConfirmed => {
                        if !quiet {
                            errln!(
                                "{} {}",
                                self.paint("33;1", "by hand (not waited for, --yes):"),
                                display(text)
                            );
                        }
                        StepOutcome::ManualNotConfirmed
                    }
                    Decision::Quit => return Ok(()),
                };
                self.outcomes.insert(id.clone(), outcome);
            }
            Event::RunEnd { result, error } => {
                let plain = *result == Outcome::Ok
                    && self.order.iter().all(|id| {
                        matches!(
                            self.outcomes.get(id),
                            Some(StepOutcome::Ok | StepOutcome::ManualDone)
                        )
                    });
                if plain {
                    if !quiet {
                        errln!("{}", self.paint("2", &format!("run ok: {}", self.run_dir)));
                    }
                } else {
                    err!("{}", self.summary(*result, error.as_deref()));
                }
            }
        }
        Ok(())
    }

    fn output(&mut self, stream: Stream, data: &[u8]) {
        match stream {
            Stream::Out => {
                let mut o = std::io::stdout();
                let _ = o.write_all(data);
                let _ = o.flush();
            }
            Stream::Err => {
                let _ = std::io::stderr().write_all(data);
            }
        }
    }
}
