#!/usr/bin/env python3
"""Drive `runbook lsp` as an editor does and time it (see bench/lsp.sh).

usage: lsp.py RUNBOOK SITE PAGE [EDITS]
Prints: initialize answered, site indexed (a front matter completion, which needs every
page's front matter, answered), first diagnostics of PAGE after didOpen, didChange ->
publishDiagnostics latency over EDITS edits (median, p95, max), peak RSS (VmHWM)."""
import json, os, statistics, subprocess, sys, threading, time, queue, urllib.parse

rb, site, page = sys.argv[1], os.path.abspath(sys.argv[2]), os.path.abspath(sys.argv[3])
edits = int(sys.argv[4]) if len(sys.argv) > 4 else 100
uri = "file://" + urllib.parse.quote(page)

t0 = time.monotonic()
p = subprocess.Popen([rb, "lsp"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                     stderr=subprocess.DEVNULL, cwd=site)
msgs = queue.Queue()

def reader():
    out = p.stdout
    while True:
        length = None
        while True:
            line = out.readline()
            if not line:
                return
            line = line.strip()
            if not line:
                break
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":")[1])
        msgs.put((time.monotonic(), json.loads(out.read(length))))

threading.Thread(target=reader, daemon=True).start()
ids = iter(range(1, 1 << 30))

def send(obj):
    body = json.dumps(obj).encode()
    p.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
    p.stdin.flush()

def request(method, params):
    i = next(ids)
    send({"jsonrpc": "2.0", "id": i, "method": method, "params": params})
    while True:
        t, m = msgs.get(timeout=60)
        if m.get("id") == i and "method" not in m:
            return t, m

def notify(method, params):
    send({"jsonrpc": "2.0", "method": method, "params": params})

def diagnostics(version):
    while True:
        t, m = msgs.get(timeout=60)
        if m.get("method") == "textDocument/publishDiagnostics" and m["params"]["uri"] == uri \
                and m["params"].get("version") == version:
            return t, m["params"]["diagnostics"]

t_init, _ = request("initialize", {"processId": os.getpid(), "rootUri": "file://" + urllib.parse.quote(site),
                                   "capabilities": {}})
notify("initialized", {})
text = open(page).read()
t_open = time.monotonic()
notify("textDocument/didOpen", {"textDocument": {"uri": uri, "languageId": "markdown", "version": 1, "text": text}})
t_diag, first = diagnostics(1)
# a front matter key at the start of line 2 (after `---`): completing it needs the index
t_idx, comp = request("textDocument/completion", {"textDocument": {"uri": uri}, "position": {"line": 1, "character": 0}})
keys = len(comp.get("result") or [])
lat = []
lines = text.split("\n")
prose = next(i for i, l in enumerate(lines) if l.startswith("The "))
for k in range(edits):
    lines[prose] = lines[prose] + "x"
    v = k + 2
    t = time.monotonic()
    notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": v},
                                      "contentChanges": [{"text": "\n".join(lines)}]})
    t_pub, d = diagnostics(v)
    lat.append((t_pub - t) * 1000)
with open(f"/proc/{p.pid}/status") as f:
    hwm = next(l for l in f if l.startswith("VmHWM")).split()[1]
request("shutdown", None)
notify("exit", None)
code = p.wait(timeout=30)
lat.sort()
print(f"initialize answered     {(t_init - t0) * 1000:8.1f} ms after start")
print(f"site indexed            {(t_idx - t0) * 1000:8.1f} ms after start ({keys} front matter keys offered)")
print(f"first diagnostics       {(t_diag - t_open) * 1000:8.1f} ms after didOpen ({len(first)} diagnostics)")
print(f"didChange -> diagnostics median {statistics.median(lat):.1f} ms, p95 {lat[int(len(lat) * 0.95) - 1]:.1f} ms, "
      f"max {lat[-1]:.1f} ms over {len(lat)} edits (target < 50 ms)")
print(f"peak RSS                {int(hwm) / 1024:8.1f} MB (target < 300 MB)")
print(f"exit code after shutdown/exit: {code}")
