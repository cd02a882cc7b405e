//! runbook: render, check and run operations pages from Jekyll docs sites.
//!
//! Data flows one way: page -> Liquid (minijinja) -> Markdown model -> plan -> execution.
pub mod cli;
pub mod commands;
pub mod document;
pub mod error;
pub mod exec;
#[doc(hidden)]
pub mod fuzzing;
pub mod journal;
pub mod linemap;
pub mod liquid;
pub mod markdown;
pub mod page;
pub mod plan;
pub mod runbook;
pub mod shell;
pub mod site;
pub mod source;
pub mod yaml;

use clap::{CommandFactory, Parser};
use cli::{Cli, Command};
use std::ffi::OsString;

/// Parse arguments, run the command, print errors in one place; returns the exit code.
pub fn run<I: IntoIterator<Item = OsString>>(args: I) -> i32 {
    let cli = match Cli::try_parse_from(args) {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() {
                error::EXIT_INPUT
            } else {
                error::EXIT_OK
            };
            let _ = e.print();
            return code;
        }
    };
    init_tracing(cli.verbose, cli.quiet);
    commands::set_quiet(cli.quiet);
    let result = match cli.command {
        Command::Render {
            path,
            output,
            html,
            strict,
            site,
        } => commands::render::run(
            &path,
            output.as_deref(),
            commands::render::RenderOpts {
                html,
                mode: if strict {
                    liquid::Mode::Strict
                } else {
                    liquid::Mode::Lax
                },
            },
            &site,
        ),
        Command::Check { paths, json, site } => commands::check::run(&paths, json, &site),
        Command::List { page, json, site } => commands::list::run(&page, json, &site),
        Command::Run(args) => commands::run::run(&args),
        Command::Completions { shell } => {
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "runbook",
                &mut std::io::stdout(),
            );
            Ok(error::EXIT_OK)
        }
        Command::Man => {
            let man = clap_mangen::Man::new(Cli::command());
            let mut out = Vec::new();
            match man.render(&mut out) {
                Ok(()) => {
                    use std::io::Write;
                    let _ = std::io::stdout().write_all(&out);
                    Ok(error::EXIT_OK)
                }
                Err(e) => Err(error::Error::Usage(e.to_string())),
            }
        }
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let color = std::io::IsTerminal::is_terminal(&std::io::stderr());
            eprint!("{}", e.render(color));
            e.code()
        }
    }
}

fn init_tracing(verbose: u8, quiet: bool) {
    use tracing_subscriber::{EnvFilter, Layer, layer::SubscriberExt, util::SubscriberInitExt};
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (_, 0) => "warn",
        (_, 1) => "info",
        (_, 2) => "debug",
        _ => "trace",
    };
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new(format!("runbook={level}")));
    let stderr = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .without_time()
        .with_filter(filter);
    // a run's own log (runbook.log in its directory) always gets runbook's info events
    let run_log = tracing_subscriber::fmt::layer()
        .with_writer(|| journal::RunLogWriter)
        .with_ansi(false)
        .with_filter(EnvFilter::new("runbook=info"));
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(run_log)
        .try_init();
}
