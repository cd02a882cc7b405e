//! Running a plan: confirm each step, run it in the carried shell session, record everything
//! in the run directory (journal, transcript, snapshots, log), stop on failure.

pub mod prompt;
pub mod secrets;
pub mod shell;

use crate::cli::RunArgs;
use crate::document::Document;
use crate::error::{EXIT_OK, Error, Result};
use crate::journal::{self, RunDir};
use crate::plan::{self, Plan, Selection};
use prompt::{Choice, Term};
use secrets::Secrets;
use serde_json::json;
use shell::{Shell, State};
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::time::Instant;

/// Exit status of `run` when a step failed, or the operator quit or interrupted the run.
pub const EXIT_STEP_FAILED: i32 = 1;
pub const EXIT_INTERRUPTED: i32 = 130;

static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// The step's process, to pass SIGTERM on to it.
static CHILD: AtomicI32 = AtomicI32::new(0);

extern "C" fn on_signal(sig: libc::c_int) {
    INTERRUPTED.store(true, Ordering::SeqCst);
    let child = CHILD.load(Ordering::SeqCst);
    if sig == libc::SIGTERM && child > 0 {
        // SAFETY: kill is async-signal-safe
        unsafe {
            libc::kill(child, libc::SIGTERM);
        }
    }
}

fn install_signal_handlers() {
    // SAFETY: the handler only touches atomics and calls kill(2)
    unsafe {
        libc::signal(libc::SIGINT, on_signal as *const () as libc::sighandler_t);
        libc::signal(libc::SIGTERM, on_signal as *const () as libc::sighandler_t);
    }
}

pub fn run_plan(
    doc: &Document,
    plan: &Plan,
    selection: &Selection,
    args: &RunArgs,
    color: bool,
) -> Result<i32> {
    let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if !interactive && !args.yes {
        return Err(Error::Usage(
            "runbook run asks before each step and there is no terminal to ask: pass --yes to run every step, or --dry-run to see them".into(),
        ));
    }
    let term = Term::new(color);
    let mut secrets = Secrets::from_env(&args.secret);
    // placeholder values: from --set, then asked for (once per name) in a terminal
    let mut values = plan::parse_sets(&args.set).map_err(Error::Usage)?;
    let missing: Vec<_> = plan
        .steps
        .iter()
        .flat_map(|p| p.missing.iter().map(move |m| (p, m)))
        .collect();
    let mut asked: HashMap<String, String> = HashMap::new();
    for (p, m) in &missing {
        if asked.contains_key(&m.name) {
            continue;
        }
        if !interactive {
            crate::commands::report(&plan.problems);
            return Err(Error::Usage(format!(
                "placeholder <{}> has no value and there is no terminal to ask: pass --set '{}=VALUE'",
                m.name, m.set_name
            )));
        }
        let secret = secrets::is_secret_name(&m.name, &args.secret)
            || secrets::is_secret_name(&m.set_name, &args.secret);
        let context = doc.page.file.line_text(m.line).trim().to_string();
        let v = term.ask_value(&m.name, &p.step.id, &context, m.hint.as_deref(), secret)?;
        if secret {
            secrets.add(&v);
        }
        asked.insert(m.name.clone(), v);
    }
    values.extend(asked);
    for name in &args.secret {
        if let Some(v) = values.get(name) {
            secrets.add(v);
        }
    }
    // the plan again, now with every value: errors stop here, warnings may be accepted
    let plan = plan::build(doc, selection, &values, true).map_err(Error::Usage)?;
    if !plan.is_clean() {
        crate::commands::report(&plan.problems);
        return Ok(crate::error::EXIT_PROBLEMS);
    }
    if !plan.problems.is_empty() {
        crate::commands::report(&plan.problems);
        if interactive && !args.yes && !term.confirm("Run anyway?")? {
            return Ok(EXIT_STEP_FAILED);
        }
    }
    let plan = plan.steps;

    let runs_dir = args
        .runs_dir
        .clone()
        .unwrap_or_else(journal::default_runs_dir);
    let mut run = RunDir::create(&runs_dir, &doc.page.file.path)?;
    journal::log_to(&run.path)?;
    install_signal_handlers();
    tracing::info!(run = %run.id, page = %doc.page.file.display_path(), steps = plan.len(), "run started");
    let public_values: serde_json::Map<String, serde_json::Value> = values
        .iter()
        .filter(|(k, _)| !secrets::is_secret_name(k, &args.secret))
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
        "shell": args.shell,
        "steps": plan.iter().map(|p| json!({"id": p.step.id, "hash": hash(&p.command)})).collect::<Vec<_>>(),
    }))?;
    let title =
        crate::liquid::value::lookup(&doc.page.front, &minijinja::Value::from("title"), false)
            .map(|t| crate::liquid::value::to_s(&t))
            .unwrap_or_else(|| doc.page.file.display_path());
    run.transcript(&format!(
        "# Run of {title}\n\n- page: `{}`\n- run: `{}`\n- started: {}\n",
        doc.page.file.display_path(),
        run.id,
        journal::now_rfc3339()
    ))?;
    eprintln!(
        "{}",
        term.dim(&format!(
            "run {} (journal, transcript and logs in {})",
            run.id,
            crate::source::display_path(&run.path)
        ))
    );

    let shell = Shell {
        program: args.shell.clone(),
        secret_names: args.secret.clone(),
    };
    let mut state = State::default();
    let mut run_all = args.yes;
    let total = plan.len();
    let started = Instant::now();
    let mut result = "ok";
    let mut exit = EXIT_OK;
    let mut section = None;
    let mut k = 0;
    while k < total {
        let p = &plan[k];
        let mut command = p.command.clone();
        secrets.add_assigned(&command, &args.secret);
        if section != Some(&p.section_id) {
            section = Some(&p.section_id);
            run.transcript(&format!("\n## {}\n", p.section_title))?;
        }
        term.show_step(k + 1, total, started.elapsed(), p, &secrets.mask(&command));
        let decision = if run_all {
            Choice::Run
        } else {
            loop {
                match term.choose()? {
                    Choice::Edit => match term.edit(&command, &run.path)? {
                        Some(edited) => {
                            command = edited;
                            term.show_command(&secrets.mask(&command));
                        }
                        None => eprintln!("(unchanged)"),
                    },
                    other => break other,
                }
            }
        };
        match decision {
            Choice::Quit => {
                run.record(json!({"event": "step", "id": p.step.id, "decision": "quit"}))?;
                result = "quit";
                exit = EXIT_STEP_FAILED;
                break;
            }
            Choice::Skip => {
                run.record(json!({"event": "step", "id": p.step.id, "decision": "skip", "command": secrets.mask(&command)}))?;
                run.transcript(&format!(
                    "\n### {} (skipped)\n\n```bash\n{}\n```\n",
                    p.step.id,
                    secrets.mask(command.trim_end())
                ))?;
                k += 1;
                continue;
            }
            Choice::All => run_all = true,
            _ => {}
        }
        secrets.add_assigned(&command, &args.secret); // again: the command may have been edited
        let begin = journal::now_rfc3339();
        run.record(json!({"event": "step-start", "id": p.step.id, "command": secrets.mask(&command), "decision": "run"}))?;
        tracing::info!(step = %p.step.id, "step started");
        let mut captured: Vec<u8> = Vec::new();
        let mut stdout = std::io::stdout();
        let outcome = shell.run(
            &state,
            &command,
            &secrets,
            &mut |pid| CHILD.store(pid as i32, Ordering::SeqCst),
            &mut |chunk| {
                let _ = stdout.write_all(chunk);
                let _ = stdout.flush();
                captured.extend_from_slice(chunk);
            },
        );
        CHILD.store(0, Ordering::SeqCst);
        let outcome =
            outcome.map_err(|e| Error::Usage(format!("cannot start `{}`: {e}", args.shell)))?;
        if let Some(new_state) = outcome.state {
            for v in shell::secret_values(&new_state.secret) {
                secrets.add(&v);
            }
            run.write_private(
                &format!("state/{:03}-{}.sh", k + 1, p.step.id),
                new_state.public.as_bytes(),
            )?;
            state = new_state;
        }
        let interrupted = INTERRUPTED.swap(false, Ordering::SeqCst);
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
            "output_bytes": outcome.output_bytes,
        }))?;
        let out_text = secrets.mask(&String::from_utf8_lossy(&captured));
        run.transcript(&format!(
            "\n### {}\n\n{}```bash\n{}\n```\n\n```\n{}{}```\n\nexit status {} after {:.1} s\n",
            p.step.id,
            if p.step.prose.is_empty() {
                String::new()
            } else {
                format!("{}\n\n", p.step.prose)
            },
            secrets.mask(command.trim_end()),
            out_text,
            if out_text.is_empty() || out_text.ends_with('\n') {
                ""
            } else {
                "\n"
            },
            outcome.status,
            outcome.elapsed.as_secs_f64()
        ))?;
        tracing::info!(step = %p.step.id, status = outcome.status, elapsed = ?outcome.elapsed, "step ended");
        term.show_status(outcome.status, outcome.elapsed);
        if interrupted {
            result = "interrupted";
            exit = EXIT_INTERRUPTED;
            eprintln!("interrupted: the run stops here");
            break;
        }
        if outcome.status != 0 {
            if args.keep_going {
                exit = EXIT_STEP_FAILED;
                result = "failed";
                k += 1;
                continue;
            }
            if interactive && !args.yes {
                match term.after_failure()? {
                    Choice::Run => continue, // retry
                    Choice::Skip => {
                        k += 1;
                        continue;
                    }
                    Choice::Edit => {
                        continue;
                    }
                    _ => {}
                }
            }
            result = "failed";
            exit = EXIT_STEP_FAILED;
            break;
        }
        k += 1;
    }
    run.record(json!({"event": "run-end", "result": result}))?;
    run.transcript(&format!(
        "\n---\nrun {result} at {}\n",
        journal::now_rfc3339()
    ))?;
    tracing::info!(result, "run ended");
    eprintln!(
        "{}",
        term.dim(&format!(
            "run {result}: {}",
            crate::source::display_path(&run.path)
        ))
    );
    Ok(exit)
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
