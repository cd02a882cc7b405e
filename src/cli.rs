//! Command-line definitions (clap) only; meaning lives in `commands`.

use clap::{ArgMatches, Args, FromArgMatches, Parser, Subcommand};
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples:
  runbook render runbooks/hello.md               resolved Markdown on stdout
  runbook render site/ -o out/                   render a whole site tree
  runbook render page.md --html                  HTML instead of Markdown
  runbook list runbooks/build-infrastructure.md  sections, steps, placeholders
  runbook check runbooks/                        every problem, file:line:column
  runbook check page.md --json                   the same for machines
  runbook run runbooks/hello.md                  step by step, asking before each
  runbook run page.md --dry-run --section setup  the commands of one recipe, run nothing
  runbook run page.md --yes --timeout 10m        every step, none longer than 10 minutes
  runbook run --resume                           go on with the last run

Exit status: 0 success (check: no problems; run: every step done),
1 check found problems, a plan is not clean, or a step failed / the run was quit,
2 usage error, unreadable input or an unwritable run directory,
130 the run was interrupted. A step stopped by --timeout counts as failed (1), and so
does a step that cannot start where the step before it ended (its directory is gone:
recorded with status 125).";

#[derive(Parser, Debug)]
#[command(name = "runbook", version, about = "Render, check and run operations pages from Jekyll docs sites", after_help = EXAMPLES)]
pub struct Cli {
    /// More output from runbook itself on stderr (-v info, -vv debug, -vvv trace); RUST_LOG overrides
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    /// Only errors on stderr
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Args, Debug, Clone)]
pub struct SiteArgs {
    /// Site config to use instead of the nearest site.yaml or _config.yml above the page
    #[arg(long, value_name = "FILE")]
    pub site: Option<PathBuf>,
    /// Override a site value, e.g. --var site.builduser=alice (repeatable)
    #[arg(long = "var", value_name = "site.KEY=VALUE")]
    pub vars: Vec<String>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Print a page's body with every Liquid construct resolved, as Jekyll does
    Render(Deferred<RenderArgs>),
    /// Show a page's sections and steps with their ids, placeholders and site variables
    List(Deferred<ListArgs>),
    /// Report every problem in pages: broken Liquid, undefined variables, placeholders
    Check(Deferred<CheckArgs>),
    /// Run a page's steps one by one: show, confirm, run, log (or --dry-run to only show them)
    Run(Deferred<Box<RunArgs>>),
    /// Serve the Language Server Protocol on stdin/stdout for an editor: check's diagnostics
    /// as you type, hover, go to definition, completion, sections and steps as symbols
    Lsp(Deferred<LspArgs>),
    /// Print a shell completion script
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print a man page (roff): `runbook man` for runbook(1), `runbook man run` for
    /// runbook-run(1), one for each subcommand with all its options
    Man {
        /// The subcommand whose page to print (render, list, check, run, completions, man)
        subcommand: Option<String>,
    },
}

#[derive(Args, Debug)]
pub struct RenderArgs {
    /// A page, or a directory (then -o is required)
    pub path: PathBuf,
    /// Output directory when rendering a directory (or output file for a page)
    #[arg(short, long, value_name = "OUT")]
    pub output: Option<PathBuf>,
    /// HTML (pulldown-cmark) instead of Markdown
    #[arg(long)]
    pub html: bool,
    /// Treat undefined variables, malformed tags and unknown filters as errors
    #[arg(long)]
    pub strict: bool,
    #[command(flatten)]
    pub site: SiteArgs,
}

#[derive(Args, Debug)]
pub struct ListArgs {
    pub page: PathBuf,
    /// Text, or JSON (the page's model: sections, steps, placeholders)
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,
    /// The same as --format json
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    #[command(flatten)]
    pub site: SiteArgs,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    /// Pages or directories
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    /// How to write the problems: human (on stderr), or json, github (Actions workflow
    /// commands), sarif (2.1.0, for code scanning), junit (XML) on stdout
    #[arg(long, value_enum, default_value_t = crate::formats::Format::Human)]
    pub format: crate::formats::Format,
    /// The same as --format json
    #[arg(long, conflicts_with = "format")]
    pub json: bool,
    /// Problems of this rule fail the check, whatever their severity (repeatable; e.g.
    /// placeholder-unfilled)
    #[arg(long, value_name = "RULE")]
    pub deny: Vec<String>,
    /// Problems of this rule do not fail the check; they are still reported (repeatable;
    /// e.g. undefined-variable)
    #[arg(long, value_name = "RULE")]
    pub allow: Vec<String>,
    #[command(flatten)]
    pub site: SiteArgs,
}

#[derive(Args, Debug)]
pub struct LspArgs {
    #[command(flatten)]
    pub site: SiteArgs,
}

#[derive(Args, Debug, Clone)]
pub struct RunArgs {
    /// The page to run (not needed with --resume)
    #[arg(required_unless_present = "resume")]
    pub page: Option<PathBuf>,
    /// Continue the last run (or the run RUN: its id or directory) from its first step that
    /// did not succeed, with the shell state and values it had
    #[arg(long, value_name = "RUN", num_args = 0..=1, default_missing_value = "last", conflicts_with = "dry_run")]
    pub resume: Option<String>,
    /// Show every selected step resolved, in order, and execute nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Run this recipe: a section's id (as `list` shows it) or heading text (repeatable)
    #[arg(long, value_name = "SECTION")]
    pub section: Vec<String>,
    /// Run only this step id (repeatable; a step done by hand, `<section>-m<n>`, too)
    #[arg(long, value_name = "ID")]
    pub step: Vec<String>,
    /// Start at this step id
    #[arg(long, value_name = "ID")]
    pub from: Option<String>,
    /// Stop after this step id
    #[arg(long, value_name = "ID")]
    pub to: Option<String>,
    /// Value of a placeholder (its text, e.g. alimesosXX, or the variable it is assigned to),
    /// or of a variable the selection reads that only an unselected step sets (e.g. ZONE)
    #[arg(long, value_name = "NAME=VALUE")]
    pub set: Vec<String>,
    /// Treat this variable or placeholder as a secret: masked everywhere, never written to disk
    #[arg(long, value_name = "NAME")]
    pub secret: Vec<String>,
    /// Accept Jekyll's lax rendering (malformed tags, undefined variables) with a warning
    #[arg(long)]
    pub lax: bool,
    /// Answer "run" for every step (for scripts; without a terminal, run needs it)
    #[arg(short, long)]
    pub yes: bool,
    /// Go on with the next step when one fails
    #[arg(long)]
    pub keep_going: bool,
    /// Stop a step that runs longer than this (`90`, `90s`, `5m`, `1h`): SIGTERM to its
    /// processes, SIGKILL 5 s later; it counts as failed (status 124) and can be resumed
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub timeout: Option<std::time::Duration>,
    /// The POSIX shell that runs the steps (default: the page's `runbook: {shell: ...}` front
    /// matter, else bash)
    #[arg(long, value_name = "SHELL")]
    pub shell: Option<String>,
    /// Where runs keep their journal, logs and transcript (default: $XDG_STATE_HOME/runbook/runs)
    #[arg(long, value_name = "DIR")]
    pub runs_dir: Option<PathBuf>,
    /// Run the steps on this host, over OpenSSH: any ssh destination (`host`, an alias of
    /// your ~/.ssh/config, `user@host`, `ssh://user@host:port`); default: the page's
    /// `runbook: {on: HOST}` front matter, else this machine
    #[arg(long, value_name = "TARGET")]
    pub on: Vec<String>,
    /// An Ansible inventory (INI or YAML) that --on names hosts and groups of (default: the
    /// site config's `runbook: {inventory: FILE}`, else $RUNBOOK_INVENTORY)
    #[arg(long, value_name = "FILE")]
    pub inventory: Option<PathBuf>,
    /// With several hosts: how many run at once (default 1: one host after another)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub parallel: Option<u32>,
    /// With several hosts: start no new host after N of them failed (default: every host
    /// runs)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub max_fail: Option<u32>,
    /// With several hosts and a terminal: one answer per step for every host (all-hosts), or
    /// a question per step on each host (per-host)
    #[arg(long, value_enum, default_value_t = Confirm::AllHosts)]
    pub confirm: Confirm,
    /// An ssh configuration file for the connection, instead of ~/.ssh/config (ssh -F)
    #[arg(long, value_name = "FILE", env = "RUNBOOK_SSH_CONFIG")]
    pub ssh_config: Option<PathBuf>,
    #[command(flatten)]
    pub site: SiteArgs,
}

/// How `list` writes a page's sections and steps.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListFormat {
    #[default]
    Text,
    Json,
}

/// How a run on several hosts asks before each step.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Confirm {
    /// Once per step: the answer holds for every host
    #[default]
    AllHosts,
    /// Per step on each host, the host named
    PerHost,
}

/// `90`, `90s`, `1.5m`, `5m`, `1h`, `250ms`: a positive duration.
pub fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let t = text.trim();
    let (num, unit) = match t.find(|c: char| c.is_ascii_alphabetic()) {
        Some(i) => t.split_at(i),
        None => (t, "s"),
    };
    let n: f64 = num
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a duration (e.g. 90s, 5m, 1h)"))?;
    let secs = match unit {
        "ms" => n / 1000.0,
        "s" => n,
        "m" => n * 60.0,
        "h" => n * 3600.0,
        _ => return Err(format!("`{text}`: the unit is ms, s, m or h")),
    };
    if !(secs > 0.0 && secs.is_finite() && secs < 1e9) {
        return Err(format!("`{text}`: a timeout must be more than zero"));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

/// A subcommand's arguments, added to clap's description of the command line only when that
/// subcommand is the one given (or help, completions or a man page need them all): building
/// every subcommand's arguments was a tenth of a one-page `render`.
#[derive(Debug)]
pub struct Deferred<T>(pub T);

impl<T> std::ops::Deref for Deferred<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// Set by [`every_argument_now`]: [`Deferred`] adds its arguments at once.
static EAGER: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// Make [`Cli::command`](clap::CommandFactory::command) describe every subcommand's arguments
/// as it is built, for what lists them all (completion scripts, man pages): deferred, they
/// come after the global options instead of before them.
pub fn every_argument_now() {
    EAGER.store(true, std::sync::atomic::Ordering::Relaxed);
}

impl<T: Args> Args for Deferred<T> {
    fn augment_args(cmd: clap::Command) -> clap::Command {
        if EAGER.load(std::sync::atomic::Ordering::Relaxed) {
            T::augment_args(cmd)
        } else {
            cmd.defer(T::augment_args)
        }
    }
    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        if EAGER.load(std::sync::atomic::Ordering::Relaxed) {
            T::augment_args_for_update(cmd)
        } else {
            cmd.defer(T::augment_args_for_update)
        }
    }
    fn group_id() -> Option<clap::Id> {
        T::group_id()
    }
}

impl<T: FromArgMatches> FromArgMatches for Deferred<T> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches(matches).map(Deferred)
    }
    fn from_arg_matches_mut(matches: &mut ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches_mut(matches).map(Deferred)
    }
    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches(matches)
    }
    fn update_from_arg_matches_mut(&mut self, matches: &mut ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches_mut(matches)
    }
}
