//! Running a plan: confirm each step, run it in the carried shell session, record everything
//! in the run directory (journal, transcript, snapshots, log), stop on failure; and resume a
//! run that failed, was quit, interrupted or killed.
//!
//! The pieces: [`config::RunConfig`] (the run's settings, validated once), [`engine`] (the
//! step loop), [`event`] (what happens, typed) and [`report`] (journal, transcript and
//! terminal, each a [`event::Reporter`]), [`shell`] (one step in the carried shell state)
//! over a [`transport::Transport`] (where its process runs: this machine, or another host
//! over OpenSSH, [`ssh`]), [`resume`].

pub mod audit;
pub mod config;
pub mod engine;
pub mod event;
pub mod fleet;
pub mod prompt;
pub mod pty;
pub mod report;
pub mod resume;
pub mod secrets;
pub mod shell;
pub mod ssh;
pub mod state;
pub mod transport;

#[cfg(test)]
mod roundtrip_tests;

pub use resume::{History, history, resume};

use crate::document::Document;
use crate::error::{EXIT_PROBLEMS, Error, Result};
use crate::journal::{self, RunDir};
use crate::plan::{self, Plan, Planned};
use config::RunConfig;
use event::{Event, RunStart, StepRef};
use prompt::Term;
use report::{JournalReporter, Reporters, StepText, TerminalReporter, TranscriptReporter};
use secrets::Secrets;
use shell::Shell;
use state::State;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

/// Exit status of `run` when a step failed, or the operator quit.
pub const EXIT_STEP_FAILED: i32 = 1;
/// Exit status of `run` when it was interrupted (Ctrl-C, SIGTERM, SIGHUP).
pub const EXIT_INTERRUPTED: i32 = 130;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// runbook's terminal or ssh session is gone (SIGHUP): nobody can answer a question.
static HANGUP: AtomicBool = AtomicBool::new(false);
/// The running steps' process groups (their pids: one, or one per host of a run on several
/// hosts at once), to pass SIGINT/SIGTERM/SIGHUP on to their whole trees.
static CHILDREN: std::sync::Mutex<Vec<i32>> = std::sync::Mutex::new(Vec::new());
/// A signal came: in a run on several hosts every host stops after its step, and no host
/// starts (a one-host run reads `INTERRUPTED`, which each step takes for itself).
static STOPPED: AtomicBool = AtomicBool::new(false);

fn children() -> std::sync::MutexGuard<'static, Vec<i32>> {
    CHILDREN.lock().unwrap_or_else(|e| e.into_inner())
}

/// A step's process group started: signals reach it from now on.
pub(crate) fn step_started(pid: i32) {
    children().push(pid);
}

/// A step's process group ended.
pub(crate) fn step_ended(pid: i32) {
    children().retain(|p| *p != pid);
}
/// A question is on the screen: Ctrl-C there quits (the run stays resumable).
pub(crate) static PROMPTING: AtomicBool = AtomicBool::new(false);
/// The terminal's mode while a secret is typed with the echo off: put back if runbook quits
/// then.
pub(crate) static ECHO_OFF: std::sync::Mutex<Option<rustix::termios::Termios>> =
    std::sync::Mutex::new(None);

/// What runbook does with SIGINT, SIGTERM and SIGHUP (on signal-hook's thread, not in a
/// handler): a running step's process group gets the signal and the run records it as
/// interrupted; at a question, or a second time between steps, runbook quits at once (every
/// journal line is already written, and the run can be resumed).
fn on_signal(sig: i32) {
    if sig == signal_hook::consts::SIGHUP {
        HANGUP.store(true, Ordering::SeqCst);
    }
    STOPPED.store(true, Ordering::SeqCst);
    let running = children().clone();
    if !running.is_empty() {
        INTERRUPTED.store(true, Ordering::SeqCst);
        for child in running {
            if let (Some(pid), Some(s)) = (
                rustix::process::Pid::from_raw(child),
                rustix::process::Signal::from_named_raw(sig),
            ) {
                let _ = rustix::process::kill_process_group(pid, s);
            }
        }
    } else if sig != signal_hook::consts::SIGHUP
        && (PROMPTING.load(Ordering::SeqCst) || INTERRUPTED.swap(true, Ordering::SeqCst))
    {
        // (after a hangup a question reads the end of input, and the run records its end)
        if let Some(mode) = ECHO_OFF.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = rustix::termios::tcsetattr(
                std::io::stdin(),
                rustix::termios::OptionalActions::Now,
                &mode,
            );
        }
        let _ = writeln!(
            std::io::stderr(),
            "\ninterrupted: `runbook run --resume` goes on from here"
        );
        std::process::exit(EXIT_INTERRUPTED);
    }
}

fn install_signal_handlers() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
        match signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP]) {
            Ok(mut signals) => {
                std::thread::spawn(move || {
                    for sig in signals.forever() {
                        on_signal(sig);
                    }
                });
            }
            Err(e) => tracing::warn!(error = %e, "cannot catch signals"),
        }
    });
}

/// The names (`--set` keys) of the plan's secret placeholders: named as secrets, or assigned
/// to a secret-named variable (`export DB_PASSWORD=<db pass>`), manual steps' included.
fn secret_placeholders(cfg: &RunConfig, plan: &Plan) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for p in plan
        .steps
        .iter()
        .chain(&plan.manual)
        .flat_map(|p| &p.step.placeholders)
    {
        if cfg.is_secret(&p.name) || p.assigned_to.as_deref().is_some_and(|a| cfg.is_secret(a)) {
            out.insert(p.name.clone());
            out.extend(p.assigned_to.clone());
        }
    }
    out
}

/// Values for every placeholder of the plan's steps: `values` first, then asked for in a
/// terminal (once per name). Manual steps' inline commands are asked for only when run.
/// Secret ones are added to `secrets`; a secret too short to be masked is refused.
fn complete_values(
    cfg: &RunConfig,
    term: &Term,
    doc: &Document,
    plan: &Plan,
    mut values: HashMap<String, String>,
    secrets: &mut Secrets,
) -> Result<HashMap<String, String>> {
    let secret_names = secret_placeholders(cfg, plan);
    for p in &plan.steps {
        for m in &p.missing {
            if values.contains_key(&m.name) || values.contains_key(&m.set_name) {
                continue;
            }
            if !cfg.interactive {
                crate::commands::report(&plan.problems);
                return Err(Error::Usage(format!(
                    "placeholder <{}> has no value and there is no terminal to ask: pass --set '{}=VALUE'",
                    m.name, m.set_name
                )));
            }
            let secret = secret_names.contains(&m.name);
            // the line as it will run (Liquid resolved), else as written in the page
            let needle = format!("<{}>", m.name);
            let context = p
                .step
                .code
                .lines()
                .find(|l| l.contains(&needle))
                .unwrap_or_else(|| doc.page.file.line_text(m.line))
                .trim()
                .to_string();
            let v = term.ask_value(&m.name, &p.step.id, &context, m.hint.as_deref(), secret)?;
            values.insert(m.name.clone(), v);
        }
    }
    for (k, v) in &values {
        if (cfg.is_secret(k) || secret_names.contains(k)) && !secrets.add(v) {
            return Err(Error::Usage(format!(
                "the value given for the secret `{k}` has {} characters: at least {} are needed to mask it in the output without hiding ordinary text",
                v.chars().count(),
                secrets::MIN_LEN
            )));
        }
    }
    Ok(values)
}

/// The plan with every value, checked: errors stop here, warnings may be accepted.
fn final_plan(
    cfg: &RunConfig,
    term: &Term,
    doc: &Document,
    values: &HashMap<String, String>,
) -> Result<Option<Plan>> {
    let plan = plan::build(doc, &cfg.selection, values, true).map_err(Error::Usage)?;
    if !plan.is_clean() {
        crate::commands::report(&plan.problems);
        return Ok(None);
    }
    if !plan.problems.is_empty() {
        crate::commands::report(&plan.problems);
        if cfg.interactive && !cfg.yes && !term.confirm("Run anyway?")? {
            return Ok(None);
        }
    }
    Ok(Some(plan))
}

fn page_title(doc: &Document) -> String {
    doc.page
        .front_str(&["title"])
        .unwrap_or_else(|| doc.page.file.display_path())
}

/// The values as the run's record keeps them: secret ones left out, secrets masked.
fn public_values(
    cfg: &RunConfig,
    plan: &Plan,
    values: &HashMap<String, String>,
    secrets: &Secrets,
) -> BTreeMap<String, String> {
    let secret_names = secret_placeholders(cfg, plan);
    values
        .iter()
        .filter(|(k, _)| !cfg.is_secret(k) && !secret_names.contains(*k))
        .map(|(k, v)| (k.clone(), secrets.mask(v)))
        .collect()
}

/// The run's `values.json`: the values a resume starts from (secret ones never written).
fn write_values(run: &RunDir, public: &BTreeMap<String, String>) -> Result<()> {
    run.write_private(
        "values.json",
        serde_json::to_string_pretty(public)
            .unwrap_or_default()
            .as_bytes(),
    )
}

/// The state the first step starts from: the values given for the selection's inputs
/// (variables that only unselected steps set), exported.
fn inputs_state(cfg: &RunConfig, plan: &Plan) -> State {
    let mut state = State::default();
    for (name, value) in &plan.inputs {
        state.put_var(name, value.as_bytes(), cfg.is_secret(name), cfg.bash());
    }
    state
}

/// The run's reporters: journal, transcript, terminal.
fn reporters<'a>(
    cfg: &RunConfig,
    doc: &Document,
    run: &RunDir,
    journal: journal::Journal,
    transcript: journal::Transcript,
    items: &[Planned],
    from: usize,
) -> Reporters<'a> {
    let mut r = Reporters::default();
    r.add(JournalReporter::new(journal));
    r.add(transcript_reporter(doc, transcript, items));
    // the hosts the page asks to run these steps on: said once when the run stays here
    let planned: Vec<&Planned> = items.iter().collect();
    let page = doc.page.file.display_path();
    let notices = if cfg.on.is_some() {
        // --on has chosen where the steps run
        Vec::new()
    } else {
        crate::plan::host_asks(doc, &planned, &cfg.selection)
            .iter()
            .flat_map(|h| h.notice(&page, None))
            .collect()
    };
    r.add(
        TerminalReporter::new(
            cfg.color,
            cfg.verbosity,
            items[from..].iter().map(|p| p.step.id.clone()).collect(),
            &crate::source::display_path(&run.path),
            &run.id,
            cfg.resume_command(&run.id),
        )
        .with_notices(notices),
    );
    r
}

/// The transcript of a run of `items`: each step with its section and prose.
fn transcript_reporter(
    doc: &Document,
    transcript: journal::Transcript,
    items: &[Planned],
) -> TranscriptReporter {
    let texts = items
        .iter()
        .map(|p| {
            (
                p.step.id.clone(),
                StepText {
                    section: p.section_title.clone(),
                    prose: p.step.prose.clone(),
                },
            )
        })
        .collect();
    TranscriptReporter::new(
        transcript,
        &page_title(doc),
        &doc.page.file.display_path(),
        texts,
    )
}

/// A new run of a plan.
pub fn run_plan(doc: &Document, plan: &Plan, cfg: &RunConfig) -> Result<i32> {
    let term = Term::new(cfg.color).with_shell(&cfg.shell);
    let mut secrets = Secrets::from_env(&cfg.secret);
    let values = complete_values(cfg, &term, doc, plan, cfg.sets.clone(), &mut secrets)?;
    let Some(plan) = final_plan(cfg, &term, doc, &values)? else {
        return Ok(EXIT_PROBLEMS);
    };
    let items: Vec<Planned> = plan.in_order().into_iter().cloned().collect();
    let (run, journal, transcript) = RunDir::create(&cfg.runs_dir, &doc.page.file.path)?;
    journal::log_to(&run.path)?;
    install_signal_handlers();
    tracing::info!(run = %run.id, page = %doc.page.file.display_path(), steps = items.len(), "run started");
    let public = public_values(cfg, &plan, &values, &secrets);
    write_values(&run, &public)?;
    let reporters = reporters(cfg, doc, &run, journal, transcript, &items, 0);
    let start = run_start(cfg, doc, &run, &items, public);
    let state = inputs_state(cfg, &plan);
    let shell = shell_for(cfg)?;
    let engine = engine::Engine {
        cfg,
        term: &term,
        run: &run,
        reporters,
        shell,
        secrets,
        values,
        page: doc.page.file.display_path(),
        fleet: None,
    };
    go(engine, Event::RunStart(Box::new(start)), &items, 0, state)
}

/// How a run of `items` starts, as its journal records it.
fn run_start(
    cfg: &RunConfig,
    doc: &Document,
    run: &RunDir,
    items: &[Planned],
    values: BTreeMap<String, String>,
) -> RunStart {
    RunStart {
        run: run.id.clone(),
        page: std::path::absolute(&doc.page.file.path)
            .unwrap_or(doc.page.file.path.clone())
            .to_string_lossy()
            .into_owned(),
        page_hash: hash(&doc.page.file.text),
        shell: cfg.shell.clone(),
        lax: cfg.lax,
        keep_going: cfg.keep_going,
        timeout: cfg.timeout.map(|t| t.as_secs_f64()),
        selection: event::Selection {
            sections: cfg.selection.sections.clone(),
            steps: cfg.selection.steps.clone(),
            from: cfg.selection.from.clone(),
            to: cfg.selection.to.clone(),
        },
        steps: items
            .iter()
            .map(|p| StepRef {
                id: p.step.id.clone(),
                hash: hash(&p.step.code),
            })
            .collect(),
        user: Some(audit::user()),
        host: Some(audit::host()),
        on: cfg.on.as_ref().map(|h| h.name.clone()),
        inventory: cfg
            .inventory
            .as_ref()
            .map(|f| f.to_string_lossy().into_owned()),
        ssh_config: cfg
            .ssh_config
            .as_ref()
            .map(|f| f.to_string_lossy().into_owned()),
        version: Some(env!("CARGO_PKG_VERSION").to_string()),
        revision: audit::revision(&doc.page.file.path),
        values,
        ..RunStart::default()
    }
}

/// The shell of a run: on this machine, or on the `--on` host over OpenSSH (connected
/// here, once for the whole run).
pub fn shell_for(cfg: &RunConfig) -> Result<Shell> {
    match &cfg.on {
        Some(host) => Ok(remote_shell(cfg, connect(cfg, host)?)),
        None => Ok(Shell::new(&cfg.shell, &cfg.secret)),
    }
}

/// The master connection to `host`, as the run's settings say to reach it.
pub fn connect(cfg: &RunConfig, host: &config::RemoteHost) -> Result<ssh::Ssh> {
    tracing::info!(host = %host.name, "connecting");
    let args = host.ssh_command(cfg.ssh_config.as_deref());
    ssh::Ssh::connect(&host.name, args, cfg.interactive).map_err(|e| Error::Usage(e.to_string()))
}

/// The shell of a run whose steps go over `ssh`.
pub fn remote_shell(cfg: &RunConfig, ssh: ssh::Ssh) -> Shell {
    let mut shell = Shell::new(&cfg.shell, &cfg.secret);
    shell.transport = Box::new(ssh);
    // the remote host's environment is its own: every variable the steps leave is carried,
    // none is taken as inherited from runbook's
    shell.inherited = state::Inherited::default();
    shell
}

/// Record how the run starts (or resumes), then run `items[from..]` from `state`; an error
/// of runbook's own is recorded as the run's end.
fn go(
    mut engine: engine::Engine,
    first: Event,
    items: &[Planned],
    from: usize,
    state: State,
) -> Result<i32> {
    let result = engine
        .reporters
        .event(&first)
        .and_then(|()| engine.execute(items, from, state));
    ended_by_error(&mut engine.reporters, result)
}

/// A run that stopped on an error of runbook's own (a full disk, say) still says so in its
/// journal, if the journal can take one more line; it stays resumable.
fn ended_by_error(reporters: &mut Reporters, result: Result<i32>) -> Result<i32> {
    if let Err(e) = &result {
        tracing::error!(error = %e, "run stopped by an error");
        let _ = reporters.event(&Event::RunEnd {
            result: event::Outcome::Error,
            error: Some(e.to_string()),
        });
    }
    result
}

/// A short stable fingerprint (FNV-1a) to notice that a page or a command changed.
pub fn hash(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    format!("{h:016x}")
}
