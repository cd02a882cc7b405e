#!/usr/bin/env bash
# Render every page of ../shared/corpus/sites/ with its site and compare it byte for byte with
# what Jekyll produced (../shared/corpus/golden/). Prints `N/M pages identical` and a diff for
# each mismatch. Pages whose output passes through `markdownify` (kramdown HTML, which no other
# Markdown engine reproduces) are listed as such and excluded from M; every other page must match.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
corpus=${CORPUS:-$here/../shared/corpus}
bin=${RUNBOOK:-$here/target/debug/runbook}
[ -x "$bin" ] || { echo "conformance: $bin not built" >&2; exit 2; }
[ -d "$corpus/golden" ] || { echo "conformance: no corpus at $corpus" >&2; exit 2; }
same=0; total=0; excluded=0; failed=0
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
while IFS= read -r golden; do
  rel=${golden#"$corpus/golden/"}
  site=${rel%%/*}; page=${rel#*/}
  src="$corpus/sites/$site/$page"
  if grep -rqs 'markdownify' "$src" $(grep -o 'include [^ %]*' "$src" | awk '{print "'"$corpus/sites/$site/_includes/"'"$2}'); then
    echo "excluded (markdownify): $rel"; excluded=$((excluded+1)); continue
  fi
  total=$((total+1))
  if "$bin" -q render "$src" > "$tmp/out" 2> "$tmp/err" && cmp -s "$tmp/out" "$golden"; then
    same=$((same+1))
  else
    failed=$((failed+1))
    echo "MISMATCH: $rel"; sed 's/^/  stderr: /' "$tmp/err" | head -20
    diff -u "$golden" "$tmp/out" | head -40
  fi
done < <(find "$corpus/golden" -type f \( -name '*.md' -o -name '*.markdown' \) | sort)
echo "$same/$total pages identical ($excluded excluded: output passes through markdownify)"
[ "$failed" -eq 0 ]
