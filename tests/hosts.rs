//! The host a recipe asks to be run on ("Login to `aiadm.cern.ch`"): which phrasings the
//! model reads as one and which plain English it leaves alone, how nested sections inherit
//! it, and what `list`, the dry run and the run say about it. The pages are written here.

use crate::test::{Test, seed_page};
use serde_json::Value;

/// `list --json` of `page` (with a small site): each section's id and `asks_host`.
fn asks(page: &str) -> Vec<(String, Value)> {
    let out = Test::new()
        .site("admin: ops.example.org\n")
        .page(page)
        .args(&["list", "--json", "page.md"])
        .run();
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    v["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_string(),
                s["asks_host"].clone(),
            )
        })
        .collect()
}

/// The host the section `id` of `page` asks for.
fn host_of(page: &str, id: &str) -> Option<String> {
    let all = asks(page);
    let (_, a) = all
        .iter()
        .find(|(s, _)| s == id)
        .unwrap_or_else(|| panic!("no section {id} in {all:?}"));
    a["host"].as_str().map(str::to_string)
}

/// A recipe whose text before its step is `text`, written as a paragraph.
fn in_prose(text: &str) -> String {
    format!("# Recipe\n\n{text}\n\n```bash\nuptime\n```\n")
}

/// A recipe whose first item, a step done by hand, is `text`.
fn in_item(text: &str) -> String {
    format!("# Recipe\n\n- {text}\n- Then:\n\n  ```bash\n  uptime\n  ```\n")
}

#[test]
fn every_recipe_of_the_seed_page_that_starts_on_aiadm_asks_for_it() {
    let page = seed_page();
    let out = Test::new()
        .args(&["list", "--json", page.to_str().unwrap()])
        .run();
    let v: Value = serde_json::from_str(&out.stdout).unwrap();
    let by_id = |id: &str| {
        v["sections"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id)
            .unwrap()["asks_host"]
            .clone()
    };
    // each begins with the manual step "Login to `aiadm.cern.ch`."
    for (id, line) in [
        ("creating-a-master", 77),
        ("creating-a-slave", 105),
        ("deleting-a-slave", 148),
    ] {
        assert_eq!(
            by_id(id),
            serde_json::json!({"host": "aiadm.cern.ch", "line": line, "column": 13}),
            "{id}"
        );
    }
    // "you need to go to CERN OpenStack administration machines: `aiadm.cern.ch`" is not
    // one of the phrasings; the reboot recipe names no host
    assert_eq!(by_id("setting-up-the-openstack-environment"), Value::Null);
    assert_eq!(by_id("rebooting-a-slave"), Value::Null);
    assert_eq!(by_id("cluster-architecture-description"), Value::Null);
    // the asking item stays a step done by hand
    let steps = &v["sections"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == "creating-a-master")
        .unwrap()["steps"];
    assert_eq!(steps[0]["id"], "creating-a-master-m1");
    assert_eq!(steps[0]["kind"], "manual");
    assert_eq!(steps[0]["runnable"], false);
    // and the text listing says it on the section's line
    Test::new()
        .args(&["list", page.to_str().unwrap()])
        .stdout_contains(
            "### Creating a master  #creating-a-master line 71, 2 steps (2 runnable), 1 by hand, asks to run on aiadm.cern.ch (line 77)\n",
        )
        .stdout_contains(
            "### Rebooting a slave  #rebooting-a-slave line 155, 1 step (1 runnable)\n",
        )
        .run();
}

#[test]
fn each_phrasing_asks_for_its_host_in_prose_and_in_a_step_done_by_hand() {
    for (text, host) in [
        ("Login to `aiadm.cern.ch`.", "aiadm.cern.ch"),
        ("Log in to `gate.example.net` first.", "gate.example.net"),
        (
            "log into build3.example.org and go on.",
            "build3.example.org",
        ),
        ("ssh to `jump.example.net`.", "jump.example.net"),
        ("ssh `head01`, then:", "head01"),
        ("On `db2.example.org`, run:", "db2.example.org"),
        ("Run this on the `store7` host:", "store7"),
        ("Connect to `vm12.example.org` and run:", "vm12.example.org"),
        ("From `aiadm.cern.ch`:", "aiadm.cern.ch"),
        ("Run the following on lab4.example.org:", "lab4.example.org"),
        ("You must be on `10.20.0.7` for this.", "10.20.0.7"),
    ] {
        assert_eq!(
            host_of(&in_prose(text), "recipe").as_deref(),
            Some(host),
            "in prose: {text}"
        );
        assert_eq!(
            host_of(&in_item(text), "recipe").as_deref(),
            Some(host),
            "in an item: {text}"
        );
    }
}

#[test]
fn an_inline_ssh_command_asks_for_its_host_as_a_step_of_the_recipe() {
    for (text, host) in [
        ("`ssh deploy.example.org`", "deploy.example.org"),
        ("`ssh ops@deploy.example.org`", "deploy.example.org"),
        ("Open a shell there: `ssh -A ops@bastion`", "bastion"),
    ] {
        assert_eq!(
            host_of(&in_item(text), "recipe").as_deref(),
            Some(host),
            "{text}"
        );
    }
    // in a paragraph it is an aside ("then run `ssh nodename` to look"), and a remote
    // command or a tunnel is not where the recipe runs
    for page in [
        in_prose("To look around, run `ssh deploy.example.org`."),
        in_item("`ssh deploy.example.org uptime`"),
        in_item("`ssh -L 8080:localhost:80 deploy.example.org`"),
    ] {
        assert_eq!(host_of(&page, "recipe"), None, "{page}");
    }
}

#[test]
fn plain_english_asks_for_no_host() {
    for text in [
        "Run the following on success:",
        "From now on, every command is logged:",
        "The options are explained on the next page.",
        "Run this on your laptop:",
        "Run this on this machine:",
        "Run it locally:",
        "Log in to the machine:",
        "Login to admin and run:", // a bare name outside backticks
        "Click on `Save`, then:",
        "The scheduler runs on `sched.example.org`.", // says where it runs, asks nothing
        "Run the tests on `main`:",                   // a branch
        "Run it on `deploy.sh`:",                     // a file
        "Do not log in to `prod.example.org` for this:",
        "Check that you can ssh to `gw.example.org`:",
        "Log in to the `portal.example.org` web interface:",
        "Log in to github.com and create a token:",
        "Connect to `pg.example.org:5432`:",
        "ssh to `localhost`:",
        "<!-- Login to `aiadm.cern.ch` -->",
    ] {
        assert_eq!(host_of(&in_prose(text), "recipe"), None, "in prose: {text}");
        assert_eq!(
            host_of(&in_item(text), "recipe"),
            None,
            "in an item: {text}"
        );
    }
    // a name the page links to is a web site
    let page = in_item("Log in to `wiki.example.org` (see <https://wiki.example.org/runbooks>)");
    assert_eq!(host_of(&page, "recipe"), None);
}

#[test]
fn a_placeholder_is_a_host_the_reader_chooses() {
    for (text, host) in [
        ("Login to <slave>", "<slave>"),
        ("Log in to <slave name>.", "<slave name>"),
        ("ssh to `<hostXX>`", "<hostXX>"),
        ("Log in to `<node>.example.org`", "<node>.example.org"),
        ("`ssh root@<hostXX>`", "<hostXX>"),
    ] {
        assert_eq!(
            host_of(&in_item(text), "recipe").as_deref(),
            Some(host),
            "{text}"
        );
    }
    // the dry run names it, and leaves --on to the operator
    Test::new()
        .site("x: 1\n")
        .page(&in_item("Login to <slave>"))
        .args(&["run", "page.md", "--dry-run"])
        .stdout_contains(
            "  the page asks to run this section on <slave>, a host it leaves to you (page.md:3)\n  nothing connects unless --on says so: runbook run page.md --on HOST (HOST for <slave>)\n",
        )
        .run();
}

const NESTED: &str = "# Maintenance

Log in to `ops.example.org` before anything below.

## Rotate logs

```bash
echo rotate
```

> ## Exercise
>
> ```bash
> echo exercise
> ```

### Check disk

```bash
echo disk
```

## Vacuum

- ssh to `pg1.example.org`
- Vacuum:

  ```bash
  echo vacuum
  ```

### Analyse

```bash
echo analyse
```

## Hop

ssh to `gw.example.org`, then ssh to `inner.example.org`.

```bash
echo hop
```

### After the hop

```bash
echo after
```

# Local

```bash
echo local
```
";

#[test]
fn subsections_inherit_the_host_unless_they_say_otherwise() {
    let all = asks(NESTED);
    let host = |id: &str| {
        let (_, a) = all.iter().find(|(s, _)| s == id).unwrap();
        a["host"]
            .as_str()
            .map(|h| (h.to_string(), a["line"].as_u64().unwrap()))
    };
    let ops = Some(("ops.example.org".to_string(), 3));
    assert_eq!(host("maintenance"), ops);
    assert_eq!(host("rotate-logs"), ops);
    assert_eq!(host("exercise"), ops, "a callout is in its section");
    assert_eq!(host("check-disk"), ops);
    let pg = Some(("pg1.example.org".to_string(), 25));
    assert_eq!(host("vacuum"), pg);
    assert_eq!(host("analyse"), pg);
    // two different hosts: none, and none for what is nested in it
    assert_eq!(host("hop"), None);
    assert_eq!(host("after-the-hop"), None);
    // another top-level section: the first one's host is not its
    assert_eq!(host("local"), None);
}

#[test]
fn an_introduction_speaks_for_every_recipe() {
    let page = "---
title: Farm
---
Every recipe below runs from `aiadm.cern.ch`.

## Create

```bash
echo create
```

## Delete

- ssh to `other.example.org`
- Delete:

  ```bash
  echo delete
  ```
";
    assert_eq!(host_of(page, "create").as_deref(), Some("aiadm.cern.ch"));
    assert_eq!(
        host_of(page, "delete").as_deref(),
        Some("other.example.org")
    );
    // the line is the page's, front matter included
    let all = asks(page);
    assert_eq!(all[0].1["line"], 4);
    assert_eq!(all[0].1["column"], 31);
}

#[test]
fn a_host_written_by_liquid_is_located_in_the_page() {
    let page =
        "# Recipe\n\n- Login to `{{ site.admin }}`.\n- Then:\n\n  ```bash\n  uptime\n  ```\n";
    let all = asks(page);
    assert_eq!(
        all[0].1,
        serde_json::json!({"host": "ops.example.org", "line": 3, "column": 13})
    );
}

#[test]
fn list_says_it_on_the_section_line_and_json_null_when_nothing_is_asked() {
    Test::new()
        .site("x: 1\n")
        .page(NESTED)
        .args(&["list", "page.md"])
        .stdout_contains(
            "## Rotate logs  #rotate-logs line 5, 1 step (1 runnable), asks to run on ops.example.org (line 3)\n",
        )
        .stdout_contains("# Local  #local line 52, 1 step (1 runnable)\n")
        .run();
    let all = asks(NESTED);
    let local = &all.iter().find(|(s, _)| s == "local").unwrap().1;
    assert!(local.is_null(), "{local}");
}

/// `run --dry-run` of the seed page (in its fixture site) with these extra arguments.
fn seed_dry_run(extra: &[&str]) -> Test {
    let page = seed_page();
    let mut args = vec!["run", page.to_str().unwrap(), "--dry-run", "--lax"];
    args.extend_from_slice(extra);
    Test::new().args(&args)
}

#[test]
fn the_dry_run_says_where_the_page_asks_to_run_before_the_steps() {
    let page = seed_page();
    let shown = page.to_str().unwrap();
    let out = seed_dry_run(&[
        "--section",
        "creating-a-master",
        "--set",
        "alimesosXX=m",
        "--set",
        "X=a",
    ])
    .run();
    let notice = format!(
        "## Creating a master  #creating-a-master\n  the page asks to run this section on aiadm.cern.ch ({shown}:77)\n  nothing connects unless --on says so: runbook run {shown} --section creating-a-master --on aiadm.cern.ch\n\n[1/3] creating-a-master-m1  by hand"
    );
    assert!(out.stdout.contains(&notice), "{}", out.stdout);
    // the selection is given back as it was written
    seed_dry_run(&["--step", "creating-a-slave-2"])
        .stdout_contains(&format!(
            "nothing connects unless --on says so: runbook run {shown} --step creating-a-slave-2 --on aiadm.cern.ch\n"
        ))
        .run();
    // the whole page: the recipes that ask for it, by name
    let out = seed_dry_run(&[]).run();
    let command = format!(
        "nothing connects unless --on says so: runbook run {shown} --section creating-a-master --section creating-a-slave --section deleting-a-slave --on aiadm.cern.ch\n"
    );
    assert_eq!(out.stdout.matches(&command).count(), 3, "{}", out.stdout);
    // before the recipe that asks nothing, nothing is said
    let reboot = out.stdout.find("## Rebooting a slave").unwrap();
    assert!(
        !out.stdout[reboot..].contains("asks to run"),
        "{}",
        out.stdout
    );
    // a span that crosses recipes asking for different things cannot be given back whole
    seed_dry_run(&[
        "--from",
        "setting-up-the-openstack-environment-1",
        "--to",
        "creating-a-master-m1",
    ])
    .stdout_contains(
        "nothing connects unless --on says so: add --on aiadm.cern.ch to a run of these steps\n",
    )
    .run();
}

#[test]
fn nested_sections_that_ask_the_same_are_told_once() {
    let out = Test::new()
        .site("x: 1\n")
        .page(NESTED)
        .args(&["run", "page.md", "--dry-run", "--section", "maintenance"])
        .run();
    assert_eq!(
        out.stdout
            .matches("the page asks to run #rotate-logs, #exercise, #check-disk on ops.example.org (page.md:3)\n")
            .count(),
        1,
        "{}",
        out.stdout
    );
    // the sections asking for one host are given back without those asking for none
    assert!(
        out.stdout.contains(
            "  nothing connects unless --on says so: runbook run page.md --section rotate-logs --on ops.example.org\n"
        ),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains(
            "## Vacuum  #vacuum\n  the page asks to run #vacuum, #analyse on pg1.example.org (page.md:25)\n  nothing connects unless --on says so: runbook run page.md --section vacuum --on pg1.example.org\n"
        ),
        "{}",
        out.stdout
    );
    // the hop asks for two hosts: nothing is said
    assert!(out.stdout.contains("## Hop  #hop\n\n["), "{}", out.stdout);
}

#[test]
fn a_dry_run_of_a_page_that_asks_nothing_is_as_before() {
    let page = "# Build

Run the following on success:

```bash
make
```

## Test

From now on, run:

```bash
make test
```
";
    Test::new()
        .site("x: 1\n")
        .page(page)
        .args(&["run", "page.md", "--dry-run"])
        .stdout(
            "Dry run of page.md: 2 steps, nothing is executed

## Build  #build

[1/2] build-1  page.md:5
Run the following on success:
    make

## Test  #test

[2/2] test-1  page.md:13
From now on, run:
    make test
",
        )
        .run();
}

#[test]
fn a_run_says_it_once_at_the_start_and_runs_here() {
    let page = "# Tidy

1. Login to `build7.example.org`.
2. Clean up:

   ```bash
   echo cleaned here
   ```

## Check

```bash
echo checked here
```
";
    let out = Test::new()
        .site("x: 1\n")
        .page(page)
        .args(&["run", "page.md", "--yes"])
        .stdout_contains("cleaned here\n")
        .stdout_contains("checked here\n")
        .run();
    let notice = "the page asks to run every section on build7.example.org (page.md:3)\nnothing connects unless --on says so: runbook run page.md --on build7.example.org\n";
    assert_eq!(out.stderr.matches(notice).count(), 1, "{}", out.stderr);
    // before the first step
    assert!(
        out.stderr.find(notice).unwrap() < out.stderr.find("[2/3]").unwrap(),
        "{}",
        out.stderr
    );
    // -q leaves it out; a page that asks nothing has nothing to say
    let out = Test::new()
        .site("x: 1\n")
        .page(page)
        .args(&["run", "page.md", "--yes", "-q"])
        .run();
    assert!(!out.stderr.contains("asks to run"), "{}", out.stderr);
    Test::new()
        .site("x: 1\n")
        .page("# Here\n\n```bash\necho hi\n```\n")
        .args(&["run", "page.md", "--yes"])
        .stderr_lacks("asks to run")
        .stderr_lacks("--on")
        .run();
}
