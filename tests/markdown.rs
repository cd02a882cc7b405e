//! The runbook model on Markdown shapes pages use: what becomes a step, its prose, its
//! language, its lines, and what stays out.

use crate::test::Test;

const PAGE: &str = r#"---
title: Shapes
---
# Setup {#custom-setup}

1. Log in:

       ssh host

2. Nested:
   - then run

     ```bash
     echo nested
     ```

> Quoted:
>
> ```
> uptime
> ```
> {: .language-bash}

<!--
```bash
rm -rf /
```
-->

## Transcript

```console
$ ls /tmp
a b
$ echo done \
>   twice
done twice
```

## Not commands

```yaml
key: value
```

```
Just some text that is prose.
```

```bash {runbook=skip}
echo not this one
```
"#;

fn model() -> serde_json::Value {
    let out = Test::new()
        .site("x: 1\n")
        .page(PAGE)
        .args(&["list", "--json", "page.md"])
        .run();
    serde_json::from_str(&out.stdout).unwrap()
}

fn steps(v: &serde_json::Value) -> Vec<serde_json::Value> {
    v["sections"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|s| s["steps"].as_array().unwrap().clone())
        .collect()
}

#[test]
fn sections_and_steps_of_every_shape() {
    let v = model();
    let ids: Vec<&str> = v["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["custom-setup", "transcript", "not-commands"]);
    let st = steps(&v);
    let summary: Vec<(String, bool, String)> = st
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap().to_string(),
                s["runnable"].as_bool().unwrap(),
                s["code"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            ("custom-setup-1".to_string(), true, "ssh host\n".to_string()),
            (
                "custom-setup-2".to_string(),
                true,
                "echo nested\n".to_string()
            ),
            ("custom-setup-3".to_string(), true, "uptime\n".to_string()),
            (
                "transcript-1".to_string(),
                true,
                "ls /tmp\necho done \\\n  twice\n".to_string()
            ),
            (
                "not-commands-1".to_string(),
                false,
                "key: value\n".to_string()
            ),
            (
                "not-commands-2".to_string(),
                false,
                "Just some text that is prose.\n".to_string()
            ),
            (
                "not-commands-3".to_string(),
                false,
                "echo not this one\n".to_string()
            ),
        ]
    );
    // nothing from the HTML comment
    assert!(
        !st.iter()
            .any(|s| s["code"].as_str().unwrap().contains("rm -rf"))
    );
}

#[test]
fn prose_language_and_source_lines() {
    let st = steps(&model());
    assert_eq!(st[0]["prose"], "Log in:");
    assert_eq!(st[1]["prose"], "then run");
    assert_eq!(st[2]["lang"], "bash", "from the {{: .language-bash}} line");
    assert_eq!(st[3]["lang"], "console");
    // lines are in the file, front matter included
    let lines: Vec<&str> = PAGE.lines().collect();
    let first = st[0]["lines"][0].as_u64().unwrap() as usize;
    assert_eq!(lines[first - 1].trim(), "ssh host");
    let nested = st[1]["lines"][0].as_u64().unwrap() as usize;
    assert_eq!(lines[nested - 1].trim(), "```bash");
}

/// Lists that mix commands with things a person does.
const MANUAL: &str = r#"---
title: Manual steps
---
# Restart

Read first:

- [the design](https://example.org/design)
- [the runbook index](https://example.org)

1. Log in to `gateway.example.org`.
2. Stop the service:

   ```bash
   systemctl stop example
   ```

3. Check the file `/etc/example/foo.conf` by eye.
4. Start it again with `systemctl start example`.
5. Tell the on-call:
   - in the chat
   - by mail:

     ```bash
     mail -s done <on-call address>
     ```
6. Remove the host `<host>` from the pager with `pager-cli remove <host>`.

```yaml
just: data
```

- A list whose block does not run

  ```yaml
  not: run
  ```
"#;

fn manual_model() -> serde_json::Value {
    let out = Test::new()
        .site("x: 1\n")
        .page(MANUAL)
        .args(&["list", "--json", "page.md"])
        .run();
    serde_json::from_str(&out.stdout).unwrap()
}

#[test]
fn manual_steps_are_list_items_beside_runnable_blocks() {
    let st = steps(&manual_model());
    let summary: Vec<(&str, &str, &str, &str)> = st
        .iter()
        .map(|s| {
            (
                s["id"].as_str().unwrap(),
                s["kind"].as_str().unwrap(),
                s["prose"].as_str().unwrap(),
                s["code"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            // a code span that is not a command: no inline command
            ("restart-m1", "manual", "Log in to gateway.example.org.", ""),
            (
                "restart-1",
                "code",
                "Stop the service:",
                "systemctl stop example\n"
            ),
            (
                "restart-m2",
                "manual",
                "Check the file /etc/example/foo.conf by eye.",
                ""
            ),
            // run by another step of the page
            (
                "restart-m3",
                "manual",
                "Start it again with systemctl start example.",
                "systemctl start example"
            ),
            // a nested list is a list of its own; the item that holds it holds code
            ("restart-m4", "manual", "in the chat", ""),
            (
                "restart-2",
                "code",
                "by mail:",
                "mail -s done <on-call address>\n"
            ),
            // the first span that is a command; `<host>` alone is not one
            (
                "restart-m5",
                "manual",
                "Remove the host <host> from the pager with pager-cli remove <host>.",
                "pager-cli remove <host>"
            ),
            // a code step's prose is the text before it, an item's included
            (
                "restart-3",
                "code",
                "Remove the host <host> from the pager with pager-cli remove <host>.",
                "just: data\n"
            ),
            (
                "restart-4",
                "code",
                "A list whose block does not run",
                "not: run\n"
            ),
        ]
    );
    let index: Vec<u64> = st.iter().map(|s| s["index"].as_u64().unwrap()).collect();
    assert_eq!(index, (0..st.len() as u64).collect::<Vec<_>>());
    // manual steps are never runnable; their lines are the item's, in the file
    let lines: Vec<&str> = MANUAL.lines().collect();
    for s in st.iter().filter(|s| s["kind"] == "manual") {
        assert_eq!(s["runnable"], false);
        assert!(s["lang"].is_null());
        let first = s["lines"][0].as_u64().unwrap() as usize;
        assert!(
            lines[first - 1].contains(s["prose"].as_str().unwrap().split(' ').next().unwrap()),
            "{s}"
        );
    }
    let start = &st[3];
    assert_eq!(start["inline"]["because"], "page");
    assert_eq!(start["inline"]["line"], 19);
    assert_eq!(start["inline"]["column"], 25);
    let pager = &st[6];
    assert_eq!(pager["inline"]["because"], "placeholder");
    assert_eq!(pager["placeholders"][0]["name"], "host");
    assert_eq!(pager["placeholders"][0]["line"], 27);
    assert_eq!(pager["placeholders"][0]["column"], 67);
    assert!(st[0]["inline"].is_null());
}

#[test]
fn list_shows_manual_steps_in_page_order() {
    let out = Test::new()
        .site("x: 1\n")
        .page(MANUAL)
        .args(&["list", "page.md"])
        .run();
    let s = &out.stdout;
    assert!(
        s.contains("1 sections, 4 steps (2 runnable), 5 by hand"),
        "{s}"
    );
    assert!(
        s.contains("#restart line 4, 4 steps (2 runnable), 5 by hand"),
        "{s}"
    );
    let lines: Vec<&str> = s.lines().filter(|l| l.starts_with("  ")).collect();
    assert_eq!(
        lines[0],
        "  hand restart-m1  -:11  Log in to gateway.example.org."
    );
    assert!(lines[1].starts_with("  run  restart-1  bash:14"), "{s}");
    assert_eq!(lines[4], "        command: systemctl start example", "{s}");
    assert!(
        s.contains("        command: pager-cli remove <host>\n        <host> line 27:67\n"),
        "{s}"
    );
}
