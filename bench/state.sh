#!/usr/bin/env bash
# Cost of carrying a growing shell state: `runbook run --yes` of a page of N steps (default
# 2,000) where each step sets one new variable, so the state grows by one variable a step.
# Prints the time per step of the first and the last 100 steps (from the journal's step-start
# times: everything runbook does between two steps counts) and the bytes written under the
# run's state/ folder. A per-step cost that grows with the state shows as last >> first.
# usage: bench/state.sh [N]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-2000}
cargo build --release --quiet --manifest-path "$here/Cargo.toml"
rb=$here/target/release/runbook
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
echo "x: 1" > "$work/site.yaml"
{ echo "# $n steps, one new variable each"; echo
  for i in $(seq 1 "$n"); do printf '```bash\nVAR_%d="value of step %d"\n```\n\n' "$i" "$i"; done
} > "$work/page.md"
start=$(date +%s.%N)
"$rb" -q run "$work/page.md" --yes --runs-dir "$work/runs" >/dev/null 2>&1
end=$(date +%s.%N)
run=$(ls -d "$work"/runs/*)
python3 - "$run" "$n" "$start" "$end" <<'PY'
import json, os, sys, datetime
run, n, start, end = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
def t(s): return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
starts = [t(e["time"]) for e in map(json.loads, open(os.path.join(run, "journal.jsonl")))
          if e.get("event") == "step-start"]
assert len(starts) == n, len(starts)
k = min(100, n // 2)
first = (starts[k] - starts[0]) / k * 1000
last = (starts[-1] - starts[-1 - k]) / k * 1000
sd = os.path.join(run, "state")
files = [os.path.join(sd, f) for f in os.listdir(sd)]
total = sum(os.path.getsize(f) for f in files)
newest = max(files)
print(f"{n} steps, one new variable each: {end - start:.1f} s in all")
print(f"per step: first {k} steps {first:.1f} ms, last {k} steps {last:.1f} ms")
print(f"state/: {len(files)} files, {total:,} bytes in all, the last one {os.path.getsize(newest):,} bytes")
PY
