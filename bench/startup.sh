#!/usr/bin/env bash
# One page is fast (issue 10): `runbook render`, `list` and `check` of the seed page, each a
# whole process as an editor or a pre-commit hook starts it, against `/bin/true` (any process
# start on this machine). Targets: render under 1.8 ms, list under 2 ms (means, wall time).
# With --static it also builds and measures runbook linked statically against glibc
# at a fixed address (`-C target-feature=+crt-static -C relocation-model=static`, which needs
# `--target`: see README "Speed").
# Installs hyperfine with apt if missing. usage: bench/startup.sh [--static] [RUNS]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
static=0
if [ "${1:-}" = --static ]; then static=1; shift; fi
runs=${1:-500}
command -v hyperfine >/dev/null || {
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine) >/dev/null
}
cargo build --release --quiet --manifest-path "$here/Cargo.toml"
bins=("$here/target/release/runbook")
if [ $static = 1 ]; then
  triple=$(rustc -vV | sed -n 's/^host: //p')
  RUSTFLAGS="-C target-feature=+crt-static -C relocation-model=static" cargo build --release --quiet \
    --manifest-path "$here/Cargo.toml" --target "$triple"
  bins+=("$here/target/$triple/release/runbook")
fi
cd "$here/tests/fixtures/seed/site"
page=infrastructure-mesos.markdown
cmds=(/bin/true)
for rb in "${bins[@]}"; do
  for sub in render list check; do cmds+=("$rb -q $sub $page"); done
done
json=$(mktemp); trap 'rm -f "$json"' EXIT
# check exits 1 on the seed page (it has problems): that is its answer, not a failure
hyperfine -N -i --warmup 30 --runs "$runs" --export-json "$json" "${cmds[@]}" >/dev/null 2>&1
python3 - "$json" "$here" <<'PY'
import json, sys
here = sys.argv[2]
for r in json.load(open(sys.argv[1]))["results"]:
    cmd = r["command"].replace(here + "/", "")
    print(f"{cmd:75} mean {r['mean']*1e3:5.2f} ms  median {r['median']*1e3:5.2f}  min {r['min']*1e3:5.2f}  (user {r['user']*1e3:.2f}, sys {r['system']*1e3:.2f})")
PY
