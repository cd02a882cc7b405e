//! A run's settings, validated once: for a new run from the command line and the page's
//! front matter, for a resume from the run-start the journal recorded (the command line adds
//! to it). Nothing else in `exec` looks at the raw arguments.

use super::event::RunStart;
use super::secrets;
use crate::cli::{RunArgs, SiteArgs};
use crate::error::{Error, Result};
use crate::plan::Selection;
use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct RunConfig {
    /// The shell the steps run in, and who chose it when it is not runbook's default.
    pub shell: String,
    pub shell_chosen_by: Option<&'static str>,
    pub lax: bool,
    pub keep_going: bool,
    /// Run every step without asking.
    pub yes: bool,
    pub timeout: Option<Duration>,
    /// Names given with `--secret`.
    pub secret: Vec<String>,
    /// `--set NAME=VALUE`.
    pub sets: HashMap<String, String>,
    pub runs_dir: PathBuf,
    pub site: SiteArgs,
    pub selection: Selection,
    /// runbook has a terminal to ask on (stdin and stderr).
    pub interactive: bool,
    pub color: bool,
    /// -1 with `-q`, else the number of `-v`.
    pub verbosity: i8,
    /// The host the steps run on (`--on`, or the page's `runbook: {on: ...}`), over OpenSSH;
    /// None: this machine.
    pub on: Option<RemoteHost>,
    /// The inventory `--on` was looked up in.
    pub inventory: Option<PathBuf>,
    /// `ssh -F FILE`.
    pub ssh_config: Option<PathBuf>,
    /// A run on several hosts: how many run at once, after how many failures no new one
    /// starts, and how questions are asked.
    pub parallel: usize,
    pub max_fail: Option<usize>,
    pub confirm: crate::cli::Confirm,
}

/// Where a run's steps go: the host as the operator named it, and ssh's arguments for it
/// (options, `--`, the destination).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteHost {
    pub name: String,
    pub ssh_args: Vec<String>,
    /// Its inventory variables (`host.*` in the page), when it is an inventory host.
    pub vars: Option<minijinja::Value>,
}

impl RemoteHost {
    /// ssh's arguments to reach it: `-F FILE` when the run names an ssh configuration, then
    /// its own options and destination.
    pub fn ssh_command(&self, ssh_config: Option<&std::path::Path>) -> Vec<String> {
        let mut args = Vec::new();
        if let Some(f) = ssh_config {
            args.push("-F".to_string());
            args.push(f.to_string_lossy().into_owned());
        }
        args.extend(self.ssh_args.iter().cloned());
        args
    }
}

/// The hosts of a run: `--on` (repeatable, or a comma-separated list), else the page's
/// `runbook: {on: ...}`: hosts and groups of the inventory, else ssh destinations; in the
/// inventory's order, each once.
pub fn targets(
    on: &[String],
    page_on: Option<&str>,
    inventory: Option<&std::path::Path>,
) -> Result<Vec<RemoteHost>> {
    let named: Vec<String> = if on.is_empty() {
        page_on.map(String::from).into_iter().collect()
    } else {
        on.to_vec()
    };
    if named.is_empty() {
        return Ok(Vec::new());
    }
    let inv = match inventory {
        Some(path) => Some(crate::inventory::Inventory::load(path).map_err(Error::Input)?),
        None => None,
    };
    let targets =
        crate::inventory::resolve(inv.as_ref(), &named).map_err(|d| Error::Input(vec![d]))?;
    Ok(targets
        .into_iter()
        .map(|t| RemoteHost {
            ssh_args: t.destination.ssh_args(),
            vars: t.from_inventory.then_some(t.vars),
            name: t.name,
        })
        .collect())
}

/// The one host `on` names (a resumed run's, or the host of a run's own journal), if any.
pub fn target(on: &[String], inventory: Option<&std::path::Path>) -> Result<Option<RemoteHost>> {
    let mut hosts = targets(on, None, inventory)?;
    if hosts.len() > 1 {
        let names: Vec<&str> = hosts.iter().map(|t| t.name.as_str()).collect();
        return Err(Error::Usage(format!(
            "--on names {} hosts ({}) where one is expected",
            names.len(),
            names.join(", ")
        )));
    }
    Ok(hosts.pop())
}

/// The shell steps run in: `--shell`, else the page's `runbook: {shell: ...}`, else bash; and
/// who chose it.
pub fn shell_choice(
    args_shell: Option<&str>,
    page_shell: Option<&str>,
) -> (String, Option<&'static str>) {
    match (args_shell, page_shell) {
        (Some(s), _) => (s.to_string(), Some("--shell")),
        (None, Some(s)) => (
            s.to_string(),
            Some("the page's front matter (runbook: {shell: ...})"),
        ),
        (None, None) => ("bash".to_string(), None),
    }
}

/// Why `shell` cannot be used here, if it cannot.
pub fn shell_missing(shell: &str, chosen_by: Option<&str>) -> Option<String> {
    (!crate::plan::on_path(shell)).then(|| {
        format!(
            "{} names the shell `{shell}`, which is not installed here (not an executable on PATH): install it, or choose another with --shell",
            chosen_by.unwrap_or("runbook")
        )
    })
}

impl RunConfig {
    /// A new run's settings. `page_shell`: the page's front-matter choice.
    /// `on`: the host resolved by [`target`] (from `--on` or the page), looked up in
    /// `inventory`.
    pub fn new(
        args: &RunArgs,
        page_shell: Option<&str>,
        on: Option<RemoteHost>,
        inventory: Option<PathBuf>,
        color: bool,
    ) -> Result<RunConfig> {
        let (shell, chosen_by) = shell_choice(args.shell.as_deref(), page_shell);
        let selection = Selection {
            sections: args.section.clone(),
            steps: args.step.clone(),
            from: args.from.clone(),
            to: args.to.clone(),
        };
        let mut cfg = Self::build(args, shell, chosen_by, selection, on, color)?;
        cfg.inventory = inventory;
        Ok(cfg)
    }

    /// A resumed run's settings: those it started with, and what the command line adds.
    pub fn resumed(args: &RunArgs, start: &RunStart, color: bool) -> Result<RunConfig> {
        let (shell, chosen_by) = match &args.shell {
            Some(s) => (s.clone(), Some("--shell")),
            None => (start.shell.clone(), Some("the run being resumed")),
        };
        let selection = Selection {
            sections: start.selection.sections.clone(),
            steps: start.selection.steps.clone(),
            from: start.selection.from.clone(),
            to: start.selection.to.clone(),
        };
        // the host the run started on (another one would not have its state)
        let inventory = args
            .inventory
            .clone()
            .or_else(|| start.inventory.as_ref().map(PathBuf::from));
        let started_on: Vec<String> = start.on.iter().cloned().collect();
        let on = target(&started_on, inventory.as_deref())?;
        let asked = target(&args.on, inventory.as_deref())?;
        if let Some(a) = &asked
            && on.as_ref().is_none_or(|o| o.name != a.name)
        {
            return Err(Error::Usage(format!(
                "this run ran on {}: it resumes there, not on {}",
                start.on.as_deref().unwrap_or("this machine"),
                a.name
            )));
        }
        let mut cfg = Self::build(args, shell, chosen_by, selection, on, color)?;
        cfg.inventory = inventory;
        if cfg.ssh_config.is_none() {
            cfg.ssh_config = start.ssh_config.as_ref().map(PathBuf::from);
        }
        cfg.lax |= start.lax;
        cfg.keep_going |= start.keep_going;
        if cfg.timeout.is_none() {
            cfg.timeout = start
                .timeout
                .filter(|t| *t > 0.0 && t.is_finite())
                .map(Duration::from_secs_f64);
        }
        Ok(cfg)
    }

    fn build(
        args: &RunArgs,
        shell: String,
        shell_chosen_by: Option<&'static str>,
        selection: Selection,
        on: Option<RemoteHost>,
        color: bool,
    ) -> Result<RunConfig> {
        let interactive = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
        if !interactive && !args.yes {
            return Err(Error::Usage(
                "runbook run asks before each step and there is no terminal to ask: pass --yes to run every step, or --dry-run to see them".into(),
            ));
        }
        // a remote host has its own shells
        if on.is_none()
            && let Some(msg) = shell_missing(&shell, shell_chosen_by)
        {
            return Err(Error::Usage(msg));
        }
        Ok(RunConfig {
            shell,
            shell_chosen_by,
            lax: args.lax,
            keep_going: args.keep_going,
            yes: args.yes,
            timeout: args.timeout,
            secret: args.secret.clone(),
            sets: crate::plan::parse_sets(&args.set).map_err(Error::Usage)?,
            runs_dir: args
                .runs_dir
                .clone()
                .unwrap_or_else(crate::journal::default_runs_dir),
            site: args.site.clone(),
            selection,
            interactive,
            color,
            verbosity: crate::commands::verbosity(),
            on,
            inventory: None,
            ssh_config: args.ssh_config.clone(),
            parallel: args.parallel.map_or(1, |n| n as usize),
            max_fail: args.max_fail.map(|n| n as usize),
            confirm: args.confirm,
        })
    }

    /// Whether a variable or placeholder of this name holds a secret.
    pub fn is_secret(&self, name: &str) -> bool {
        secrets::is_secret_name(name, &self.secret)
    }

    pub fn bash(&self) -> bool {
        super::shell::is_bash(&self.shell)
    }

    /// The command that resumes run `id` of these settings' runs folder.
    pub fn resume_command(&self, id: &str) -> String {
        let mut c = format!("runbook run --resume {id}");
        if self.runs_dir != crate::journal::default_runs_dir() {
            c.push_str(&format!(
                " --runs-dir {}",
                crate::shell::shell_quote(&self.runs_dir.to_string_lossy())
            ));
        }
        c
    }
}
