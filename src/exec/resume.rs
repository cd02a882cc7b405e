//! Resuming a run: which run (`--resume [RUN]`, a page's latest), what its journal says
//! (typed events read back), the state its snapshot files rebuild, and going on from its
//! first step that did not succeed.

use super::config::RunConfig;
use super::event::{self, Decision, Event, RunStart};
use super::prompt::Term;
use super::secrets::Secrets;
use super::shell;
use super::state::{self, Delta, State};
use super::{
    EXIT_STEP_FAILED, complete_values, final_plan, go, hash, inputs_state, install_signal_handlers,
    reporters, transport,
};
use crate::cli::RunArgs;
use crate::error::{EXIT_OK, EXIT_PROBLEMS, Error, Result};
use crate::journal::{self, RunDir};
use crate::plan::{self, Planned};
use std::collections::{BTreeSet, HashMap};
use std::io::Read;
use std::path::{Path, PathBuf};

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
    first_start(dir).map(|(time, start)| (time, start.page))
}

/// A run's start as its journal's first event records it, and its time.
pub(super) fn first_start(dir: &Path) -> Option<(String, RunStart)> {
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
            ..
        } => Some((time, *start)),
        _ => None,
    }
}

/// What the journal says about a run so far.
pub struct History {
    pub start: RunStart,
    /// Steps that succeeded, were skipped, or (manual) were done or passed.
    pub done: BTreeSet<String>,
    /// Secret variables each step's state held (names only), and which step set them first.
    pub secrets_after: HashMap<String, Vec<String>>,
    pub secret_setter: HashMap<String, String>,
    pub cut: bool,
    /// A step that started and has no end: runbook stopped while it ran (id, process marker).
    pub in_doubt: Option<(String, String)>,
    /// The journal records the end of the run.
    pub ended: bool,
    /// How the run ended, when the journal's last word is its end.
    pub result: Option<event::Outcome>,
}

pub fn history(run_dir: &Path) -> Result<History> {
    let path = run_dir.join("journal.jsonl");
    let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
    let (records, cut) = event::parse(&bytes);
    let start = records
        .iter()
        .find_map(|r| match &r.event {
            Event::RunStart(s) => Some((**s).clone()),
            _ => None,
        })
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
    for r in &records {
        match &r.event {
            Event::StepStart { id, token, .. } => {
                in_doubt = Some((id.clone(), token.clone()));
            }
            Event::StepEnd(e) => {
                in_doubt = None;
                for n in &e.secret_names {
                    secret_setter.entry(n.clone()).or_insert(e.id.clone());
                }
                secrets_after.insert(e.id.clone(), e.secret_names.clone());
                if e.status == 0 {
                    done.insert(e.id.clone());
                } else {
                    done.remove(&e.id);
                }
            }
            Event::Step {
                id,
                decision: Decision::Skip,
                ..
            } => {
                done.insert(id.clone());
            }
            Event::Manual { id, decision, .. } if *decision != Decision::Quit => {
                done.insert(id.clone());
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
        ended: records
            .last()
            .is_some_and(|r| matches!(r.event, Event::RunEnd { .. })),
        result: match records.last().map(|r| &r.event) {
            Some(Event::RunEnd { result, .. }) => Some(*result),
            _ => None,
        },
    })
}

/// `runbook run --resume [RUN]`: continue a run from its first step that did not succeed.
pub fn resume(args: &RunArgs, run_ref: &str, color: bool) -> Result<i32> {
    let runs_dir = args
        .runs_dir
        .clone()
        .unwrap_or_else(journal::default_runs_dir);
    let run_dir = locate_run(&runs_dir, run_ref, args.page.as_deref())?;
    if first_start(&run_dir).is_some_and(|(_, s)| !s.hosts.is_empty()) {
        return super::fleet::resume(args, &run_dir, color);
    }
    let r = match prepare(&run_dir, args, color)? {
        Prepared::Go(r) => *r,
        Prepared::Exit(code) => return Ok(code),
    };
    journal::log_to(&r.run.path)?;
    install_signal_handlers();
    // the summary covers what this resume runs
    tracing::info!(run = %r.run.id, from = %r.steps[r.from].step.id, "run resumed");
    let engine = super::engine::Engine {
        cfg: &r.cfg,
        term: &r.term,
        run: &r.run,
        reporters: reporters(
            &r.cfg,
            &r.doc,
            &r.run,
            r.journal,
            r.transcript,
            &r.steps,
            r.from,
        ),
        shell: super::shell_for(&r.cfg)?,
        secrets: r.secrets,
        values: r.values,
        page: r.doc.page.file.display_path(),
        fleet: None,
    };
    let resumed = Event::RunResume {
        from: r.steps[r.from].step.id.clone(),
    };
    go(engine, resumed, &r.steps, r.from, r.state)
}

/// A run made ready to go on: its files (held), settings, page, steps, the step it goes on
/// from and the state, secrets and values it has there.
pub(super) struct Resumable {
    pub run: RunDir,
    pub journal: journal::Journal,
    pub transcript: journal::Transcript,
    pub cfg: RunConfig,
    pub term: Term,
    pub doc: crate::document::Document,
    pub steps: Vec<Planned>,
    pub from: usize,
    pub state: State,
    pub secrets: Secrets,
    pub values: HashMap<String, String>,
}

pub(super) enum Prepared {
    Go(Box<Resumable>),
    /// Nothing to go on with: runbook's exit status.
    Exit(i32),
}

/// Open the run in `run_dir` to go on with it: what it left running stopped, its page read
/// again (and what changed said), values asked for again where needed, the state rebuilt.
pub(super) fn prepare(run_dir: &Path, args: &RunArgs, color: bool) -> Result<Prepared> {
    let run_dir = run_dir.to_path_buf();
    // the run is ours from here (refused while another runbook still has it: a live step is
    // never stopped by a resume)
    let (run, journal_file, transcript) = RunDir::open(&run_dir)?;
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
    let cfg = RunConfig::resumed(args, &h.start, color)?;
    let term = Term::new(cfg.color).with_shell(&cfg.shell);
    let page_path = PathBuf::from(&h.start.page);
    let (site, engine) = crate::commands::open_site(&page_path, &cfg.site)?;
    let (site, engine) = crate::commands::with_host(site, engine, cfg.on.as_ref());
    let mode = if cfg.lax {
        crate::liquid::Mode::Lax
    } else {
        crate::liquid::Mode::Strict
    };
    let doc = match crate::document::load(&engine, &site, &page_path, mode) {
        Ok(d) => d,
        Err(diags) => {
            crate::commands::report(&diags);
            return Ok(Prepared::Exit(crate::error::EXIT_INPUT));
        }
    };
    // the values the run had (secret ones were never written: asked again), then --set
    let mut values: HashMap<String, String> = std::fs::read_to_string(run_dir.join("values.json"))
        .ok()
        .and_then(|t| serde_json::from_str::<HashMap<String, String>>(&t).ok())
        .unwrap_or_default();
    // a placeholder the page no longer has is no error of the operator's
    let known = plan::placeholder_names(&doc, &cfg.selection);
    values.retain(|k, _| known.contains(k));
    values.extend(cfg.sets.clone());
    let mut secrets = Secrets::from_env(&cfg.secret);
    let plan = plan::build(&doc, &cfg.selection, &values, true).map_err(Error::Usage)?;
    let values = complete_values(&cfg, &term, &doc, &plan, values, &mut secrets)?;
    let Some(plan) = final_plan(&cfg, &term, &doc, &values)? else {
        return Ok(Prepared::Exit(EXIT_PROBLEMS));
    };
    let steps: Vec<Planned> = plan.in_order().into_iter().cloned().collect();
    // has the page changed since?
    if h.start.page_hash != hash(&doc.page.file.text) {
        let before: HashMap<&str, &str> = h
            .start
            .steps
            .iter()
            .map(|s| (s.id.as_str(), s.hash.as_str()))
            .collect();
        let mut changed = Vec::new();
        for p in &steps {
            match before.get(p.step.id.as_str()) {
                None => changed.push(format!("{} (new)", p.step.id)),
                Some(hh) if *hh != hash(&p.step.code) => {
                    changed.push(format!("{} (changed)", p.step.id))
                }
                _ => {}
            }
        }
        for id in before.keys() {
            if !steps.iter().any(|p| p.step.id == *id) {
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
            && cfg.interactive
            && !cfg.yes
            && !term.confirm("Resume with the page as it is now?")?
        {
            return Ok(Prepared::Exit(EXIT_STEP_FAILED));
        }
    }
    let Some(first) = steps.iter().position(|p| !h.done.contains(&p.step.id)) else {
        if !h.ended {
            // killed after its last step: the journal gets the end it did not get
            use super::event::Reporter;
            super::report::JournalReporter::new(journal_file).event(&Event::RunEnd {
                result: event::Outcome::Ok,
                error: None,
            })?;
        }
        errln!("every step of this run already succeeded: nothing to resume");
        return Ok(Prepared::Exit(EXIT_OK));
    };
    // the shell state after the last step that ran before `first`
    let base = inputs_state(&cfg, &plan);
    let state_before = |pos: usize| state_after(&run_dir, pos, base.clone());
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
        let answer = if cfg.interactive && !cfg.yes {
            term.ask_missing_secrets(&steps[earliest].step.id)?
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
                    let v = term.ask_value(
                        name,
                        &steps[first].step.id,
                        &format!("{name}=..."),
                        None,
                        true,
                    )?;
                    secrets.add(&v);
                    state.put_secret(name, v.as_bytes(), cfg.bash());
                }
            }
            _ => {}
        }
    }
    forget_states_from(&run_dir, from);
    Ok(Prepared::Go(Box::new(Resumable {
        run,
        journal: journal_file,
        transcript,
        cfg,
        term,
        doc,
        steps,
        from,
        state,
        secrets,
        values,
    })))
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
fn state_after(run_dir: &Path, steps: usize, base: State) -> State {
    let deltas: Vec<Delta> = state_files(run_dir)
        .into_iter()
        .take_while(|(n, _)| *n <= steps)
        .filter_map(|(_, p)| std::fs::read(p).ok())
        .map(|b| Delta::parse(&b))
        .collect();
    base.with_deltas(&deltas)
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
