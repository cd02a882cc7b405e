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
