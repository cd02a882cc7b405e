//! runbook: render, check and run operations pages from Jekyll docs sites.
//!
//! Data flows one way: page -> Liquid (minijinja) -> Markdown model -> plan -> execution.
/// `print!`/`println!`/`eprint!`/`eprintln!` that never panic: a closed or full stdout or
/// stderr (`| head -1`, `2>/dev/full`, `2>&-`) loses the text, never the run.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stdout(), $($arg)*);
    }};
}
macro_rules! outln {
    () => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout());
    }};
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}
macro_rules! err {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = write!(std::io::stderr(), $($arg)*);
    }};
}
macro_rules! errln {
    () => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr());
    }};
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

pub mod cli;
pub mod commands;
pub mod document;
pub mod error;
pub mod exec;
pub mod formats;
#[doc(hidden)]
pub mod fuzzing;
pub mod inventory;
pub mod journal;
pub mod linemap;
pub mod liquid;
pub mod lsp;
pub mod markdown;
pub mod page;
pub mod plan;
pub mod rules;
pub mod runbook;
pub mod shell;
pub mod site;
pub mod source;
pub mod syntax;
pub mod yaml;

use clap::CommandFactory;
use cli::{Cli, Command};
use std::ffi::OsString;

/// Parse arguments, run the command, print errors in one place; returns the exit code.
pub fn run<I: IntoIterator<Item = OsString>>(args: I) -> i32 {
    keep_std_fds_open();
    ignore_sigpipe();
    let cli = match parse_cli(args) {
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
    // render, list and check log only at info level and below: unless asked for (-v or
    // RUST_LOG), none of it is shown, and setting the logger up would be a twentieth of a
    // one-page render (the test `quiet_commands_only_log_below_warn` keeps it so)
    let one_page = matches!(
        cli.command,
        Command::Render(_) | Command::List(_) | Command::Check(_)
    );
    if !one_page || cli.verbose > 0 || std::env::var_os("RUST_LOG").is_some() {
        init_tracing(
            cli.verbose,
            cli.quiet,
            matches!(cli.command, Command::Run(_)),
        );
    }
    commands::set_quiet(cli.quiet);
    commands::set_verbose(cli.verbose);
    let result = match cli.command {
        Command::Render(a) => commands::render::run(
            &a.path,
            a.output.as_deref(),
            commands::render::RenderOpts {
                html: a.html,
                mode: if a.strict {
                    liquid::Mode::Strict
                } else {
                    liquid::Mode::Lax
                },
            },
            &a.site,
        ),
        Command::Check(a) => {
            let format = if a.json {
                formats::Format::Json
            } else {
                a.format
            };
            commands::check::run(&a.paths, format, &a.deny, &a.allow, &a.site)
        }
        Command::List(a) => commands::list::run(
            &a.page,
            a.json || a.format == cli::ListFormat::Json,
            &a.site,
        ),
        Command::Run(args) => commands::run::run(&args),
        Command::Lsp(a) => commands::lsp::run(&a.site),
        Command::Completions { shell } => {
            cli::every_argument_now();
            clap_complete::generate(
                shell,
                &mut Cli::command(),
                "runbook",
                &mut std::io::stdout(),
            );
            Ok(error::EXIT_OK)
        }
        Command::Man { subcommand } => man_page(subcommand.as_deref()),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            let color = std::io::IsTerminal::is_terminal(&std::io::stderr());
            err!("{}", e.render(color));
            e.code()
        }
    }
}

/// runbook(1), or runbook-SUBCOMMAND(1) with every option of that subcommand.
fn man_page(subcommand: Option<&str>) -> error::Result<i32> {
    cli::every_argument_now();
    let mut top = Cli::command();
    // global options (-v, -q) belong to every subcommand's page too
    top.build();
    let cmd = match subcommand {
        None => top,
        Some(name) => {
            let names: Vec<String> = top
                .get_subcommands()
                .map(|c| c.get_name().to_string())
                .collect();
            let Some(sub) = top.find_subcommand(name).cloned() else {
                return Err(error::Error::Usage(format!(
                    "no subcommand `{name}` (man pages: {})",
                    names.join(", ")
                )));
            };
            sub.name(format!("runbook-{name}"))
                .bin_name(format!("runbook {name}"))
        }
    };
    let mut out = Vec::new();
    clap_mangen::Man::new(cmd)
        .render(&mut out)
        .map_err(|e| error::Error::Usage(e.to_string()))?;
    out!("{}", String::from_utf8_lossy(&out));
    Ok(error::EXIT_OK)
}

/// [`Cli::try_parse_from`], without freeing clap's description of the command line at the
/// end (dropping it is as much work as a page's Markdown parse; the process ends soon).
fn parse_cli<I: IntoIterator<Item = OsString>>(args: I) -> Result<Cli, clap::Error> {
    use clap::FromArgMatches;
    let mut cmd = std::mem::ManuallyDrop::new(Cli::command());
    let mut matches = std::mem::ManuallyDrop::new(cmd.try_get_matches_from_mut(args)?);
    Cli::from_arg_matches_mut(&mut matches).map_err(|e| e.format(&mut cmd))
}

/// Writing to a closed pipe (`runbook list | head -1`) is an error runbook ignores, as Rust's
/// own start-up arranges (see main.rs); a handler rather than SIG_IGN, so that the commands
/// runbook starts get SIGPIPE's default back at exec, as they would from a shell.
fn ignore_sigpipe() {
    let seen = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let _ = signal_hook::flag::register(signal_hook::consts::SIGPIPE, seen);
}

fn init_tracing(verbose: u8, quiet: bool, run_log: bool) {
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
    let run_log = run_log.then(|| {
        tracing_subscriber::fmt::layer()
            .with_writer(|| journal::RunLogWriter)
            .with_ansi(false)
            .with_filter(EnvFilter::new("runbook=info"))
    });
    let _ = tracing_subscriber::registry()
        .with(stderr)
        .with(run_log)
        .try_init();
}

/// A closed fd 0, 1 or 2 (`2>&-`) would be the next file runbook opens: the journal would
/// get its messages. Each closed one is opened on /dev/null instead.
fn keep_std_fds_open() {
    use std::os::fd::{AsRawFd, OwnedFd};
    while let Ok(f) = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
    {
        let fd = OwnedFd::from(f);
        if fd.as_raw_fd() > 2 {
            break; // dropped: 0, 1 and 2 are all open
        }
        // it took the place of a closed standard fd: keep it there
        std::mem::forget(fd);
    }
}

#[cfg(test)]
mod tests {
    /// `render`, `list` and `check` start without a logger unless -v or RUST_LOG asks for one
    /// (see `run`): a warning or an error logged by the code they use would be lost. Only
    /// `run` (src/exec, the journal) and `lsp` log at those levels.
    #[test]
    fn quiet_commands_only_log_below_warn() {
        fn scan(dir: &std::path::Path, found: &mut Vec<String>) {
            for entry in std::fs::read_dir(dir).unwrap() {
                let path = entry.unwrap().path();
                let name = path.file_name().unwrap().to_string_lossy().into_owned();
                if path.is_dir() {
                    if name != "exec" && name != "lsp" {
                        scan(&path, found);
                    }
                } else if name.ends_with(".rs") && name != "journal.rs" {
                    let text = std::fs::read_to_string(&path).unwrap();
                    for (i, line) in text.lines().enumerate() {
                        // (the macros' names are spelled apart so this test does not find itself)
                        if ["warn", "error"]
                            .iter()
                            .any(|m| line.contains(&format!("{m}!(")))
                        {
                            found.push(format!("{}:{}: {}", path.display(), i + 1, line.trim()));
                        }
                    }
                }
            }
        }
        let mut found = Vec::new();
        scan(
            &std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src"),
            &mut found,
        );
        assert!(found.is_empty(), "{}", found.join("\n"));
    }
}
