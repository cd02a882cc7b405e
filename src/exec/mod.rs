//! Running a plan: confirm each step, run it in the carried shell session, record everything
//! in the run directory (journal, transcript, snapshots, log), stop on failure; and resume a
//! run that failed, was quit, interrupted or killed.

pub mod audit;
pub mod event;
pub mod prompt;
pub mod pty;
pub mod secrets;
pub mod shell;
pub mod state;
pub mod transport;

#[cfg(test)]
mod roundtrip_tests;

use crate::cli::RunArgs;
use crate::document::Document;
use crate::error::{EXIT_OK, EXIT_PROBLEMS, Error, Result};
use crate::journal::{self, RunDir};
use crate::plan::{self, Plan, Planned, Selection};
use crate::shell::display;
use prompt::{Choice, Term};
use secrets::Secrets;
use serde_json::{Value as Json, json};
use shell::Shell;
use state::{Delta, State};
use std::collections::{BTreeSet, HashMap};
use std::io::{IsTerminal, Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Instant;

/// Exit status of `run` when a step failed, or the operator quit.
pub const EXIT_STEP_FAILED: i32 = 1;
/// Exit status of `run` when it was interrupted (Ctrl-C, SIGTERM).
pub const EXIT_INTERRUPTED: i32 = 130;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// runbook's terminal or ssh session is gone (SIGHUP): nobody can answer a question.
static HANGUP: AtomicBool = AtomicBool::new(false);
/// The running step's process group (its pid), to pass SIGINT/SIGTERM/SIGHUP on to its
/// whole tree.
static CHILD: AtomicI32 = AtomicI32::new(0);
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
    let child = CHILD.load(Ordering::SeqCst);
    if child > 0 {
        INTERRUPTED.store(true, Ordering::SeqCst);
        if let (Some(pid), Some(s)) = (
            rustix::process::Pid::from_raw(child),
            rustix::process::Signal::from_named_raw(sig),
        ) {
            let _ = rustix::process::kill_process_group(pid, s);
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

/// What a run needs to know about how it was asked for.
struct Ctx<'a> {
    args: &'a RunArgs,
    interactive: bool,
    term: Term,
    /// The page, as shown to the operator (in messages about its lines).
    page: String,
}

impl<'a> Ctx<'a> {
    fn new(args: &'a RunArgs, page: &Path, color: bool) -> Result<Ctx<'a>> {
        let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
        if !interactive && !args.yes {
            return Err(Error::Usage(
                "runbook run asks before each step and there is no terminal to ask: pass --yes to run every step, or --dry-run to see them".into(),
            ));
        }
        Ok(Ctx {
            args,
            interactive,
            term: Term::new(color).with_shell(shell_of(args)),
            page: crate::source::display_path(page),
        })
    }

    fn secret(&self, name: &str) -> bool {
        secrets::is_secret_name(name, &self.args.secret)
    }
}

/// The names (`--set` keys) of the plan's secret placeholders: named as secrets, or assigned
/// to a secret-named variable (`export DB_PASSWORD=<db pass>`).
fn secret_placeholders(cx: &Ctx, plan: &Plan) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for p in plan.steps.iter().flat_map(|p| &p.step.placeholders) {
        if cx.secret(&p.name) || p.assigned_to.as_deref().is_some_and(|a| cx.secret(a)) {
            out.insert(p.name.clone());
            out.extend(p.assigned_to.clone());
        }
    }
    out
}

/// Values for every placeholder of the plan: `values` first, then asked for in a terminal
/// (once per name). Secret ones are added to `secrets`; a secret too short to be masked is
/// refused.
fn complete_values(
    cx: &Ctx,
    doc: &Document,
    plan: &Plan,
    mut values: HashMap<String, String>,
    secrets: &mut Secrets,
) -> Result<HashMap<String, String>> {
    let secret_names = secret_placeholders(cx, plan);
    for p in &plan.steps {
        for m in &p.missing {
            if values.contains_key(&m.name) || values.contains_key(&m.set_name) {
                continue;
            }
            if !cx.interactive {
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
            let v = cx
                .term
                .ask_value(&m.name, &p.step.id, &context, m.hint.as_deref(), secret)?;
            values.insert(m.name.clone(), v);
        }
    }
    for (k, v) in &values {
        if (cx.secret(k) || secret_names.contains(k)) && !secrets.add(v) {
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
    cx: &Ctx,
    doc: &Document,
    selection: &Selection,
    values: &HashMap<String, String>,
) -> Result<Option<Vec<Planned>>> {
    let plan = plan::build(doc, selection, values, true).map_err(Error::Usage)?;
    if !plan.is_clean() {
        crate::commands::report(&plan.problems);
        return Ok(None);
    }
    if !plan.problems.is_empty() {
        crate::commands::report(&plan.problems);
        if cx.interactive && !cx.args.yes && !cx.term.confirm("Run anyway?")? {
            return Ok(None);
        }
    }
    Ok(Some(plan.steps))
}

fn page_title(doc: &Document) -> String {
    doc.page
        .front_str(&["title"])
        .unwrap_or_else(|| doc.page.file.display_path())
}

/// A new run of a plan.
pub fn run_plan(
    doc: &Document,
    plan: &Plan,
    selection: &Selection,
    args: &RunArgs,
    color: bool,
) -> Result<i32> {
    let cx = Ctx::new(args, &doc.page.file.path, color)?;
    let mut secrets = Secrets::from_env(&args.secret);
    let values = plan::parse_sets(&args.set).map_err(Error::Usage)?;
    let values = complete_values(&cx, doc, plan, values, &mut secrets)?;
    let Some(steps) = final_plan(&cx, doc, selection, &values)? else {
        return Ok(EXIT_PROBLEMS);
    };
    let runs_dir = args
        .runs_dir
        .clone()
        .unwrap_or_else(journal::default_runs_dir);
    let mut run = RunDir::create(&runs_dir, &doc.page.file.path)?;
    journal::log_to(&run.path)?;
    install_signal_handlers();
    tracing::info!(run = %run.id, page = %doc.page.file.display_path(), steps = steps.len(), "run started");
    let secret_names = secret_placeholders(&cx, plan);
    let public_values: serde_json::Map<String, Json> = values
        .iter()
        .filter(|(k, _)| !cx.secret(k) && !secret_names.contains(*k))
        .map(|(k, v)| (k.clone(), json!(secrets.mask(v))))
        .collect();
    run.write_private(
        "values.json",
        serde_json::to_string_pretty(&public_values)
            .unwrap_or_default()
            .as_bytes(),
    )?;
    run.record(json!({
        "event": "run-start",
        "run": run.id,
        "page": std::path::absolute(&doc.page.file.path).unwrap_or(doc.page.file.path.clone()),
        "page_hash": hash(&doc.page.file.text),
        "shell": shell_of(args),
        "lax": args.lax,
        "keep_going": args.keep_going,
        "timeout": args.timeout.map(|t| t.as_secs_f64()),
        "selection": {
            "sections": selection.sections,
            "steps": selection.steps,
            "from": selection.from,
            "to": selection.to,
        },
        "steps": steps.iter().map(|p| json!({"id": p.step.id, "hash": hash(&p.step.code)})).collect::<Vec<_>>(),
    }))?;
    run.transcript(&format!(
        "# Run of {}\n\n- page: `{}`\n- run: `{}`\n- started: {}\n",
        page_title(doc),
        doc.page.file.display_path(),
        run.id,
        journal::now_rfc3339()
    ))?;
    errln!(
        "{}",
        cx.term.dim(&format!(
            "run {} (journal, transcript and logs in {})",
            run.id,
            crate::source::display_path(&run.path)
        ))
    );
    let result = execute(&cx, &mut run, &steps, 0, State::default(), secrets);
    ended_by_error(&mut run, result)
}

/// A run that stopped on an error of runbook's own (a full disk, say) still says so in its
/// journal, if the journal can take one more line; it stays resumable.
fn ended_by_error(run: &mut RunDir, result: Result<i32>) -> Result<i32> {
    if let Err(e) = &result {
        tracing::error!(error = %e, "run stopped by an error");
        let _ = run
            .record_durable(json!({"event": "run-end", "result": "error", "error": e.to_string()}));
    }
    result
}

/// The run directory `run_ref` names: a path, an id under the runs directory, or `last`:
/// the run that started last (by the start time its journal records), of `page` when one is
/// named.
fn locate_run(runs_dir: &Path, run_ref: &str, page: Option<&Path>) -> Result<PathBuf> {
    let direct = PathBuf::from(run_ref);
    if run_ref != "last" {
        for candidate in [direct.clone(), runs_dir.join(run_ref)] {
            if candidate.join("journal.jsonl").is_file() {
                return Ok(candidate);
            }
        }
        return Err(Error::Usage(format!(
            "no run `{run_ref}` in {} (give a run directory or its id)",
            crate::source::display_path(runs_dir)
        )));
    }
    let want = page.map(|p| std::fs::canonicalize(p).unwrap_or_else(|_| p.to_path_buf()));
    let mut runs: Vec<(String, PathBuf)> = std::fs::read_dir(runs_dir)
        .map_err(|e| Error::io(runs_dir, e))?
        .flatten()
        .map(|e| e.path())
        .filter(|dir| dir.join("journal.jsonl").is_file())
        .filter_map(|dir| {
            let digits = |s: &str| s.chars().filter(char::is_ascii_digit).collect::<String>();
            let Some((time, page)) = run_start(&dir) else {
                // killed before its start was recorded: its name holds the second it began
                // (no page to match)
                let name = dir.file_name()?.to_string_lossy().into_owned();
                let stamp = digits(name.get(..15)?);
                return want.is_none().then(|| (format!("{stamp}999"), dir));
            };
            if let Some(want) = &want {
                let page = PathBuf::from(&page);
                let page = std::fs::canonicalize(&page).unwrap_or(page);
                if &page != want {
                    return None;
                }
            }
            // `2026-11-30T13:53:58.189Z` as `20261130135358189`: sorts as text
            Some((digits(&time), dir))
        })
        .collect();
    // by start time; the directory name (date, time, page, pid) breaks ties
    runs.sort();
    runs.pop().map(|(_, dir)| dir).ok_or_else(|| {
        Error::Usage(match page {
            Some(p) => format!(
                "no run of {} to resume in {}",
                crate::source::display_path(p),
                crate::source::display_path(runs_dir)
            ),
            None => format!(
                "no run to resume in {}",
                crate::source::display_path(runs_dir)
            ),
        })
    })
}

/// When a run started and its page, from its journal's first event.
fn run_start(dir: &Path) -> Option<(String, String)> {
    use std::io::BufRead;
    let f = std::fs::File::open(dir.join("journal.jsonl")).ok()?;
    let mut first = Vec::new();
    std::io::BufReader::new(f)
        .take(1 << 20)
        .read_until(b'\n', &mut first)
        .ok()?;
    let (records, _) = event::parse(&first);
    match records.into_iter().next()? {
        event::Record {
            event: event::Event::RunStart(start),
            time,
        } => Some((time, start.page)),
        _ => None,
    }
}

/// What the journal says about a run so far.
pub struct History {
    pub start: Json,
    /// Steps that succeeded or were skipped.
    pub done: BTreeSet<String>,
    /// Secret variables each step's state held (names only), and which step set them first.
    pub secrets_after: HashMap<String, Vec<String>>,
    pub secret_setter: HashMap<String, String>,
    pub cut: bool,
    /// A step that started and has no end: runbook stopped while it ran (id, process marker).
    pub in_doubt: Option<(String, String)>,
    /// The journal records the end of the run.
    pub ended: bool,
}

pub fn history(run_dir: &Path) -> Result<History> {
    let (events, cut) = journal::read_journal(&run_dir.join("journal.jsonl"))?;
    let start = events
        .iter()
        .find(|e| e["event"] == "run-start")
        .cloned()
        .ok_or_else(|| {
            Error::Usage(format!(
                "{}: runbook was stopped before the run started (its journal has no run-start): nothing ran, start the run again",
                crate::source::display_path(run_dir)
            ))
        })?;
    let mut done = BTreeSet::new();
    let mut secrets_after = HashMap::new();
    let mut secret_setter = HashMap::new();
    let mut in_doubt = None;
    for e in &events {
        let id = e["id"].as_str().unwrap_or("").to_string();
        match (e["event"].as_str(), e["decision"].as_str()) {
            (Some("step-start"), _) => {
                in_doubt = Some((id.clone(), e["token"].as_str().unwrap_or("").to_string()));
            }
            (Some("step-end"), _) => {
                in_doubt = None;
                let names: Vec<String> = e["secret_names"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|n| n.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default();
                for n in &names {
                    secret_setter.entry(n.clone()).or_insert(id.clone());
                }
                secrets_after.insert(id.clone(), names);
                if e["status"] == 0 {
                    done.insert(id);
                } else {
                    done.remove(&id);
                }
            }
            (Some("step"), Some("skip")) => {
                done.insert(id);
            }
            _ => {}
        }
    }
    Ok(History {
        start,
        done,
        secrets_after,
        secret_setter,
        cut,
        in_doubt,
        ended: events.last().is_some_and(|e| e["event"] == "run-end"),
    })
}

/// `runbook run --resume [RUN]`: continue a run from its first step that did not succeed.
pub fn resume(args: &RunArgs, run_ref: &str, color: bool) -> Result<i32> {
    let runs_dir = args
        .runs_dir
        .clone()
        .unwrap_or_else(journal::default_runs_dir);
    let run_dir = locate_run(&runs_dir, run_ref, args.page.as_deref())?;
    // the run is ours from here (refused while another runbook still has it: a live step is
    // never stopped by a resume)
    let mut run = RunDir::open(&run_dir)?;
    let h = history(&run_dir)?;
    if h.cut {
        errln!(
            "the journal's last line was cut off (runbook was killed while writing it): read up to it"
        );
    }
    if let Some((id, token)) = &h.in_doubt {
        // runbook was killed while this step ran: what the step left running is stopped
        // before anything runs again, and the step itself runs again
        let stopped = if token.is_empty() {
            0
        } else {
            transport::stop_marked(token, shell::KILL_GRACE)
        };
        errln!(
            "step {id} was running when runbook stopped: its outcome is unknown, so it runs again{}",
            if stopped > 0 {
                format!(" ({stopped} of its processes were still running: stopped them)")
            } else {
                String::new()
            }
        );
    }
    let page_path = PathBuf::from(h.start["page"].as_str().unwrap_or(""));
    let mut args = args.clone();
    args.lax = args.lax || h.start["lax"] == true;
    args.keep_going = args.keep_going || h.start["keep_going"] == true;
    if args.timeout.is_none() {
        args.timeout = h.start["timeout"]
            .as_f64()
            .filter(|t| *t > 0.0)
            .map(std::time::Duration::from_secs_f64);
    }
    if let Some(sh) = h.start["shell"].as_str() {
        args.shell = Some(sh.to_string());
    }
    let cx = Ctx::new(&args, &page_path, color)?;
    let (site, engine) = crate::commands::open_site(&page_path, &args.site)?;
    let mode = if args.lax {
        crate::liquid::Mode::Lax
    } else {
        crate::liquid::Mode::Strict
    };
    let doc = match crate::document::load(&engine, &site, &page_path, mode) {
        Ok(d) => d,
        Err(diags) => {
            crate::commands::report(&diags);
            return Ok(crate::error::EXIT_INPUT);
        }
    };
    let strs = |v: &Json| -> Vec<String> {
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|x| x.as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    let sel = &h.start["selection"];
    let selection = Selection {
        sections: strs(&sel["sections"]),
        steps: strs(&sel["steps"]),
        from: sel["from"].as_str().map(String::from),
        to: sel["to"].as_str().map(String::from),
    };
    // the values the run had (secret ones were never written: asked again), then --set
    let mut values: HashMap<String, String> = std::fs::read_to_string(run_dir.join("values.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<HashMap<String, String>>(&t).ok())
        .unwrap_or_default();
    // a placeholder the page no longer has is no error of the operator's
    let known = plan::placeholder_names(&doc, &selection);
    values.retain(|k, _| known.contains(k));
    values.extend(plan::parse_sets(&args.set).map_err(Error::Usage)?);
    let mut secrets = Secrets::from_env(&args.secret);
    let plan = plan::build(&doc, &selection, &values, true).map_err(Error::Usage)?;
    let values = complete_values(&cx, &doc, &plan, values, &mut secrets)?;
    let Some(steps) = final_plan(&cx, &doc, &selection, &values)? else {
        return Ok(EXIT_PROBLEMS);
    };
    // has the page changed since?
    if h.start["page_hash"].as_str() != Some(hash(&doc.page.file.text).as_str()) {
        let before: HashMap<String, String> = h.start["steps"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|s| {
                        (
                            s["id"].as_str().unwrap_or("").to_string(),
                            s["hash"].as_str().unwrap_or("").to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let mut changed = Vec::new();
        for p in &steps {
            match before.get(&p.step.id) {
                None => changed.push(format!("{} (new)", p.step.id)),
                Some(hh) if *hh != hash(&p.step.code) => {
                    changed.push(format!("{} (changed)", p.step.id))
                }
                _ => {}
            }
        }
        for id in before.keys() {
            if !steps.iter().any(|p| &p.step.id == id) {
                changed.push(format!("{id} (gone)"));
            }
        }
        errln!(
            "the page changed since this run started{}",
            if changed.is_empty() {
                String::from(" (its steps did not)")
            } else {
                format!(": {}", changed.join(", "))
            }
        );
        if !changed.is_empty()
            && cx.interactive
            && !args.yes
            && !cx.term.confirm("Resume with the page as it is now?")?
        {
            return Ok(EXIT_STEP_FAILED);
        }
    }
    let Some(first) = steps.iter().position(|p| !h.done.contains(&p.step.id)) else {
        if !h.ended {
            // killed after its last step: the journal gets the end it did not get
            run.record_durable(json!({"event": "run-end", "result": "ok"}))?;
        }
        errln!("every step of this run already succeeded: nothing to resume");
        return Ok(EXIT_OK);
    };
    // the shell state after the last step that ran before `first`
    let state_before = |pos: usize| state_after(&run_dir, pos);
    let mut state = state_before(first);
    let mut from = first;
    let last_done = steps[..first]
        .iter()
        .rev()
        .find(|p| h.secrets_after.contains_key(&p.step.id));
    let missing: Vec<&String> = last_done
        .and_then(|p| h.secrets_after.get(&p.step.id))
        .map(|v| v.iter().collect())
        .unwrap_or_default();
    if !missing.is_empty() {
        let setters: BTreeSet<&String> = missing
            .iter()
            .filter_map(|n| h.secret_setter.get(*n))
            .collect();
        let earliest = steps
            .iter()
            .position(|s| setters.contains(&s.step.id))
            .unwrap_or(first);
        // functions are named `NAME()`: all of them go when their definitions hold a secret
        let (functions, names): (Vec<&str>, Vec<&str>) = missing
            .iter()
            .map(|s| s.as_str())
            .partition(|n| n.ends_with("()"));
        let functions: Vec<&str> = functions.iter().map(|f| &f[..f.len() - 2]).collect();
        let what = match (names.is_empty(), functions.is_empty()) {
            (false, true) => format!("secret variables {}", names.join(", ")),
            (true, false) => format!(
                "functions {} (their definitions hold a secret)",
                functions.join(", ")
            ),
            _ => format!(
                "secret variables {} and functions {} (their definitions hold a secret)",
                names.join(", "),
                functions.join(", ")
            ),
        };
        errln!(
            "{what} were kept in memory only and are gone; step {} set them",
            steps[earliest].step.id
        );
        let answer = if cx.interactive && !args.yes {
            cx.term.ask_missing_secrets(&steps[earliest].step.id)?
        } else {
            'r'
        };
        match answer {
            'r' => {
                from = earliest;
                state = state_before(earliest);
            }
            'v' => {
                // the operator gives them again: exported, as `eval $(...)` leaves them
                for name in names.iter().filter(|n| state::is_identifier(n.as_bytes())) {
                    let v = cx.term.ask_value(
                        name,
                        &steps[first].step.id,
                        &format!("{name}=..."),
                        None,
                        true,
                    )?;
                    secrets.add(&v);
                    state.put_secret(name, v.as_bytes(), shell::is_bash(shell_of(&args)));
                }
            }
            _ => {}
        }
    }
    journal::log_to(&run.path)?;
    install_signal_handlers();
    forget_states_from(&run_dir, from);
    run.record(json!({"event": "run-resume", "from": steps[from].step.id}))?;
    run.transcript(&format!(
        "\n---\nresumed at {} from step {}\n",
        journal::now_rfc3339(),
        steps[from].step.id
    ))?;
    tracing::info!(run = %run.id, from = %steps[from].step.id, "run resumed");
    errln!(
        "{}",
        cx.term.dim(&format!(
            "resuming run {} from step {}",
            run.id, steps[from].step.id
        ))
    );
    let result = execute(&cx, &mut run, &steps, from, state, secrets);
    ended_by_error(&mut run, result)
}

/// The snapshot files of a run: (number, path), in order. A file is numbered by the plan
/// position of the step that wrote it (1-based) and holds what that step changed.
fn state_files(run_dir: &Path) -> Vec<(usize, PathBuf)> {
    let mut files: Vec<(usize, PathBuf)> = std::fs::read_dir(run_dir.join("state"))
        .map(|d| {
            d.flatten()
                .filter_map(|e| {
                    let p = e.path();
                    let n: usize = p.file_name()?.to_str()?.split('-').next()?.parse().ok()?;
                    Some((n, p))
                })
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// The shell state after the first `steps` steps of the plan: their snapshot files (what each
/// step that changed the state changed) applied in order.
fn state_after(run_dir: &Path, steps: usize) -> State {
    let deltas: Vec<Delta> = state_files(run_dir)
        .into_iter()
        .take_while(|(n, _)| *n <= steps)
        .filter_map(|(_, p)| std::fs::read(p).ok())
        .map(|b| Delta::parse(&b))
        .collect();
    State::from_deltas(&deltas)
}

/// Steps from plan position `from` on run again: what their earlier runs changed no longer
/// holds, so their snapshot files go.
fn forget_states_from(run_dir: &Path, from: usize) {
    for (n, p) in state_files(run_dir) {
        if n > from {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Run `steps[from..]`: show, confirm, run, record.
fn execute(
    cx: &Ctx,
    run: &mut RunDir,
    steps: &[Planned],
    from: usize,
    mut state: State,
    mut secrets: Secrets,
) -> Result<i32> {
    let args = cx.args;
    let term = &cx.term;
    let shell = Shell::new(shell_of(args), &args.secret);
    let mut run_all = args.yes;
    let total = steps.len();
    let started = Instant::now();
    let mut result = "ok";
    let mut exit = EXIT_OK;
    let mut section = None;
    let mut k = from;
    let mut attempt = 0;
    // a command edited after a failure, to retry the same step with
    let mut edited: Option<String> = None;
    // the operator chose retry: run again without asking again
    let mut retry = false;
    // what the step at this position changed in the state so far, and whether its file exists
    let mut step_delta: (Option<usize>, Delta, bool) = (None, Delta::default(), false);
    while k < total {
        let p = &steps[k];
        let mut command = edited.take().unwrap_or_else(|| p.command.clone());
        secrets.add_assigned(&command, &args.secret);
        if section != Some(&p.section_id) {
            section = Some(&p.section_id);
            run.transcript(&format!("\n## {}\n", p.section_title))?;
        }
        term.show_step(k + 1, total, started.elapsed(), p, &secrets.mask(&command));
        let decision = if run_all || std::mem::take(&mut retry) {
            Choice::Run
        } else {
            loop {
                match term.choose()? {
                    Choice::Edit => match edit_masked(term, &secrets, &command, &run.path)? {
                        Some(edited) => {
                            command = edited;
                            secrets.add_assigned(&command, &args.secret);
                            term.show_command(&secrets.mask(&command));
                        }
                        None => errln!("(unchanged)"),
                    },
                    other => break other,
                }
            }
        };
        match decision {
            Choice::Quit => {
                run.record(json!({"event": "step", "id": p.step.id, "decision": "quit"}))?;
                (result, exit) = if HANGUP.load(Ordering::SeqCst) {
                    ("interrupted", EXIT_INTERRUPTED)
                } else {
                    ("quit", EXIT_STEP_FAILED)
                };
                break;
            }
            Choice::Skip => {
                run.record(json!({"event": "step", "id": p.step.id, "decision": "skip", "command": secrets.mask(&command)}))?;
                run.transcript(&format!(
                    "\n### {} (skipped)\n\n```bash\n{}\n```\n",
                    p.step.id,
                    display(&secrets.mask(command.trim_end()))
                ))?;
                k += 1;
                continue;
            }
            Choice::All => run_all = true,
            _ => {}
        }
        attempt += 1;
        let begin = journal::now_rfc3339();
        // marks every process of this execution of the step, to find them all if it must stop
        let token = format!("{}:{}:{}:{attempt}", run.id, p.step.id, std::process::id());
        journal::failpoint("step-before");
        run.record(json!({"event": "step-start", "id": p.step.id, "command": secrets.mask(&command), "decision": "run", "attempt": attempt, "token": token}))?;
        tracing::info!(step = %p.step.id, "step started");
        // the transcript keeps the start and the end of a long output (all of it is on screen)
        let mut captured = Capture::default();
        // bash's messages about a line of the command name the page and its line (when the
        // command has the page's lines: not edited, no value spanning lines)
        let lines = &p.step.code_lines;
        let same_lines = command.trim_end_matches('\n').split('\n').count() == lines.len();
        let outcome = shell.run(
            &state,
            &command,
            &secrets,
            &shell::Launch {
                terminal: cx.interactive,
                token: &token,
                timeout: args.timeout,
                source: same_lines.then_some(shell::Source {
                    file: &cx.page,
                    lines,
                }),
            },
            &mut |pid| {
                CHILD.store(pid as i32, Ordering::SeqCst);
                journal::failpoint("step-running");
            },
            // without a terminal the step's stdout goes to runbook's stdout and its stderr to
            // runbook's stderr, so `> out.log` keeps the steps' output alone
            &mut |stream, chunk| {
                match stream {
                    shell::Stream::Out => {
                        let mut o = std::io::stdout();
                        let _ = o.write_all(chunk);
                        let _ = o.flush();
                    }
                    shell::Stream::Err => {
                        let _ = std::io::stderr().write_all(chunk);
                    }
                }
                captured.push(chunk);
            },
        );
        CHILD.store(0, Ordering::SeqCst);
        let outcome =
            outcome.map_err(|e| Error::Usage(format!("cannot start `{}`: {e}", shell_of(args))))?;
        journal::failpoint("step-exited");
        for v in &outcome.learned {
            secrets.add_bytes(v);
        }
        // Ctrl-C on the step's own terminal reaches it, not runbook
        let interrupted = INTERRUPTED.swap(false, Ordering::SeqCst)
            || (cx.interactive && (outcome.signal == Some(libc::SIGINT) || outcome.status == 130));
        // a step that was stopped leaves nothing running: not a background child that
        // ignored the signal, nor one that moved to a process group or session of its own
        let leftovers = if interrupted || outcome.timed_out {
            shell
                .transport
                .stop_leftovers(&token, std::time::Duration::from_secs(2))
        } else {
            0
        };
        if outcome.timed_out {
            errln!(
                "step {} ran longer than --timeout {:?}: stopped",
                p.step.id,
                args.timeout.unwrap_or_default()
            );
        }
        if let Some(dump) = &outcome.dump {
            let delta = state.advance(dump, &shell.inherited, &args.secret, &mut secrets);
            // one file per step that changed the state, holding what it changed (what all its
            // attempts changed, when it ran again after a failure): a resume applies them in
            // order
            if step_delta.0 != Some(k) {
                step_delta = (Some(k), Delta::default(), false);
            }
            let (_, changes, written) = &mut step_delta;
            changes.merge(delta);
            if !changes.is_empty() || *written {
                run.write_private(
                    &format!("state/{:03}-{}.sh", k + 1, p.step.id),
                    &changes.to_bytes(&format!("step {} ({})", k + 1, p.step.id)),
                )?;
                *written = true;
            }
        }
        let error = outcome.restore_failed.then(|| {
            let msg = format!(
                "step {} did not run: {}",
                p.step.id,
                lost_directory(state.cwd().unwrap_or_default())
            );
            errln!("{}", secrets.mask(&msg));
            secrets.mask(&msg)
        });
        run.record(json!({
            "event": "step-end",
            "id": p.step.id,
            "command": secrets.mask(&command),
            "decision": "run",
            "start": begin,
            "end": journal::now_rfc3339(),
            "status": outcome.status,
            "signal": outcome.signal,
            "interrupted": interrupted,
            "timed_out": outcome.timed_out,
            "leftovers_stopped": leftovers,
            "output_bytes": outcome.output_bytes,
            "secret_names": state.secret_names(),
            "error": error,
        }))?;
        // a pty ends lines with \r\n: the transcript is text
        let out_text = secrets.mask(&captured.text()).replace("\r\n", "\n");
        run.transcript(&format!(
            "\n### {}\n\n{}```bash\n{}\n```\n\n```\n{}{}```\n\n{}exit status {} after {:.1} s\n",
            p.step.id,
            if p.step.prose.is_empty() {
                String::new()
            } else {
                format!("{}\n\n", p.step.prose)
            },
            display(&secrets.mask(command.trim_end())),
            out_text,
            if out_text.is_empty() || out_text.ends_with('\n') {
                ""
            } else {
                "\n"
            },
            error
                .as_ref()
                .map(|e| format!("{e}\n\n"))
                .unwrap_or_default(),
            outcome.status,
            outcome.elapsed.as_secs_f64()
        ))?;
        tracing::info!(step = %p.step.id, status = outcome.status, elapsed = ?outcome.elapsed, "step ended");
        term.show_status(outcome.status, outcome.elapsed);
        if interrupted
            && (!cx.interactive
                || HANGUP.load(Ordering::SeqCst)
                || args.yes
                || term.confirm_default_yes(
                    "The step was interrupted. Quit the run (it can be resumed)?",
                )?)
        {
            result = "interrupted";
            exit = EXIT_INTERRUPTED;
            errln!(
                "interrupted: the run stops here; `runbook run --resume` goes on from this step"
            );
            break;
        }
        if outcome.status != 0 {
            if args.keep_going {
                exit = EXIT_STEP_FAILED;
                result = "failed";
                k += 1;
                continue;
            }
            if cx.interactive && !args.yes {
                match term.after_failure()? {
                    Choice::Run => {
                        edited = Some(command); // retry the command as it last ran
                        retry = true;
                        continue;
                    }
                    Choice::Edit => {
                        edited = Some(
                            edit_masked(term, &secrets, &command, &run.path)?.unwrap_or(command),
                        );
                        continue;
                    }
                    Choice::Skip => {
                        run.record(json!({"event": "step", "id": p.step.id, "decision": "skip"}))?;
                        k += 1;
                        continue;
                    }
                    _ => {}
                }
            }
            result = "failed";
            exit = EXIT_STEP_FAILED;
            errln!("the run stops here; `runbook run --resume` goes on from this step");
            break;
        }
        k += 1;
    }
    run.record_durable(json!({"event": "run-end", "result": result}))?;
    run.transcript(&format!(
        "\n---\nrun {result} at {}\n",
        journal::now_rfc3339()
    ))?;
    tracing::info!(result, "run ended");
    errln!(
        "{}",
        term.dim(&format!(
            "run {result}: {}",
            crate::source::display_path(&run.path)
        ))
    );
    Ok(exit)
}

/// Edit a command in the operator's editor without its secrets reaching the editor's file:
/// each is a `[[secret N]]` token there, put back after.
fn edit_masked(
    term: &Term,
    secrets: &Secrets,
    command: &str,
    run_dir: &Path,
) -> Result<Option<String>> {
    let (text, tokens) = secrets.tokenize(command);
    Ok(term
        .edit(&text, run_dir)?
        .map(|edited| secrets::detokenize(&edited, &tokens)))
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

/// A step's output for the transcript: the first and the last `Capture::HALF` bytes.
#[derive(Default)]
struct Capture {
    head: Vec<u8>,
    tail: std::collections::VecDeque<u8>,
    dropped: usize,
}

impl Capture {
    const HALF: usize = 512 * 1024;

    fn push(&mut self, mut data: &[u8]) {
        let room = Self::HALF.saturating_sub(self.head.len());
        let n = room.min(data.len());
        self.head.extend_from_slice(&data[..n]);
        data = &data[n..];
        self.tail.extend(data);
        let over = self.tail.len().saturating_sub(Self::HALF);
        self.tail.drain(..over);
        self.dropped += over;
    }

    fn text(&self) -> String {
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

/// The shell the steps run in.
pub fn shell_of(args: &RunArgs) -> &str {
    args.shell.as_deref().unwrap_or("bash")
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
