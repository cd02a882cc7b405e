#!/usr/bin/env bash
# Renders each line of CASES (default tests/jekyll-diff/cases.txt) with Jekyll's Liquid and with
# runbook, in a site whose config is CONFIG (default tests/jekyll-diff/config.yml), and prints
# every line whose output or error message differs, then `N differ of M`. Needs Debian's jekyll
# (the reference) and a built runbook (target/debug/runbook, or $RUNBOOK).
# usage: bash tests/filters-vs-jekyll.sh [CASES [CONFIG]]
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
cases=$(realpath "${1:-$here/tests/jekyll-diff/cases.txt}")
config=$(realpath "${2:-$here/tests/jekyll-diff/config.yml}")
bin=${RUNBOOK:-$here/target/debug/runbook}
[ -x "$bin" ] || { echo "filters-vs-jekyll: $bin not built" >&2; exit 2; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
ruby "$here/tests/jekyll-diff/jekyll.rb" "$cases" "$config" > "$tmp/jekyll.txt" || exit 2
mkdir -p "$tmp/site" "$tmp/out" "$tmp/err"; cp "$config" "$tmp/site/_config.yml"
n=0
while IFS= read -r line; do
  [ -n "${line// }" ] || continue
  n=$((n+1)); printf '%s\n' "$line" > "$tmp/site/p$n.md"
done < "$cases"
one() {  # N: render case N, print it as jekyll.rb does
  local page=$tmp/site/p$1.md err=$tmp/err/$1 out
  if out=$("$bin" -q render "$page" 2> "$err" && printf x); then
    out=${out%x}; printf '%s\n    => [%s]\n' "$(cat "$page")" "${out%$'\n'}"
  else
    printf '%s\n    => !! %s\n' "$(cat "$page")" "$(grep -m1 '^error' "$err" | sed 's/^error: Liquid error: //; s/^error: //')"
  fi
}
export -f one; export bin tmp
seq 1 "$n" | xargs -P "$(nproc)" -I{} bash -c 'one {} > "$tmp/out/$(printf %06d {})"'
cat "$tmp/out/"[0-9]* > "$tmp/runbook.txt"
python3 - "$tmp/jekyll.txt" "$tmp/runbook.txt" <<'PY'
import sys
def parse(path):
    out, key, val = [], None, []
    for line in open(path, encoding="utf-8", errors="replace").read().split("\n"):
        if line.startswith("    => ") and key is not None and not val:
            val = [line[7:]]
        elif key is not None and val and not line.startswith("{{") and not line.startswith("{%"):
            val.append(line)
        else:
            if key is not None:
                out.append((key, "\n".join(val)))
            key, val = line, []
    if key is not None and key:
        out.append((key, "\n".join(val)))
    return out
j, r = parse(sys.argv[1]), parse(sys.argv[2])
bad = 0
for (k, a), (_, b) in zip(j, r):
    if a.rstrip("\n") != b.rstrip("\n"):
        bad += 1
        print(k); print("   jekyll: ", a); print("   runbook:", b)
print(f"{bad} differ of {len(j)}")
sys.exit(1 if bad else 0)
PY
