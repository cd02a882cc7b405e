//! Command-line definitions (clap) only; meaning lives in `commands`.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

const EXAMPLES: &str = "\
Examples:
  runbook render runbooks/hello.md               resolved Markdown on stdout
  runbook render site/ -o out/                   render a whole site tree
  runbook render page.md --html                  HTML instead of Markdown
  runbook list runbooks/build-infrastructure.md  sections, steps, placeholders
  runbook check runbooks/                        every problem, file:line:column
  runbook check page.md --json                   the same for machines

Exit status: 0 success (check: no problems), 1 check found problems,
2 usage error or unreadable input.";

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
    Render {
        /// A page, or a directory (then -o is required)
        path: PathBuf,
        /// Output directory when rendering a directory (or output file for a page)
        #[arg(short, long, value_name = "OUT")]
        output: Option<PathBuf>,
        /// HTML (pulldown-cmark) instead of Markdown
        #[arg(long)]
        html: bool,
        /// Treat undefined variables, malformed tags and unknown filters as errors
        #[arg(long)]
        strict: bool,
        #[command(flatten)]
        site: SiteArgs,
    },
    /// Show a page's sections and steps with their ids, placeholders and site variables
    List {
        page: PathBuf,
        /// JSON instead of text
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        site: SiteArgs,
    },
    /// Report every problem in pages: broken Liquid, undefined variables, placeholders
    Check {
        /// Pages or directories
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// JSON instead of text
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        site: SiteArgs,
    },
    /// Print a shell completion script
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff)
    Man,
}
