//! `runbook lsp` spoken to as an editor does: JSON-RPC with Content-Length framing on the
//! server's stdin/stdout, every wait bounded.

use crate::test::{Test, runbook_in};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Stdio};
use std::sync::mpsc::{Receiver, channel};
use std::time::{Duration, Instant};

const WAIT: Duration = Duration::from_secs(20);

struct Server {
    child: Child,
    stdin: Option<ChildStdin>,
    rx: Receiver<Value>,
    /// Notifications read while waiting for something else.
    pending: Vec<Value>,
    next_id: i64,
    pub init: Value,
}

fn frame(msg: &Value) -> Vec<u8> {
    let body = serde_json::to_vec(msg).unwrap();
    let mut out = format!("Content-Length: {}\r\n\r\n", body.len()).into_bytes();
    out.extend(body);
    out
}

pub fn uri(path: &Path) -> String {
    let mut s = String::from("file://");
    for b in path.to_str().unwrap().bytes() {
        if b.is_ascii_alphanumeric() || b"/-._~".contains(&b) {
            s.push(b as char);
        } else {
            s.push_str(&format!("%{b:02X}"));
        }
    }
    s
}

impl Server {
    /// `runbook lsp` in `dir`, initialized with `dir` as the workspace root.
    fn start(dir: &Path) -> Server {
        let mut child = runbook_in(dir, &["lsp"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("runbook lsp starts");
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            loop {
                let mut len = None;
                loop {
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    let line = line.trim_end();
                    if line.is_empty() {
                        break;
                    }
                    if let Some(v) = line.strip_prefix("Content-Length: ") {
                        len = v.parse::<usize>().ok();
                    }
                }
                let mut body = vec![0; len.expect("a Content-Length header")];
                if r.read_exact(&mut body).is_err() {
                    return;
                }
                if tx.send(serde_json::from_slice(&body).unwrap()).is_err() {
                    return;
                }
            }
        });
        let stdin = child.stdin.take();
        let mut s = Server {
            child,
            stdin,
            rx,
            pending: Vec::new(),
            next_id: 1,
            init: Value::Null,
        };
        s.init = s.request(
            "initialize",
            json!({"processId": null, "rootUri": uri(dir), "capabilities": {}}),
        );
        s.notify("initialized", json!({}));
        s
    }

    fn send(&mut self, msg: Value) {
        let stdin = self.stdin.as_mut().expect("stdin open");
        stdin.write_all(&frame(&msg)).unwrap();
        stdin.flush().unwrap();
    }

    fn notify(&mut self, method: &str, params: Value) {
        self.send(json!({"jsonrpc": "2.0", "method": method, "params": params}));
    }

    /// The whole response (result or error) to a request.
    fn call(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}));
        let deadline = Instant::now() + WAIT;
        loop {
            let msg = self
                .recv(deadline)
                .unwrap_or_else(|| panic!("no answer to {method}"));
            if msg.get("id") == Some(&json!(id)) && msg.get("method").is_none() {
                return msg;
            }
            self.pending.push(msg);
        }
    }

    fn request(&mut self, method: &str, params: Value) -> Value {
        let resp = self.call(method, params);
        assert!(resp.get("error").is_none(), "{method}: {resp}");
        resp["result"].clone()
    }

    fn recv(&mut self, deadline: Instant) -> Option<Value> {
        let left = deadline.saturating_duration_since(Instant::now());
        self.rx.recv_timeout(left).ok()
    }

    /// The next diagnostics published for `uri` that satisfy `ok` (earlier ones are skipped).
    fn diagnostics_until(&mut self, uri: &str, ok: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = Instant::now() + WAIT;
        let mut last = None;
        loop {
            let msg = if self.pending.is_empty() {
                self.recv(deadline)
            } else {
                Some(self.pending.remove(0))
            };
            let Some(msg) = msg else {
                panic!("no matching diagnostics for {uri}; last: {last:?}");
            };
            if msg["method"] == "textDocument/publishDiagnostics" && msg["params"]["uri"] == uri {
                let d = msg["params"]["diagnostics"].as_array().unwrap().clone();
                if ok(&d) {
                    return d;
                }
                last = Some(d);
            }
        }
    }

    fn open(&mut self, path: &Path) -> String {
        let u = uri(path);
        let text = std::fs::read_to_string(path).unwrap();
        self.notify(
            "textDocument/didOpen",
            json!({"textDocument": {"uri": u, "languageId": "markdown", "version": 1, "text": text}}),
        );
        u
    }

    fn change(&mut self, uri: &str, version: i32, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({"textDocument": {"uri": uri, "version": version},
                   "contentChanges": [{"text": text}]}),
        );
    }

    fn at(&mut self, method: &str, uri: &str, line: u32, character: u32) -> Value {
        self.request(
            method,
            json!({"textDocument": {"uri": uri}, "position": {"line": line, "character": character}}),
        )
    }

    /// `shutdown`, `exit`: the exit status.
    fn stop(mut self) -> i32 {
        let r = self.call("shutdown", Value::Null);
        assert_eq!(r["result"], Value::Null, "{r}");
        self.notify("exit", Value::Null);
        self.wait()
    }

    fn wait(mut self) -> i32 {
        drop(self.stdin.take());
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                return s.code().unwrap_or(-1);
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("runbook lsp did not exit");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

const CONFIG: &str = "\
title: Ops
builduser: alibuild
cluster:
  name: mesos
  zone: geneva
";

/// A page with a malformed tag (line 9), an undefined variable (line 11), a step with a
/// placeholder and its hint, an include, and non-ASCII text before a variable (line 13).
const PAGE: &str = "---
title: Builders
owner: ops
---

# Set up

Log in as {{ site.builduser }} in {{ site.cluster.zone }}.

    eval $({{site.builduser Release}})

Unknown: {{ site.missing }}

é😀 {{ site.builduser }} {{ page.owner }} {{ site.data.hosts.master }}

## Create

```bash
MACHINE=<{{ site.builduser }}XX> # pick a free number
echo \"$MACHINE\"
```

{% include note.md %}
";

fn site() -> Test {
    Test::new()
        .file("_config.yml", CONFIG)
        .file(
            "_data/hosts.yml",
            "# hosts\nmaster: aiadm.cern.ch\nslaves: 3\n",
        )
        .file("_includes/note.md", "A note.\n")
        .file("_includes/warn/big.md", "Careful.\n")
        .file("page.md", PAGE)
        .file(
            "other.md",
            "---\ntitle: Other\nreviewed_by: ana\n---\n\nText.\n",
        )
}

fn codes(d: &[Value]) -> Vec<String> {
    d.iter()
        .map(|x| {
            format!(
                "{}@{}:{}",
                x["code"].as_str().unwrap_or(""),
                x["range"]["start"]["line"],
                x["range"]["start"]["character"]
            )
        })
        .collect()
}

fn line_of(text: &str, needle: &str) -> u32 {
    text.lines().position(|l| l.contains(needle)).unwrap() as u32
}

#[test]
fn capabilities_suit_neovim_0_7() {
    let t = site();
    let s = Server::start(t.path());
    let caps = &s.init["capabilities"];
    // a plain number: Neovim 0.7 sends didOpen/didChange only then (or with openClose: true)
    assert_eq!(caps["textDocumentSync"], json!(1), "{caps}");
    assert_eq!(caps["hoverProvider"], json!(true));
    assert_eq!(caps["definitionProvider"], json!(true));
    assert_eq!(caps["documentSymbolProvider"], json!(true));
    assert_eq!(
        caps["completionProvider"]["triggerCharacters"],
        json!([".", " "])
    );
    assert_eq!(s.init["serverInfo"]["name"], "runbook");
    assert_eq!(s.stop(), 0);
}

#[test]
fn diagnostics_are_checks_on_the_buffer() {
    let t = site();
    let page = t.path().join("page.md");
    let mut s = Server::start(t.path());
    let u = s.open(&page);
    let d = s.diagnostics_until(&u, |d| !d.is_empty());
    // the same problems as `runbook check`, at the same places (0-based lines, UTF-16 columns)
    let out = runbook_in(t.path(), &["check", "page.md", "--json"])
        .output()
        .unwrap();
    let check: Value = serde_json::from_slice(&out.stdout).unwrap();
    let expected: Vec<String> = check["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            format!(
                "{}@{}:{}",
                p["code"].as_str().unwrap(),
                p["line"].as_u64().unwrap() - 1,
                p["column"].as_u64().unwrap() - 1
            )
        })
        .collect();
    let mut got = codes(&d);
    let mut want = expected.clone();
    got.sort();
    want.sort();
    assert_eq!(got, want, "{d:?}");
    let tag = line_of(PAGE, "Release}}");
    let malformed = d
        .iter()
        .find(|x| x["range"]["start"]["line"] == tag)
        .expect("the malformed tag's diagnostic");
    assert_eq!(malformed["source"], "runbook");
    assert_eq!(malformed["severity"], 1);
    // the whole tag underlined, as check's caret does
    assert_eq!(malformed["range"]["start"]["character"], 11);
    assert_eq!(
        malformed["range"]["end"]["character"],
        11 + "{{site.builduser Release}}".len() as u64
    );
    let placeholder = d
        .iter()
        .find(|x| x["code"] == "placeholder-unfilled")
        .unwrap();
    assert_eq!(placeholder["severity"], 3);
    assert!(
        placeholder["message"]
            .as_str()
            .unwrap()
            .contains("--set 'MACHINE=VALUE'")
    );

    // the editor's text is checked, not the file: fix the tag and the variable in the buffer
    let fixed = PAGE
        .replace("{{site.builduser Release}}", "{{ site.builduser }}")
        .replace("{{ site.missing }}", "{{ site.title }}");
    s.change(&u, 2, &fixed);
    let d = s.diagnostics_until(&u, |d| {
        d.iter().all(|x| x["code"] == "placeholder-unfilled")
    });
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(std::fs::read_to_string(&page).unwrap(), PAGE);
    // and break it again, on a line with non-ASCII text: columns are UTF-16
    let broken = fixed.replace("é😀 {{ site.builduser }}", "é😀 {{ site.nope }}");
    s.change(&u, 3, &broken);
    let d = s.diagnostics_until(&u, |d| {
        d.iter().any(|x| x["code"] != "placeholder-unfilled")
    });
    let undefined = d
        .iter()
        .find(|x| x["code"] != "placeholder-unfilled")
        .unwrap();
    assert_eq!(
        undefined["range"]["start"],
        json!({"line": line_of(PAGE, "é😀"), "character": 7}),
        "é is one UTF-16 unit, 😀 two, then a space and `{{{{ `: {undefined}"
    );
    // closing the page clears its diagnostics
    s.notify("textDocument/didClose", json!({"textDocument": {"uri": u}}));
    s.diagnostics_until(&u, |d| d.is_empty());
    assert_eq!(s.stop(), 0);
}

#[test]
fn site_files_are_watched() {
    let t = site();
    let page = t.path().join("page.md");
    let mut s = Server::start(t.path());
    let u = s.open(&page);
    let missing = |d: &[Value]| {
        d.iter()
            .any(|x| x["message"].as_str().unwrap_or("").contains("site.missing"))
    };
    s.diagnostics_until(&u, missing);
    // defining the variable in _config.yml clears the page's diagnostic, without the editor
    // saying anything (Neovim 0.7 sends no didChangeWatchedFiles)
    std::thread::sleep(Duration::from_millis(20));
    std::fs::write(
        t.path().join("_config.yml"),
        format!("{CONFIG}missing: here\n"),
    )
    .unwrap();
    s.diagnostics_until(&u, |d| !missing(d) && !d.is_empty());
    // a broken data file: shown at the top of the page, naming the file; fixed, it goes
    let yaml = |d: &[Value]| d.iter().any(|x| x["code"] == "invalid-yaml");
    std::fs::write(t.path().join("_data/hosts.yml"), "master: [\n").unwrap();
    let d = s.diagnostics_until(&u, yaml);
    let bad = d.iter().find(|x| x["code"] == "invalid-yaml").unwrap();
    assert_eq!(bad["range"]["start"], json!({"line": 0, "character": 0}));
    assert!(
        bad["message"].as_str().unwrap().contains("hosts.yml:"),
        "{bad}"
    );
    std::fs::write(t.path().join("_data/hosts.yml"), "master: m\n").unwrap();
    s.diagnostics_until(&u, |d| !yaml(d) && !d.is_empty());
    // a new include is seen too (hover names it)
    std::fs::write(t.path().join("_includes/later.md"), "x\n").unwrap();
    let fresh = PAGE.replace("note.md", "later.md");
    s.change(&u, 2, &fresh);
    s.diagnostics_until(&u, |d| {
        !d.iter()
            .any(|x| x["message"].as_str().unwrap_or("").contains("later.md"))
    });
    assert_eq!(s.stop(), 0);
}

#[test]
fn hover_shows_values_commands_and_placeholders() {
    let t = site();
    let mut s = Server::start(t.path());
    let u = s.open(&t.path().join("page.md"));
    s.diagnostics_until(&u, |_| true);
    let text = |h: &Value| h["contents"]["value"].as_str().unwrap_or("").to_string();

    let l = line_of(PAGE, "Log in as");
    let h = text(&s.at("textDocument/hover", &u, l, 20));
    assert!(h.contains("`site.builduser` = `alibuild`"), "{h}");
    assert!(h.contains("defined in `_config.yml:2`"), "{h}");
    let c = PAGE.lines().nth(l as usize).unwrap().find("zone").unwrap() as u32;
    let h = text(&s.at("textDocument/hover", &u, l, c));
    assert!(h.contains("`site.cluster.zone` = `geneva`"), "{h}");
    assert!(h.contains("_config.yml:5"), "{h}");
    // on `cluster`: the map, defined on line 3
    let h = text(&s.at("textDocument/hover", &u, l, c - 3));
    assert!(h.contains("`site.cluster` ="), "{h}");
    assert!(h.contains("\"zone\"=>\"geneva\""), "{h}");
    assert!(h.contains("_config.yml:3"), "{h}");

    // UTF-16 columns: after é😀 (3 units) and a space
    let l = line_of(PAGE, "é😀");
    // é 😀 and a space are 4 units, `{{ site.` 8 more: `builduser` starts at 12
    let h = text(&s.at("textDocument/hover", &u, l, 12));
    assert!(h.contains("`site.builduser` = `alibuild`"), "{h}");
    let h = text(&s.at("textDocument/hover", &u, l, 10));
    assert!(h.starts_with("`site`: "), "on `site`, its keys only: {h}");
    let line = PAGE.lines().nth(l as usize).unwrap();
    let utf16 = |needle: &str| line[..line.find(needle).unwrap()].encode_utf16().count() as u32;
    let h = text(&s.at("textDocument/hover", &u, l, utf16("owner")));
    assert!(h.contains("`page.owner` = `ops`"), "{h}");
    assert!(h.contains("page.md:3"), "{h}");
    let h = text(&s.at("textDocument/hover", &u, l, utf16("master")));
    assert!(
        h.contains("`site.data.hosts.master` = `aiadm.cern.ch`"),
        "{h}"
    );
    assert!(h.contains("_data/hosts.yml:2"), "{h}");

    // an undefined variable says so
    let l = line_of(PAGE, "Unknown");
    let h = text(&s.at("textDocument/hover", &u, l, 18));
    assert!(h.contains("`site.missing` is not defined"), "{h}");

    // a code block: the command as `run` executes it, and its step id
    let l = line_of(PAGE, "echo");
    let h = text(&s.at("textDocument/hover", &u, l, 2));
    assert!(h.contains("step `create-1`"), "{h}");
    assert!(
        h.contains("MACHINE=<alibuildXX> # pick a free number\necho"),
        "{h}"
    );
    assert!(
        h.contains("needs a value: `<alibuildXX>` (`--set 'MACHINE=VALUE'`)"),
        "{h}"
    );

    // a placeholder: its name for --set and its hint
    let l = line_of(PAGE, "MACHINE=<");
    let h = text(&s.at("textDocument/hover", &u, l, 10));
    assert!(h.contains("placeholder `<alibuildXX>`"), "{h}");
    assert!(h.contains("--set 'MACHINE=VALUE'"), "{h}");
    assert!(h.contains("hint: pick a free number"), "{h}");

    // plain prose: nothing
    let l = line_of(PAGE, "# Set up");
    assert_eq!(s.at("textDocument/hover", &u, l + 1, 0), Value::Null);
    assert_eq!(s.stop(), 0);
}

#[test]
fn definition_goes_to_keys_and_includes() {
    let t = site();
    let root = t.path().canonicalize().unwrap();
    let mut s = Server::start(&root);
    let page = root.join("page.md");
    let u = s.open(&page);
    s.diagnostics_until(&u, |_| true);
    let target = |v: &Value| {
        (
            v["uri"].as_str().unwrap().to_string(),
            v["range"]["start"]["line"].as_u64().unwrap(),
            v["range"]["start"]["character"].as_u64().unwrap(),
        )
    };
    let l = line_of(PAGE, "Log in as");
    let d = s.at("textDocument/definition", &u, l, 20);
    assert_eq!(target(&d), (uri(&root.join("_config.yml")), 1, 0), "{d}");
    let c = PAGE.lines().nth(l as usize).unwrap().find("zone").unwrap() as u32;
    let d = s.at("textDocument/definition", &u, l, c);
    assert_eq!(target(&d), (uri(&root.join("_config.yml")), 4, 2), "{d}");

    let l = line_of(PAGE, "é😀");
    let line = PAGE.lines().nth(l as usize).unwrap();
    let utf16 = |needle: &str| line[..line.find(needle).unwrap()].encode_utf16().count() as u32;
    let d = s.at("textDocument/definition", &u, l, utf16("owner"));
    assert_eq!(target(&d), (u.clone(), 2, 0), "{d}");
    let d = s.at("textDocument/definition", &u, l, utf16("master"));
    assert_eq!(
        target(&d),
        (uri(&root.join("_data/hosts.yml")), 1, 0),
        "{d}"
    );

    let l = line_of(PAGE, "{% include");
    let d = s.at("textDocument/definition", &u, l, 13);
    assert_eq!(
        target(&d),
        (uri(&root.join("_includes/note.md")), 0, 0),
        "{d}"
    );
    assert_eq!(s.stop(), 0);
}

#[test]
fn include_relative_goes_to_the_file_beside_the_page() {
    let t = Test::new()
        .file("_config.yml", "title: x\n")
        .file("docs/snippet.txt", "hello\n")
        .file("docs/page.md", "{% include_relative snippet.txt %}\n");
    let root = t.path().canonicalize().unwrap();
    let mut s = Server::start(&root);
    let u = s.open(&root.join("docs/page.md"));
    s.diagnostics_until(&u, |_| true);
    let d = s.at("textDocument/definition", &u, 0, 22);
    assert_eq!(d["uri"], uri(&root.join("docs/snippet.txt")), "{d}");
    assert_eq!(s.stop(), 0);
}

#[test]
fn completion_from_the_text_before_the_cursor() {
    let t = site();
    let mut s = Server::start(t.path());
    let u = s.open(&t.path().join("page.md"));
    s.diagnostics_until(&u, |_| true);
    let labels = |v: &Value| -> Vec<String> {
        let items = v.as_array().or_else(|| v["items"].as_array()).unwrap();
        items
            .iter()
            .map(|i| i["label"].as_str().unwrap().to_string())
            .collect()
    };
    // no `context` (Neovim 0.7 sends none): `{{ site.` is read from the text
    let edited = format!(
        "{PAGE}{{{{ site.\n{{{{ site.cluster.\n{{{{ site.data.\n{{% include \n{{{{ page.\n"
    );
    s.change(&u, 2, &edited);
    let end = PAGE.lines().count() as u32;
    let c = s.at("textDocument/completion", &u, end, 8);
    let l = labels(&c);
    for k in ["title", "builduser", "cluster", "data"] {
        assert!(l.contains(&k.to_string()), "{k} in {l:?}");
    }
    let item = c
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["label"] == "builduser")
        .unwrap();
    assert_eq!(item["detail"], "alibuild");
    assert_eq!(
        labels(&s.at("textDocument/completion", &u, end + 1, 16)),
        ["name", "zone"]
    );
    assert_eq!(
        labels(&s.at("textDocument/completion", &u, end + 2, 13)),
        ["hosts"]
    );
    assert_eq!(
        labels(&s.at("textDocument/completion", &u, end + 3, 11)),
        ["note.md", "warn/big.md"]
    );
    // page keys: this page's and those other pages' front matter uses
    let l = labels(&s.at("textDocument/completion", &u, end + 4, 8));
    for k in ["owner", "title", "reviewed_by"] {
        assert!(l.contains(&k.to_string()), "{k} in {l:?}");
    }
    // a key typed at the start of a front matter line
    let fm = PAGE.replacen("owner: ops\n", "owner: ops\nrev\n", 1);
    s.change(&u, 3, &fm);
    let l = labels(&s.at("textDocument/completion", &u, 3, 3));
    assert_eq!(l, ["reviewed_by"]);
    // prose: nothing
    let l = labels(&s.at("textDocument/completion", &u, 6, 3));
    assert!(l.is_empty(), "{l:?}");
    assert_eq!(s.stop(), 0);
}

#[test]
fn symbols_are_sections_and_steps() {
    let t = site();
    let mut s = Server::start(t.path());
    let u = s.open(&t.path().join("page.md"));
    s.diagnostics_until(&u, |_| true);
    let syms = s.request(
        "textDocument/documentSymbol",
        json!({"textDocument": {"uri": u}}),
    );
    let top = syms.as_array().unwrap();
    assert_eq!(top.len(), 1, "{syms}");
    assert_eq!(top[0]["name"], "Set up");
    assert_eq!(top[0]["detail"], "#set-up");
    let children: Vec<&str> = top[0]["children"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(children, ["set-up-1", "Create"], "{syms}");
    let create = &top[0]["children"][1];
    assert_eq!(create["children"][0]["name"], "create-1");
    assert_eq!(
        create["children"][0]["detail"],
        "MACHINE=<alibuildXX> # pick a free number"
    );
    assert_eq!(
        create["children"][0]["range"]["start"]["line"],
        line_of(PAGE, "```bash")
    );
    assert_eq!(s.stop(), 0);
}

#[test]
fn protocol_errors_and_exit() {
    let t = site();
    let mut s = Server::start(t.path());
    // bad params, an unknown method, a page that is not open: errors or nothing, no panic
    let r = s.call("textDocument/hover", json!({"nonsense": true}));
    assert_eq!(r["error"]["code"], -32602, "{r}");
    let r = s.call("workspace/symbol", json!({"query": ""}));
    assert_eq!(r["error"]["code"], -32601, "{r}");
    let r = s.at("textDocument/hover", "file:///nowhere.md", 0, 0);
    assert_eq!(r, Value::Null);
    // a page the server cannot read as a page (invalid front matter) still gets diagnostics
    let bad = t.path().join("bad.md");
    std::fs::write(&bad, "---\n: [\n---\nx\n").unwrap();
    let u = s.open(&bad);
    let d = s.diagnostics_until(&u, |d| !d.is_empty());
    assert_eq!(d[0]["code"], "invalid-yaml", "{d:?}");
    let r = s.call("shutdown", Value::Null);
    assert_eq!(r["result"], Value::Null);
    let r = s.call("textDocument/hover", json!({}));
    assert_eq!(
        r["error"]["code"], -32600,
        "requests after shutdown are refused: {r}"
    );
    s.notify("exit", Value::Null);
    assert_eq!(s.wait(), 0);

    // exit without shutdown: 1
    let s = Server::start(t.path());
    let mut s = s;
    s.notify("exit", Value::Null);
    assert_eq!(s.wait(), 1);
    // the editor goes away: the server ends too
    let s = Server::start(t.path());
    assert_eq!(s.wait(), 1);
}
