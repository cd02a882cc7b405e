//! `runbook run`: plan the selected steps, show them, and (without `--dry-run`) run them.

use super::report;
use crate::cli::RunArgs;
use crate::document::{self, Document};
use crate::error::{EXIT_INPUT, EXIT_OK, EXIT_PROBLEMS, Error, Result, Severity};
use crate::exec::config;
use crate::liquid::Mode;
use crate::plan::{self, Plan, Planned, Selection};
use crate::shell::display;
use std::fmt::Write as _;
use std::io::IsTerminal;

pub fn run(args: &RunArgs) -> Result<i32> {
    let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    if let Some(run_ref) = &args.resume {
        return crate::exec::resume(args, run_ref, color);
    }
    let page = args.page.as_deref().unwrap_or(std::path::Path::new(""));
    if page.is_dir() && !args.yes && !args.dry_run {
        return list_pages(page, &args.site);
    }
    super::require_page(page)?;
    let values = plan::parse_sets(&args.set).map_err(Error::Usage)?;
    let (site, engine) = super::open_site(page, &args.site)?;
    let inventory = crate::inventory::locate(
        args.inventory.as_deref(),
        crate::inventory::site_inventory(&site.config, &site.root).as_deref(),
        std::env::var_os(crate::inventory::INVENTORY_ENV).as_deref(),
    );
    // where the steps go (looked up once): --on, else the page's own `runbook: {on: HOST}`
    // below; an inventory host's variables are the page's `host.*`
    let mut hosts = config::targets(&args.on, None, inventory.as_deref())?;
    let (site, engine) = super::with_host(site, engine, hosts.first());
    let mode = if args.lax { Mode::Lax } else { Mode::Strict };
    let load = |engine: &crate::liquid::Engine, site: &crate::site::Site| {
        document::load(engine, site, page, mode).map_err(|diags| {
            report(&diags);
        })
    };
    let Ok(mut doc) = load(&engine, &site) else {
        return Ok(EXIT_INPUT);
    };
    // the page's own host, when --on says nothing: rendered again with its variables
    if hosts.is_empty()
        && let Some(on) = page_host(&doc)
    {
        hosts = config::targets(&[], Some(&on), inventory.as_deref())?;
        if hosts.first().is_some_and(|h| h.vars.is_some()) {
            let (site, engine) = super::with_host(site.clone(), engine.clone(), hosts.first());
            let Ok(d) = load(&engine, &site) else {
                return Ok(EXIT_INPUT);
            };
            doc = d;
        }
    }
    let mut selection = Selection {
        sections: args.section.clone(),
        steps: args.step.clone(),
        from: args.from.clone(),
        to: args.to.clone(),
    };
    // several recipes and nothing chosen: in a terminal, ask which (saying which need others,
    // for variables that neither the environment nor --set gives)
    let needs = plan::recipe_needs(&doc);
    let recipes: Vec<crate::exec::prompt::Recipe> = plan::recipes(&doc)
        .into_iter()
        .map(|(s, n)| {
            let mut by_section: Vec<(String, Vec<String>)> = Vec::new();
            for need in needs
                .iter()
                .filter(|r| r.section == s.id)
                .flat_map(|r| &r.needs)
                .filter(|i| std::env::var_os(&i.name).is_none() && !values.contains_key(&i.name))
            {
                match by_section
                    .iter_mut()
                    .find(|(sec, _)| *sec == need.set_by_section)
                {
                    Some((_, vars)) if !vars.contains(&need.name) => vars.push(need.name.clone()),
                    Some(_) => {}
                    None => by_section.push((need.set_by_section.clone(), vec![need.name.clone()])),
                }
            }
            crate::exec::prompt::Recipe {
                id: s.id.clone(),
                title: s.title.clone(),
                steps: n,
                needs: by_section,
            }
        })
        .collect();
    let terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    if selection.is_empty() && !args.dry_run && !args.yes && terminal && recipes.len() > 1 {
        selection.sections = crate::exec::prompt::Term::new(color).pick_sections(&recipes)?;
        if selection.sections.is_empty() {
            return Ok(EXIT_OK);
        }
    }
    // the page may name its shell: `runbook: {shell: zsh}`; the command line wins
    let front = |key: &str| {
        doc.page
            .front_value(&["runbook", key])
            .filter(|v| !crate::liquid::value::is_nil(v))
            .map(|v| crate::liquid::value::to_s(&v))
    };
    let page_shell = front("shell");
    let remote = !hosts.is_empty();
    // commands are looked for on this machine's PATH only when they run here
    let mut plan = plan::build(&doc, &selection, &values, !remote).map_err(Error::Usage)?;
    let (shell, chosen_by) = config::shell_choice(args.shell.as_deref(), page_shell.as_deref());
    let shell_missing = config::shell_missing(&shell, chosen_by).filter(|_| !remote);
    if plan.steps.is_empty() && (plan.manual.is_empty() || !args.dry_run) {
        report(&plan.problems);
        if plan.manual.is_empty() {
            errln!(
                "{} has no runnable steps (`runbook list` says why each code block is not)",
                doc.page.file.display_path()
            );
        } else {
            errln!(
                "the selection holds only steps done by hand: nothing for runbook to run (`--dry-run` shows them)"
            );
        }
        return Ok(EXIT_OK);
    }
    if args.dry_run {
        // a value still missing is asked for when the run starts on a terminal: not a
        // problem of the plan, unless the run is meant to go without questions (--yes)
        if !args.yes {
            for d in plan
                .problems
                .iter_mut()
                .filter(|d| d.code == "missing-value")
            {
                d.severity = Severity::Note;
                d.message = format!("{}: it is asked for at run time", d.message);
            }
        }
        if let Some(msg) = &shell_missing {
            plan.problems.push(crate::error::Diagnostic::error(
                "shell-not-found",
                msg.clone(),
            ));
        }
        // the steps that bash would refuse to parse (`bash -n`: nothing runs)
        if crate::syntax::is_bash(&shell) {
            let steps: Vec<&crate::runbook::Step> = plan.steps.iter().map(|p| &p.step).collect();
            plan.problems
                .extend(crate::syntax::diagnostics(&doc.page.file, &steps));
        }
        let shown_shell = chosen_by.map(|by| (shell.as_str(), by));
        out!(
            "{}",
            dry_run_text(&doc, &plan, &selection, shown_shell, remote, color)
        );
        // where the steps would go, as ssh would be started: nothing connects
        out!("{}", hosts_text(&hosts, args));
        report(&plan.problems);
        let errors = plan
            .problems
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count();
        if errors > 0 {
            errln!(
                "the plan has {errors} problem{}: nothing would run",
                if errors == 1 { "" } else { "s" }
            );
            return Ok(EXIT_PROBLEMS);
        }
        return Ok(EXIT_OK);
    }
    // a step would read a variable that only an unselected step sets: refused before any
    // value is asked for
    if plan.problems.iter().any(|d| d.code == "unset-input") {
        report(&plan.problems);
        errln!("nothing ran: the selection needs variables that only steps outside it set");
        return Ok(EXIT_PROBLEMS);
    }
    // the run's settings, validated once (before anything is created: the shell must exist,
    // and without a terminal --yes is needed)
    let mut args = args.clone();
    args.section = selection.sections.clone();
    if hosts.len() > 1 {
        // the same steps on each host, the page rendered with each one's `host.*`
        let cfg = config::RunConfig::new(
            &args,
            page_shell.as_deref(),
            hosts.first().cloned(),
            inventory,
            color,
        )?;
        return match crate::exec::fleet::host_plans(
            (&site, &engine),
            page,
            hosts,
            &cfg.selection,
            &values,
            mode,
        )? {
            Ok(plans) => crate::exec::fleet::run(plans, &cfg),
            Err(code) => Ok(code),
        };
    }
    let cfg = config::RunConfig::new(&args, page_shell.as_deref(), hosts.pop(), inventory, color)?;
    crate::exec::run_plan(&doc, &plan, &cfg)
}

/// The dry run's last words on where the steps would go: each host with the ssh command
/// that would reach it (nothing connects).
fn hosts_text(hosts: &[config::RemoteHost], args: &RunArgs) -> String {
    let ssh = |host: &config::RemoteHost| {
        let mut shown = vec!["ssh".to_string()];
        shown.extend(
            host.ssh_command(args.ssh_config.as_deref())
                .iter()
                .map(|a| crate::shell::shell_quote(a)),
        );
        shown.join(" ")
    };
    match hosts {
        [] => String::new(),
        [host] => format!(
            "\nThe steps would run on {} (connecting with `{}`); the dry run connects to nothing.\n",
            host.name,
            ssh(host)
        ),
        _ => {
            let parallel = args.parallel.map_or(1, |n| n as usize).min(hosts.len());
            let mut o = format!(
                "\nThe steps would run on {} hosts, {} at a time{}; the dry run connects to nothing:\n",
                hosts.len(),
                parallel,
                args.max_fail
                    .map(|m| format!(", no new host after {m} failed"))
                    .unwrap_or_default()
            );
            let width = hosts
                .iter()
                .map(|h| h.name.chars().count())
                .max()
                .unwrap_or(0);
            for h in hosts {
                o.push_str(&format!("  {:width$}  {}\n", h.name, ssh(h)));
            }
            if hosts.iter().any(|h| h.vars.is_some()) {
                o.push_str(&format!(
                    "(the commands above are {}'s: each host's page is rendered with its own host.* variables)\n",
                    hosts[0].name
                ));
            }
            o
        }
    }
}

/// The page's own host, front matter `runbook: {on: HOST}`. YAML 1.1 (Jekyll's, and
/// runbook's) reads a plain `on:` key as the boolean true: it is found under either.
fn page_host(doc: &Document) -> Option<String> {
    let runbook = doc.page.front_value(&["runbook"])?;
    [minijinja::Value::from("on"), minijinja::Value::from(true)]
        .iter()
        .find_map(|k| crate::liquid::value::lookup(&runbook, k, false))
        .filter(|v| !crate::liquid::value::is_nil(v))
        .map(|v| crate::liquid::value::to_s(&v))
}

/// The dry run: every selected step in order, resolved, nothing executed.
/// `runbook run DIR`: the pages under DIR that have steps to run, with their recipes.
fn list_pages(dir: &std::path::Path, site_args: &crate::cli::SiteArgs) -> Result<i32> {
    let mut rows = Vec::new();
    for page in super::markdown_files(dir) {
        let shown = crate::source::display_path(&page);
        let Ok((site, engine)) = super::open_site(&page, site_args) else {
            rows.push((
                shown,
                "its site config cannot be read (runbook check says why)".into(),
            ));
            continue;
        };
        match document::load(&engine, &site, &page, Mode::Lax) {
            Ok(doc) => {
                let recipes = plan::recipes(&doc);
                let steps: usize = recipes.iter().map(|(_, n)| n).sum();
                if steps == 0 {
                    continue;
                }
                let names: Vec<&str> = recipes.iter().map(|(s, _)| s.id.as_str()).collect();
                rows.push((
                    shown,
                    format!(
                        "{steps} step{} in {} section{}: {}",
                        if steps == 1 { "" } else { "s" },
                        recipes.len(),
                        if recipes.len() == 1 { "" } else { "s" },
                        names.join(", ")
                    ),
                ));
            }
            Err(_) => rows.push((shown, "cannot be read (runbook check says why)".into())),
        }
    }
    let shown_dir = crate::source::display_path(dir);
    if rows.is_empty() {
        outln!("no page under {shown_dir} has steps to run");
        return Ok(EXIT_OK);
    }
    outln!("Pages under {shown_dir} with steps to run:");
    let width = rows
        .iter()
        .map(|(p, _)| p.chars().count())
        .max()
        .unwrap_or(0);
    for (page, what) in &rows {
        outln!("  {page:width$}  {what}");
    }
    outln!("\nrunbook run PAGE runs one (--dry-run shows its commands, --section picks a recipe)");
    Ok(EXIT_OK)
}

/// `shell`: the shell the steps run in and who chose it, when not runbook's default. Before
/// the steps of a section that asks for a host (see [`plan::host_asks`]): that it does, and
/// that nothing connects unless `--on` says so (not said when `remote`: `--on` has chosen).
pub fn dry_run_text(
    doc: &Document,
    plan: &Plan,
    selection: &Selection,
    shell: Option<(&str, &str)>,
    remote: bool,
    color: bool,
) -> String {
    let (bold, dim, yellow, cyan, reset) = if color {
        ("\x1b[1m", "\x1b[2m", "\x1b[33m", "\x1b[36m", "\x1b[0m")
    } else {
        ("", "", "", "", "")
    };
    let mut o = String::new();
    let all = plan.in_order();
    let n = all.len();
    let by_hand = plan.manual.len();
    let _ = writeln!(
        o,
        "{bold}Dry run of {}{reset}: {n} step{}{}, nothing is executed",
        doc.page.file.display_path(),
        if n == 1 { "" } else { "s" },
        if by_hand > 0 {
            format!(" ({by_hand} done by hand)")
        } else {
            String::new()
        }
    );
    if let Some((shell, by)) = shell {
        let _ = writeln!(o, "{yellow}steps run in `{shell}`{reset}, chosen by {by}");
    }
    // with --on the operator has chosen the host: the page's ask is not repeated
    let asks = if remote {
        Vec::new()
    } else {
        plan::host_asks(doc, &all, selection)
    };
    let page = doc.page.file.display_path();
    let mut section = None;
    // told once, before the first section that asks for it, with the others that ask for it
    // there (the sections nested in it, those an introduction speaks for)
    let mut told: Vec<&crate::runbook::AsksHost> = Vec::new();
    for (k, p) in all.iter().enumerate() {
        if section != Some(&p.section_id) {
            section = Some(&p.section_id);
            let _ = writeln!(
                o,
                "\n{bold}## {}{reset}  {dim}#{}{reset}",
                display(&p.section_title),
                p.section_id
            );
            let ask = doc
                .runbook
                .section(&p.section_id)
                .and_then(|s| s.asks_host.as_ref());
            if let Some(a) = ask
                && !told.contains(&a)
                && let Some(h) = asks.iter().find(|h| h.host == a.host)
            {
                for line in h.notice(&page, Some(a)) {
                    let _ = writeln!(o, "  {yellow}{line}{reset}");
                }
                told.push(a);
            }
        }
        if p.is_manual() {
            manual_step_text(&mut o, doc, p, (k + 1, n), color);
            continue;
        }
        let _ = writeln!(
            o,
            "\n{bold}[{}/{n}] {}{reset}  {dim}{}:{}{reset}",
            k + 1,
            p.step.id,
            doc.page.file.display_path(),
            p.step.lines.0
        );
        if !p.step.prose.is_empty() {
            let _ = writeln!(o, "{dim}{}{reset}", display(&p.step.prose));
        }
        // control characters shown as escapes: what is on the screen is what would run
        for line in display(p.command.trim_end_matches('\n')).split('\n') {
            let mut shown = line.to_string();
            if color {
                for m in &p.missing {
                    shown = shown.replace(
                        &format!("<{}>", m.name),
                        &format!("{yellow}<{}>{reset}{cyan}", m.name),
                    );
                }
            }
            let _ = writeln!(o, "    {cyan}{shown}{reset}");
        }
        for m in &p.missing {
            let _ = writeln!(
                o,
                "  {yellow}needs a value:{reset} <{}>  (--set '{}=VALUE'){}",
                m.name,
                m.set_name,
                m.hint
                    .as_ref()
                    .map(|h| format!("  hint: {h}"))
                    .unwrap_or_default()
            );
        }
        run_time_notes(&mut o, p, color);
    }
    o
}

/// A manual step in the dry run: marked as done by hand, its text, and the command it can
/// run on the operator's request, with the values that would be asked for then.
fn manual_step_text(
    o: &mut String,
    doc: &Document,
    p: &Planned,
    (k, n): (usize, usize),
    color: bool,
) {
    let (bold, dim, yellow, cyan, reset) = if color {
        ("\x1b[1m", "\x1b[2m", "\x1b[33m", "\x1b[36m", "\x1b[0m")
    } else {
        ("", "", "", "", "")
    };
    let _ = writeln!(
        o,
        "\n{bold}[{k}/{n}] {}{reset}  {yellow}by hand{reset}  {dim}{}:{}{reset}",
        p.step.id,
        doc.page.file.display_path(),
        p.step.lines.0
    );
    let _ = writeln!(o, "  {yellow}do by hand:{reset} {}", display(p.text()));
    if let Some(command) = p.inline_command() {
        let _ = writeln!(
            o,
            "  {dim}on request it runs:{reset} {cyan}{}{reset}",
            display(command)
        );
        for m in &p.missing {
            let _ = writeln!(
                o,
                "  {dim}asked if run:{reset} <{}>  (--set '{}=VALUE'){}",
                m.name,
                m.set_name,
                m.hint
                    .as_ref()
                    .map(|h| format!("  hint: {h}"))
                    .unwrap_or_default()
            );
        }
        run_time_notes(o, p, color);
    }
}

/// What a step's command can know only at run time, and where its inputs come from.
fn run_time_notes(o: &mut String, p: &Planned, color: bool) {
    let (dim, yellow, reset) = if color {
        ("\x1b[2m", "\x1b[33m", "\x1b[0m")
    } else {
        ("", "", "")
    };
    for i in &p.inputs {
        let setter = if i.loaded {
            format!("may be set by the environment step {} loads", i.set_by)
        } else {
            format!("is set by step {}", i.set_by)
        };
        match i.value {
            None => {
                let _ = writeln!(
                    o,
                    "  {yellow}not set:{reset} ${} {setter}, which is not selected  (--set '{}=VALUE')",
                    i.name, i.name
                );
            }
            Some(from) => {
                let from = match from {
                    plan::InputValue::Set => "--set",
                    plan::InputValue::Environment => "the environment",
                };
                let _ = writeln!(
                    o,
                    "  {dim}input:{reset} ${} from {from} (it {setter}, which is not selected)",
                    i.name
                );
            }
        }
    }
    for (var, by) in &p.set_by_earlier {
        let _ = writeln!(o, "  {dim}at run time:{reset} ${var} is set by step {by}");
    }
    if !p.runtime_env_from.is_empty() {
        let one = p.runtime_env_from.len() == 1;
        let _ = writeln!(
            o,
            "  {dim}at run time:{reset} the environment that step{} {} load{} (eval/source) is known only when {} run{}",
            if one { "" } else { "s" },
            p.runtime_env_from.join(", "),
            if one { "s" } else { "" },
            if one { "it" } else { "they" },
            if one { "s" } else { "" },
        );
    }
}
