//! A run on several hosts (a fleet): the same steps on each host of an inventory group or of
//! `--on a,b,c`, `--parallel N` hosts at a time, as Ansible's `serial`.
//!
//! The run directory holds the fleet's own journal (its start, naming the hosts, then every
//! host's events tagged with the host, then its end) and one run of each host under
//! `hosts/HOST/`: that host's journal, transcript and state snapshots, exactly a one-host
//! run's, so that a resume goes on with each host that did not finish from its own first
//! step not known to have succeeded, and contacts no host that finished. The transcript at
//! the top holds a section per host.
//!
//! The screen: hosts that run at once share no terminal, so each one's progress is a line per
//! event, prefixed with the host (a failing step's output follows in full, and with `-v`
//! every step's); one host at a time (`--parallel 1`) streams its steps' output as a one-host run does. A question before
//! a step is answered once for every host (`--confirm all-hosts`) or on each host
//! (`--confirm per-host`), one question on the screen at a time. At the end, a table of each
//! host's steps done, failed step, exit status and time.

use super::config::{RemoteHost, RunConfig};
use super::engine::Engine;
use super::event::{Decision, Event, Outcome, Reporter};
use super::prompt::{Choice, ManualChoice, Term};
use super::report::{Capture, JournalReporter, Reporters};
use super::resume::{self, Prepared, Resumable};
use super::secrets::Secrets;
use super::shell::Stream;
use super::ssh::Ssh;
use super::state::State;
use super::{
    EXIT_INTERRUPTED, EXIT_STEP_FAILED, STOPPED, complete_values, ended_by_error, inputs_state,
    install_signal_handlers, public_values, run_start, shell_for,
};
use crate::cli::{Confirm, RunArgs};
use crate::document::Document;
use crate::error::{EXIT_OK, EXIT_PROBLEMS, Error, Result};
use crate::journal::{self, Journal, RunDir, Transcript};
use crate::plan::{self, Plan, Planned};
use crate::shell::display;
use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// One host of the run: where it is, its page (rendered with its `host.*`) and its plan.
pub struct HostPlan {
    pub host: RemoteHost,
    pub doc: Document,
    pub plan: Plan,
}

/// The page as each host sees it: rendered with the host's inventory variables, and
/// planned. Errors are reported; Err holds runbook's exit status.
pub fn host_plans(
    (site, engine): (&crate::site::Site, &crate::liquid::Engine),
    page: &Path,
    hosts: Vec<RemoteHost>,
    selection: &plan::Selection,
    values: &HashMap<String, String>,
    mode: crate::liquid::Mode,
) -> Result<std::result::Result<Vec<HostPlan>, i32>> {
    let mut out = Vec::new();
    for host in hosts {
        let (site, engine) = crate::commands::with_host(site.clone(), engine.clone(), Some(&host));
        let doc = match crate::document::load(&engine, &site, page, mode) {
            Ok(d) => d,
            Err(diags) => {
                errln!("the page cannot be rendered for host {}:", host.name);
                crate::commands::report(&diags);
                return Ok(Err(crate::error::EXIT_INPUT));
            }
        };
        let plan = plan::build(&doc, selection, values, false).map_err(Error::Usage)?;
        out.push(HostPlan { host, doc, plan });
    }
    Ok(Ok(out))
}

/// Each host's folder under `hosts/`: its name made safe for a file name, unique.
fn host_dirs(names: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for name in names {
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        let safe = safe.trim_start_matches('.').to_string();
        let mut dir = if safe.is_empty() { "host".into() } else { safe };
        let base = dir.clone();
        let mut n = 2;
        while out.contains(&dir) {
            dir = format!("{base}-{n}");
            n += 1;
        }
        out.push(dir);
    }
    out
}

/// How a host's run stands, for the screen and the closing table.
#[derive(Debug, Clone, Default)]
struct Row {
    started: bool,
    /// Steps that succeeded (or were skipped, or done by hand), of `total`.
    done: usize,
    total: usize,
    failed_step: Option<String>,
    status: Option<i32>,
    result: Option<Outcome>,
    /// Why the host stopped when no step says (ssh's reason for a connection that failed).
    error: Option<String>,
    elapsed: Duration,
    /// Finished in an earlier run: not contacted again.
    finished_before: bool,
}

impl Row {
    /// A host whose run finished in an earlier runbook: it is not contacted again.
    fn finished_before(h: &resume::History) -> Row {
        Row {
            started: true,
            finished_before: true,
            done: h.done.len(),
            total: h.start.steps.len(),
            result: Some(Outcome::Ok),
            ..Row::default()
        }
    }
}

/// What the hosts of a run share.
pub struct Fleet {
    names: Vec<String>,
    width: usize,
    parallel: usize,
    confirm: Confirm,
    color: bool,
    verbosity: i8,
    /// Answers given once for every host, by step id.
    answers: Mutex<HashMap<String, Choice>>,
    manual_answers: Mutex<HashMap<String, ManualChoice>>,
    /// "all remaining" was answered for every host.
    all: AtomicBool,
    /// One question on the screen at a time.
    asking: Mutex<()>,
    /// The operator quit: no new host starts.
    quit: AtomicBool,
    rows: Mutex<Vec<Row>>,
}

impl Fleet {
    fn new(names: Vec<String>, cfg: &RunConfig) -> Fleet {
        let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0);
        let rows = vec![Row::default(); names.len()];
        Fleet {
            names,
            width,
            parallel: cfg.parallel.max(1),
            confirm: cfg.confirm,
            color: cfg.color,
            verbosity: cfg.verbosity,
            answers: Mutex::default(),
            manual_answers: Mutex::default(),
            all: AtomicBool::new(cfg.yes),
            asking: Mutex::default(),
            quit: AtomicBool::new(false),
            rows: Mutex::new(rows),
        }
    }

    fn paint(&self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }

    /// `host   ` padded, so that the hosts' lines align.
    fn tag(&self, i: usize) -> String {
        let name = &self.names[i];
        let pad = self.width - name.chars().count();
        format!("{}{}", self.paint("1", name), " ".repeat(pad))
    }

    fn rows(&self) -> std::sync::MutexGuard<'_, Vec<Row>> {
        self.rows.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn failures(&self) -> usize {
        self.rows()
            .iter()
            .filter(|r| r.result.is_some_and(|o| o != Outcome::Ok))
            .count()
    }
}

/// One host's view of the fleet, as the step loop sees it.
pub struct HostCtl<'a> {
    index: usize,
    fleet: &'a Fleet,
}

impl HostCtl<'_> {
    /// Hosts run one after another: a step may have the terminal.
    pub fn one_at_a_time(&self) -> bool {
        self.fleet.parallel == 1
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, ()> {
        self.fleet.asking.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn who(&self) -> String {
        match self.fleet.confirm {
            Confirm::PerHost => format!("on {}", self.fleet.names[self.index]),
            Confirm::AllHosts => format!(
                "on every host ({}; this command is {}'s)",
                self.fleet.names.len(),
                self.fleet.names[self.index]
            ),
        }
    }

    /// Run the step at `k` of `n` (command shown masked)? Asked once for every host, or on
    /// each host; no editing (each host runs the page's command).
    pub fn choose(
        &self,
        term: &Term,
        k: usize,
        n: usize,
        p: &Planned,
        command: &str,
    ) -> Result<Choice> {
        if self.fleet.all.load(Ordering::SeqCst) {
            return Ok(Choice::Run);
        }
        let choice = self.ask(&p.step.id, &self.fleet.answers, Choice::Quit, || {
            if self.fleet.all.load(Ordering::SeqCst) {
                return Ok(Choice::Run);
            }
            term.show_step(k, n, Duration::ZERO, p, command);
            errln!("{}", term.dim(&self.who()));
            loop {
                match term.choose()? {
                    Choice::Edit => errln!(
                        "on several hosts each runs the page's command: skip the step, or run this host alone (`--on {}`) to edit it",
                        self.fleet.names[self.index]
                    ),
                    c => return Ok(c),
                }
            }
        })?;
        if choice == Choice::All && self.fleet.confirm == Confirm::AllHosts {
            self.fleet.all.store(true, Ordering::SeqCst);
        }
        Ok(choice)
    }

    /// A step done by hand: done, skipped or quit, for every host or on each.
    pub fn choose_manual(
        &self,
        term: &Term,
        k: usize,
        n: usize,
        p: &Planned,
    ) -> Result<ManualChoice> {
        self.ask(
            &p.step.id,
            &self.fleet.manual_answers,
            ManualChoice::Quit,
            || {
                term.show_manual(k, n, Duration::ZERO, p, None);
                errln!("{}", term.dim(&self.who()));
                term.choose_manual(false)
            },
        )
    }

    /// The answer about step `id`: with `--confirm all-hosts` the one given on the host that
    /// asked first (kept in `answers`), else asked now; one question on the screen at a time.
    /// `quit` (the answer that ends the run) also keeps new hosts from starting.
    fn ask<T: Copy + PartialEq>(
        &self,
        id: &str,
        answers: &Mutex<HashMap<String, T>>,
        quit: T,
        question: impl FnOnce() -> Result<T>,
    ) -> Result<T> {
        let _one = self.lock();
        let once = self.fleet.confirm == Confirm::AllHosts;
        let known = || answers.lock().unwrap_or_else(|e| e.into_inner());
        if once && let Some(a) = known().get(id) {
            return Ok(*a);
        }
        let answer = question()?;
        if once {
            known().insert(id.to_string(), answer);
        }
        if answer == quit {
            self.fleet.quit.store(true, Ordering::SeqCst);
        }
        Ok(answer)
    }
}

/// One host's lines on the screen, and its row of the closing table. With one host at a
/// time the steps' output streams as it comes; otherwise a failing step's output is shown
/// whole when it ends, under the host's name.
struct HostScreen<'a> {
    fleet: &'a Fleet,
    index: usize,
    /// The steps' ids in order, for `[k/n]`.
    order: Vec<String>,
    output: Capture,
    started: Instant,
}

impl HostScreen<'_> {
    fn line(&self, text: &str) {
        errln!("{}  {text}", self.fleet.tag(self.index));
    }

    fn at(&self, id: &str) -> String {
        let k = self.order.iter().position(|s| s == id).map_or(0, |k| k + 1);
        format!("[{k}/{}] {id}", self.order.len())
    }

    fn row(&self, f: impl FnOnce(&mut Row)) {
        f(&mut self.fleet.rows()[self.index]);
    }

    fn streams(&self) -> bool {
        self.fleet.parallel == 1
    }
}

impl Reporter for HostScreen<'_> {
    fn event(&mut self, event: &Event) -> Result<()> {
        let loud = self.fleet.verbosity >= 0;
        match event {
            Event::RunStart(s) => {
                self.row(|r| {
                    r.started = true;
                    r.total = s.steps.len();
                });
                if loud {
                    self.line(&format!(
                        "{} step{} to run",
                        s.steps.len(),
                        plural(s.steps.len())
                    ));
                }
            }
            Event::RunResume { from } => {
                self.row(|r| r.started = true);
                if loud {
                    self.line(&format!("resuming from step {from}"));
                }
            }
            Event::StepStart { id, .. } => {
                self.output = Capture::default();
                if loud {
                    self.line(&format!(
                        "{}  {}",
                        self.at(id),
                        self.fleet.paint("2", "running")
                    ));
                }
            }
            Event::StepEnd(e) => {
                let what = if e.status == 0 {
                    self.row(|r| r.done += 1);
                    self.fleet.paint("32", "ok")
                } else {
                    self.row(|r| {
                        r.failed_step = Some(e.id.clone());
                        r.status = Some(e.status);
                    });
                    let why = if e.timed_out {
                        "timed out".to_string()
                    } else if e.interrupted {
                        "interrupted".to_string()
                    } else {
                        format!("failed (exit status {})", e.status)
                    };
                    self.fleet.paint("31;1", &why)
                };
                if loud || e.status != 0 {
                    let mut o = format!(
                        "{}  {}  {what}  {}\n",
                        self.fleet.tag(self.index),
                        self.at(&e.id),
                        self.fleet.paint("2", &format!("{:.1}s", e.elapsed))
                    );
                    let shown = e.status != 0 || self.fleet.verbosity > 0;
                    if shown && !self.streams() && e.output_bytes > 0 {
                        // the failing step's output (with -v every step's), whole, each line
                        // under the host's name
                        let text = self.output.text();
                        for line in text.trim_end_matches('\n').split('\n') {
                            o.push_str(&format!(
                                "{} {} {}\n",
                                self.fleet.tag(self.index),
                                self.fleet.paint("2", "|"),
                                display(line.trim_end_matches('\r'))
                            ));
                        }
                    }
                    err!("{o}");
                }
            }
            Event::Step { id, decision, .. } => {
                if *decision == Decision::Skip {
                    self.row(|r| r.done += 1);
                    if loud {
                        self.line(&format!("{}  skipped", self.at(id)));
                    }
                }
            }
            Event::Manual { id, decision, .. } => {
                if *decision != Decision::Quit {
                    self.row(|r| r.done += 1);
                }
                if loud {
                    let what = match decision {
                        Decision::Done => "by hand: done",
                        Decision::Skip => "by hand: skipped",
                        Decision::NotConfirmed => "by hand: not confirmed (--yes)",
                        _ => "by hand: quit",
                    };
                    self.line(&format!("{}  {what}", self.at(id)));
                }
            }
            Event::RunEnd { result, error } => {
                let elapsed = self.started.elapsed();
                self.row(|r| {
                    r.result = Some(*result);
                    r.error = error.clone();
                    r.elapsed += elapsed;
                });
                match (result, error) {
                    (Outcome::Ok, _) if loud => self.line(&self.fleet.paint("32;1", "finished")),
                    (Outcome::Ok, _) => {}
                    (r, Some(e)) => self.line(&format!(
                        "{}: {}",
                        self.fleet.paint("31;1", r.as_str()),
                        display(e)
                    )),
                    (r, None) => {
                        let at = self.fleet.rows()[self.index]
                            .failed_step
                            .clone()
                            .filter(|_| *r == Outcome::Failed)
                            .map(|s| format!(" at step {s}"))
                            .unwrap_or_default();
                        self.line(&self.fleet.paint("31;1", &format!("{}{at}", r.as_str())))
                    }
                }
            }
        }
        Ok(())
    }

    fn output(&mut self, stream: Stream, data: &[u8]) {
        if self.streams() {
            let _ = match stream {
                Stream::Out => {
                    let mut o = std::io::stdout();
                    o.write_all(data).and_then(|()| o.flush())
                }
                Stream::Err => std::io::stderr().write_all(data),
            };
        } else {
            self.output.push(data);
        }
    }
}

/// What every host's thread needs: the settings, the terminal, the shared journal and the
/// fleet.
struct Ctx<'a> {
    cfg: &'a RunConfig,
    term: &'a Term,
    fleet: &'a Fleet,
    journal: Arc<Mutex<Journal>>,
    hosts_dir: std::path::PathBuf,
    dirs: Vec<String>,
}

/// What a host's thread does: start the host's run, or go on with it.
enum Job<'a> {
    New {
        hp: &'a HostPlan,
        values: &'a HashMap<String, String>,
        public: &'a BTreeMap<String, String>,
        secrets: Secrets,
    },
    Resume(Box<Resumable>),
}

impl Ctx<'_> {
    /// A host's reporters: its own journal (tagged), the fleet's journal (tagged), its
    /// transcript, its lines on the screen.
    #[allow(clippy::too_many_arguments)]
    fn reporters<'b>(
        &'b self,
        i: usize,
        doc: &Document,
        journal: Journal,
        transcript: Transcript,
        items: &[Planned],
    ) -> Reporters<'b> {
        let name = &self.fleet.names[i];
        let mut r = Reporters::default();
        r.add(JournalReporter::new(journal).tagged(name));
        r.add(JournalReporter::shared(self.journal.clone(), Some(name)));
        r.add(super::transcript_reporter(doc, transcript, items));
        r.add(HostScreen {
            fleet: self.fleet,
            index: i,
            order: items.iter().map(|p| p.step.id.clone()).collect(),
            output: Capture::default(),
            started: Instant::now(),
        });
        r
    }

    /// Run host `i`'s job to its end; what went wrong is in its journal and row.
    fn run_host(&self, i: usize, job: Job, ahead: Option<Result<Ssh>>) {
        let result = match job {
            Job::New {
                hp,
                values,
                public,
                secrets,
            } => self.start_host(i, hp, values, public, secrets, ahead),
            Job::Resume(r) => self.resume_host(i, *r, ahead),
        };
        if let Err(e) = result {
            // runbook could not even record the host's start (a full disk, say)
            let mut rows = self.fleet.rows();
            rows[i].result = Some(Outcome::Error);
            rows[i].error = Some(e.to_string());
            drop(rows);
            errln!("{}  error: {e}", self.fleet.tag(i));
        }
    }

    fn start_host(
        &self,
        i: usize,
        hp: &HostPlan,
        values: &HashMap<String, String>,
        public: &BTreeMap<String, String>,
        secrets: Secrets,
        ahead: Option<Result<Ssh>>,
    ) -> Result<()> {
        let cfg = host_config(self.cfg, &hp.host);
        let items: Vec<Planned> = hp.plan.in_order().into_iter().cloned().collect();
        let (run, journal, transcript) = RunDir::create_named(&self.hosts_dir, &self.dirs[i])?;
        super::write_values(&run, public)?;
        let mut reporters = self.reporters(i, &hp.doc, journal, transcript, &items);
        let start = run_start(&cfg, &hp.doc, &run, &items, public.clone());
        reporters.event(&Event::RunStart(Box::new(start)))?;
        let state = inputs_state(&cfg, &hp.plan);
        self.execute(
            i,
            &cfg,
            &run,
            reporters,
            &hp.doc,
            &items,
            0,
            state,
            secrets,
            values.clone(),
            ahead,
        )
    }

    fn resume_host(&self, i: usize, r: Resumable, ahead: Option<Result<Ssh>>) -> Result<()> {
        // the steps before `from` are done: the host's row counts them
        self.fleet.rows()[i].done = r.from;
        let mut reporters = self.reporters(i, &r.doc, r.journal, r.transcript, &r.steps);
        reporters.event(&Event::RunResume {
            from: r.steps[r.from].step.id.clone(),
        })?;
        self.execute(
            i, &r.cfg, &r.run, reporters, &r.doc, &r.steps, r.from, r.state, r.secrets, r.values,
            ahead,
        )
    }

    /// Connect to the host (or take the connection opened ahead) and run its steps from
    /// `from`: a connection that fails ends the host's run with ssh's reason, and the other
    /// hosts go on.
    #[allow(clippy::too_many_arguments)]
    fn execute(
        &self,
        i: usize,
        cfg: &RunConfig,
        run: &RunDir,
        mut reporters: Reporters,
        doc: &Document,
        items: &[Planned],
        from: usize,
        state: State,
        secrets: Secrets,
        values: HashMap<String, String>,
        ahead: Option<Result<Ssh>>,
    ) -> Result<()> {
        let shell = match ahead {
            Some(connected) => connected.map(|ssh| super::remote_shell(cfg, ssh)),
            None => shell_for(cfg),
        };
        let shell = match shell {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(host = %self.fleet.names[i], error = %e, "cannot connect");
                return reporters.event(&Event::RunEnd {
                    result: Outcome::Error,
                    error: Some(e.to_string()),
                });
            }
        };
        let mut engine = Engine {
            cfg,
            term: self.term,
            run,
            reporters,
            shell,
            secrets,
            values,
            page: doc.page.file.display_path(),
            fleet: Some(HostCtl {
                index: i,
                fleet: self.fleet,
            }),
        };
        let result = engine.execute(items, from, state);
        ended_by_error(&mut engine.reporters, result).map(|_| ())
    }

    /// Run the jobs, `--parallel` at a time, in order; no new host starts after a signal,
    /// a quit, or `--max-fail` failures. Without a terminal (where ssh could ask for a
    /// password), once a host is connected the host that takes its turn next connects while
    /// it runs: a handshake is CPU time, which steps that wait leave idle.
    fn run_all(&self, jobs: Vec<(usize, Job)>) {
        let order: Vec<(usize, RunConfig)> = jobs
            .iter()
            .map(|(i, job)| (*i, job.config(self.cfg)))
            .collect();
        let queue = Mutex::new(jobs.into_iter().enumerate());
        let ahead = Ahead::default();
        let stopped_by = Mutex::new(None::<String>);
        let workers = self.fleet.parallel.min(self.fleet.names.len()).max(1);
        let failures_before = self.fleet.failures();
        std::thread::scope(|s| {
            for _ in 0..workers {
                s.spawn(|| {
                    loop {
                        let why = if STOPPED.load(Ordering::SeqCst) {
                            Some("interrupted".to_string())
                        } else if self.fleet.quit.load(Ordering::SeqCst) {
                            Some("the operator quit".to_string())
                        } else {
                            self.cfg
                                .max_fail
                                .filter(|m| self.fleet.failures() - failures_before >= *m)
                                .map(|m| format!("--max-fail {m}: {m} host{} failed", plural(m)))
                        };
                        if let Some(why) = why {
                            let mut s = stopped_by.lock().unwrap_or_else(|e| e.into_inner());
                            s.get_or_insert(why);
                            return;
                        }
                        let next = queue.lock().unwrap_or_else(|e| e.into_inner()).next();
                        let Some((n, (i, job))) = next else { return };
                        let cfg = &order[n].1;
                        let connected = ahead
                            .take(i)
                            .or_else(|| cfg.on.as_ref().map(|host| super::connect(cfg, host)));
                        // the host that takes this worker's turn next connects while this
                        // one runs its steps
                        if !self.cfg.interactive && n + workers < order.len() {
                            ahead.open(&order[n + workers..=n + workers]);
                        }
                        self.run_host(i, job, connected);
                    }
                });
            }
        });
        // connections opened for hosts that did not start: closed
        drop(ahead);
        if let Some(why) = stopped_by.into_inner().unwrap_or_else(|e| e.into_inner()) {
            let left = self.fleet.rows().iter().filter(|r| !r.started).count();
            if left > 0 {
                errln!(
                    "{left} host{} not started: {why}",
                    if left == 1 { " was" } else { "s were" }
                );
            }
        }
    }
}

/// Connections being opened ahead of their hosts' turn, by host; each host's once.
#[derive(Default)]
struct Ahead(Mutex<Opening>);

#[derive(Default)]
struct Opening {
    connecting: HashMap<usize, std::thread::JoinHandle<Result<Ssh>>>,
    /// Every host connected ahead so far (taken or not).
    asked: Vec<usize>,
}

impl Ahead {
    fn lock(&self) -> std::sync::MutexGuard<'_, Opening> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Start connecting to these hosts (those not started on yet).
    fn open(&self, hosts: &[(usize, RunConfig)]) {
        let mut o = self.lock();
        for (i, cfg) in hosts {
            let Some(host) = cfg.on.clone() else { continue };
            if o.asked.contains(i) {
                continue;
            }
            o.asked.push(*i);
            let cfg = cfg.clone();
            o.connecting
                .insert(*i, std::thread::spawn(move || super::connect(&cfg, &host)));
        }
    }

    /// Host `i`'s connection, if it was opened ahead (waiting for it to be up).
    fn take(&self, i: usize) -> Option<Result<Ssh>> {
        let handle = self.lock().connecting.remove(&i)?;
        Some(handle.join().unwrap_or_else(|_| {
            Err(Error::Usage(
                "connecting ahead failed (a thread panicked)".into(),
            ))
        }))
    }
}

impl Drop for Ahead {
    fn drop(&mut self) {
        let connecting = std::mem::take(&mut self.lock().connecting);
        for (_, h) in connecting {
            // the connection closes when it is dropped
            let _ = h.join();
        }
    }
}

/// A run's settings for one of its hosts.
fn host_config(cfg: &RunConfig, host: &RemoteHost) -> RunConfig {
    RunConfig {
        on: Some(host.clone()),
        ..cfg.clone()
    }
}

impl Job<'_> {
    /// The settings its host's steps run with.
    fn config(&self, base: &RunConfig) -> RunConfig {
        match self {
            Job::New { hp, .. } => host_config(base, &hp.host),
            Job::Resume(r) => r.cfg.clone(),
        }
    }
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}

/// A new run of `hosts` (each with its page and plan). Values are asked for once, for every
/// host; each host's steps run on it over OpenSSH.
pub fn run(hosts: Vec<HostPlan>, cfg: &RunConfig) -> Result<i32> {
    let term = Term::new(cfg.color).with_shell(&cfg.shell);
    let mut secrets = Secrets::from_env(&cfg.secret);
    let mut values = cfg.sets.clone();
    for hp in &hosts {
        values = complete_values(cfg, &term, &hp.doc, &hp.plan, values, &mut secrets)?;
    }
    // every host's plan with the values, checked (warnings accepted once for all)
    let mut final_hosts = Vec::new();
    for (n, hp) in hosts.into_iter().enumerate() {
        let plan = if n == 0 {
            match super::final_plan(cfg, &term, &hp.doc, &values)? {
                Some(p) => p,
                None => return Ok(EXIT_PROBLEMS),
            }
        } else {
            let p = plan::build(&hp.doc, &cfg.selection, &values, true).map_err(Error::Usage)?;
            if !p.is_clean() {
                errln!("for host {}:", hp.host.name);
                crate::commands::report(&p.problems);
                return Ok(EXIT_PROBLEMS);
            }
            p
        };
        final_hosts.push(HostPlan { plan, ..hp });
    }
    let hosts = final_hosts;
    let Some(first) = hosts.first() else {
        return Ok(EXIT_OK);
    };
    let items: Vec<Planned> = first.plan.in_order().into_iter().cloned().collect();
    let (run, journal, _transcript) = RunDir::create(&cfg.runs_dir, &first.doc.page.file.path)?;
    journal::log_to(&run.path)?;
    install_signal_handlers();
    let names: Vec<String> = hosts.iter().map(|h| h.host.name.clone()).collect();
    tracing::info!(run = %run.id, hosts = names.len(), "run on several hosts started");
    let public = public_values(cfg, &first.plan, &values, &secrets);
    super::write_values(&run, &public)?;
    let mut start = run_start(cfg, &first.doc, &run, &items, public.clone());
    // the run itself is on no one host: its hosts' runs are
    start.on = None;
    start.hosts = names.clone();
    start.parallel = Some(cfg.parallel);
    start.max_fail = cfg.max_fail;
    let journal = Arc::new(Mutex::new(journal));
    JournalReporter::shared(journal.clone(), None).event(&Event::RunStart(Box::new(start)))?;
    let fleet = Fleet::new(names.clone(), cfg);
    errln!(
        "{}",
        fleet.paint(
            "2",
            &format!(
                "run {} on {} host{}, {} at a time (journal, transcripts and logs in {})",
                run.id,
                names.len(),
                plural(names.len()),
                fleet.parallel.min(names.len()),
                crate::source::display_path(&run.path)
            )
        )
    );
    let ctx = Ctx {
        cfg,
        term: &term,
        fleet: &fleet,
        journal: journal.clone(),
        hosts_dir: run.path.join("hosts"),
        dirs: host_dirs(&names),
    };
    let jobs = hosts
        .iter()
        .enumerate()
        .map(|(i, hp)| {
            (
                i,
                Job::New {
                    hp,
                    values: &values,
                    public: &public,
                    secrets: secrets.clone(),
                },
            )
        })
        .collect();
    ctx.run_all(jobs);
    finish(&ctx, &run, &first.doc, cfg)
}

/// The end of a run on several hosts: the table, the transcript, the journal's last line,
/// runbook's exit status (0 only when every host succeeded).
fn finish(ctx: &Ctx, run: &RunDir, doc: &Document, cfg: &RunConfig) -> Result<i32> {
    let rows = ctx.fleet.rows().clone();
    err!("{}", table(ctx.fleet, &rows));
    let all_ok = rows.iter().all(|r| r.result == Some(Outcome::Ok));
    let interrupted = STOPPED.load(Ordering::SeqCst)
        || rows.iter().any(|r| r.result == Some(Outcome::Interrupted));
    let result = if all_ok {
        Outcome::Ok
    } else if interrupted {
        Outcome::Interrupted
    } else {
        Outcome::Failed
    };
    write_transcript(ctx, run, doc)?;
    JournalReporter::shared(ctx.journal.clone(), None).event(&Event::RunEnd {
        result,
        error: None,
    })?;
    errln!("run directory: {}", crate::source::display_path(&run.path));
    if !all_ok {
        errln!(
            "to go on with the hosts that did not finish: {}",
            cfg.resume_command(&run.id)
        );
    }
    Ok(match result {
        Outcome::Ok => EXIT_OK,
        Outcome::Interrupted => EXIT_INTERRUPTED,
        _ => EXIT_STEP_FAILED,
    })
}

/// host, steps done, failed step, exit status, time; then why hosts stopped that no step
/// says.
fn table(fleet: &Fleet, rows: &[Row]) -> String {
    let mut lines = vec![[
        "HOST".to_string(),
        "STEPS".to_string(),
        "FAILED STEP".to_string(),
        "EXIT".to_string(),
        "TIME".to_string(),
        "RESULT".to_string(),
    ]];
    for (name, r) in fleet.names.iter().zip(rows) {
        let result = match (r.started, r.finished_before, r.result) {
            (_, true, _) => "ok (finished before)".to_string(),
            (false, _, _) => "not started".to_string(),
            (true, _, None) => "running".to_string(),
            (true, _, Some(o)) if r.error.is_some() && o == Outcome::Error => {
                "error (below)".to_string()
            }
            (true, _, Some(o)) => o.as_str().to_string(),
        };
        lines.push([
            name.clone(),
            if r.total > 0 {
                format!("{}/{}", r.done, r.total)
            } else {
                "-".into()
            },
            r.failed_step.clone().unwrap_or_else(|| "-".into()),
            r.status.map_or_else(
                || {
                    if r.result == Some(Outcome::Ok) {
                        "0".into()
                    } else {
                        "-".into()
                    }
                },
                |s| s.to_string(),
            ),
            if r.started && !r.finished_before {
                format!("{:.1}s", r.elapsed.as_secs_f64())
            } else {
                "-".into()
            },
            result,
        ]);
    }
    let widths: Vec<usize> = (0..6)
        .map(|c| {
            lines
                .iter()
                .map(|l| l[c].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut o = String::from("\n");
    for (n, l) in lines.iter().enumerate() {
        let mut line = String::new();
        for (c, cell) in l.iter().enumerate() {
            if c + 1 == l.len() {
                line.push_str(cell);
            } else {
                line.push_str(&format!("{cell:w$}  ", w = widths[c]));
            }
        }
        let line = line.trim_end().to_string();
        o.push_str(&if n == 0 {
            fleet.paint("1", &line)
        } else {
            line
        });
        o.push('\n');
    }
    for (name, r) in fleet.names.iter().zip(rows) {
        if let Some(e) = &r.error {
            o.push_str(&format!("{name}: {}\n", display(e)));
        }
    }
    o
}

/// The run's transcript: its header, then each host's transcript as a section of its own
/// (headings one level down). Rewritten whole, so a resume's steps are in it too.
fn write_transcript(ctx: &Ctx, run: &RunDir, doc: &Document) -> Result<()> {
    let mut o = format!(
        "# Run of {} on {} hosts\n\n- page: `{}`\n- run: `{}`\n- hosts: {}\n",
        display(&super::page_title(doc)),
        ctx.fleet.names.len(),
        doc.page.file.display_path(),
        run.id,
        ctx.fleet
            .names
            .iter()
            .map(|n| format!("`{n}`"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    for (name, dir) in ctx.fleet.names.iter().zip(&ctx.dirs) {
        o.push_str(&format!("\n# Host `{name}`\n\n"));
        match std::fs::read_to_string(ctx.hosts_dir.join(dir).join("transcript.md")) {
            Ok(t) if !t.is_empty() => o.push_str(&demote(&t)),
            _ => o.push_str("Not started.\n"),
        }
    }
    run.write_private("transcript.md", o.as_bytes())
}

/// Markdown headings one level down (`#` becomes `##`), outside fenced blocks.
fn demote(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 64);
    let mut fence: Option<String> = None;
    for line in text.split_inclusive('\n') {
        let t = line.trim_start();
        let ticks: String = t.chars().take_while(|c| *c == '`').collect();
        match &fence {
            Some(f) if ticks.len() >= f.len() && t.trim_end() == ticks => fence = None,
            Some(_) => {}
            None if ticks.len() >= 3 => fence = Some(ticks),
            None if line.starts_with('#') => out.push('#'),
            None => {}
        }
        out.push_str(line);
    }
    out
}

/// `runbook run --resume` of a run on several hosts: each host that did not finish goes on
/// from its own first step not known to have succeeded; a host that finished is not
/// contacted; a host that never started starts now.
pub fn resume(args: &RunArgs, run_dir: &Path, color: bool) -> Result<i32> {
    let (run, journal, _transcript) = RunDir::open(run_dir)?;
    let h = resume::history(run_dir)?;
    let start = h.start;
    if !args.on.is_empty() {
        return Err(Error::Usage(format!(
            "this run ran on {} hosts: it resumes on them (the hosts that did not finish), not on --on",
            start.hosts.len()
        )));
    }
    let mut cfg = super::config::RunConfig::resumed(args, &start, color)?;
    if args.parallel.is_none() {
        cfg.parallel = start.parallel.unwrap_or(1);
    }
    if args.max_fail.is_none() {
        cfg.max_fail = start.max_fail;
    }
    let names = start.hosts.clone();
    let dirs = host_dirs(&names);
    let hosts_dir = run_dir.join("hosts");
    let fleet = Fleet::new(names.clone(), &cfg);
    let mut resumable = Vec::new();
    let mut fresh = Vec::new();
    for (i, dir) in dirs.iter().enumerate() {
        let sub = hosts_dir.join(dir);
        if resume::first_start(&sub).is_none() {
            // never started, or runbook was killed before the host's run-start was recorded
            // (nothing ran there): it starts now, in a folder of its own again
            if sub.exists() {
                std::fs::remove_dir_all(&sub).map_err(|e| Error::io(&sub, e))?;
            }
            fresh.push(i);
            continue;
        }
        let hh = resume::history(&sub)?;
        if hh.result == Some(Outcome::Ok) {
            fleet.rows()[i] = Row::finished_before(&hh);
            continue;
        }
        let mut host_args = args.clone();
        host_args.on.clear();
        errln!("{}", fleet.paint("1", &format!("{}:", names[i])));
        match resume::prepare(&sub, &host_args, color)? {
            Prepared::Go(r) => resumable.push((i, r)),
            Prepared::Exit(EXIT_OK) => fleet.rows()[i] = Row::finished_before(&hh),
            Prepared::Exit(code) => return Ok(code),
        }
    }
    // hosts that never started: their page and plan now, with the run's values
    let mut values: HashMap<String, String> = std::fs::read_to_string(run_dir.join("values.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or_default();
    values.extend(cfg.sets.clone());
    let term = Term::new(cfg.color).with_shell(&cfg.shell);
    let mut secrets = Secrets::from_env(&cfg.secret);
    let new_plans = if fresh.is_empty() {
        Vec::new()
    } else {
        let want: Vec<String> = fresh.iter().map(|i| names[*i].clone()).collect();
        let hosts = super::config::targets(&want, None, cfg.inventory.as_deref())?;
        let mode = if cfg.lax {
            crate::liquid::Mode::Lax
        } else {
            crate::liquid::Mode::Strict
        };
        let page = Path::new(&start.page);
        let (site, engine) = crate::commands::open_site(page, &cfg.site)?;
        match host_plans((&site, &engine), page, hosts, &cfg.selection, &values, mode)? {
            Ok(p) => p,
            Err(code) => return Ok(code),
        }
    };
    for hp in &new_plans {
        values = complete_values(&cfg, &term, &hp.doc, &hp.plan, values, &mut secrets)?;
    }
    let mut fresh_plans = Vec::new();
    for hp in new_plans {
        let plan = plan::build(&hp.doc, &cfg.selection, &values, true).map_err(Error::Usage)?;
        if !plan.is_clean() {
            crate::commands::report(&plan.problems);
            return Ok(EXIT_PROBLEMS);
        }
        fresh_plans.push(HostPlan { plan, ..hp });
    }
    let public: BTreeMap<String, String> = values
        .iter()
        .filter(|(k, _)| !cfg.is_secret(k))
        .map(|(k, v)| (k.clone(), secrets.mask(v)))
        .collect();
    journal::log_to(&run.path)?;
    install_signal_handlers();
    let journal = Arc::new(Mutex::new(journal));
    let waiting = resumable.len() + fresh_plans.len();
    JournalReporter::shared(journal.clone(), None).event(&Event::RunResume {
        from: format!("{waiting} of {} hosts that did not finish", names.len()),
    })?;
    errln!(
        "{}",
        fleet.paint(
            "2",
            &format!(
                "resuming run {} on the {waiting} of its {} hosts that did not finish",
                run.id,
                names.len()
            )
        )
    );
    let ctx = Ctx {
        cfg: &cfg,
        term: &term,
        fleet: &fleet,
        journal: journal.clone(),
        hosts_dir,
        dirs,
    };
    let mut jobs: Vec<(usize, Job)> = resumable
        .into_iter()
        .map(|(i, r)| (i, Job::Resume(r)))
        .collect();
    for (i, hp) in fresh.iter().zip(&fresh_plans) {
        jobs.push((
            *i,
            Job::New {
                hp,
                values: &values,
                public: &public,
                secrets: secrets.clone(),
            },
        ));
    }
    jobs.sort_by_key(|(i, _)| *i);
    ctx.run_all(jobs);
    // the page as it is now, for the transcript's header
    let doc = fresh_plans.first().map(|h| &h.doc);
    match doc {
        Some(d) => finish(&ctx, &run, d, &cfg),
        None => {
            let page = Path::new(&start.page);
            let (site, engine) = crate::commands::open_site(page, &cfg.site)?;
            let d = crate::document::load(&engine, &site, page, crate::liquid::Mode::Lax)
                .map_err(Error::Input)?;
            finish(&ctx, &run, &d, &cfg)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_folders_are_safe_and_unique() {
        let names: Vec<String> = ["web01", "u@h:22", "u_h_22", "../x", ""]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(
            host_dirs(&names),
            ["web01", "u_h_22", "u_h_22-2", "_x", "host"]
        );
    }

    #[test]
    fn headings_move_down_outside_code() {
        let t = "# Run\n\n## s\n\n```bash\n# comment\n```\n\n````\n```\n# x\n````\n# y\n";
        assert_eq!(
            demote(t),
            "## Run\n\n### s\n\n```bash\n# comment\n```\n\n````\n```\n# x\n````\n## y\n"
        );
    }
}
