#!/bin/sh
# Fill fuzz/corpus/<target>/ with seed inputs: the real pages, includes and configs of
# ../../shared/corpus/sites (or $RUNBOOK_CORPUS), the test fixtures, the regression inputs,
# and a few hand-written journals. Safe to rerun: files are named by content hash.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
corpus=${RUNBOOK_CORPUS:-$root/../shared/corpus}
out=$here/corpus

add() { # add TARGET FILE
    mkdir -p "$out/$1"
    h=$(sha1sum "$2" | cut -c1-40)
    cp "$2" "$out/$1/$h"
}

pages() { # Markdown pages and Liquid templates
    for dir in "$corpus/sites" "$root/tests/fixtures" "$root/runbooks"; do
        [ -d "$dir" ] || continue
        find "$dir" -type f \( -name '*.md' -o -name '*.markdown' -o -name '*.html' \
            -o -name '*.snip' \) -size -64k
    done
}

for f in $(pages); do
    add page_load "$f"
    add liquid "$f"
    add placeholders "$f"
done
# configs and data files: front matter and YAML edge cases for the page loader
for f in $(find "$corpus/sites" "$root/tests/fixtures" -type f \( -name '*.yml' -o -name '*.yaml' \) 2>/dev/null); do
    tmp=$(mktemp)
    { echo '---'; cat "$f"; echo '---'; echo 'body'; } > "$tmp"
    add page_load "$tmp"
    rm -f "$tmp"
done
# the shell blocks of the corpus pages, alone, for placeholder detection
tmpd=$(mktemp -d)
for f in $(pages); do
    awk -v d="$tmpd" -v b="$(basename "$f")" '
        /^[ \t>]*(```|~~~)/ { if (inb) { inb = 0; close(o) } else { inb = 1; n++; o = d "/" b "-" n }; next }
        inb { print > o }' "$f"
done
for f in "$tmpd"/*; do [ -f "$f" ] && add placeholders "$f"; done
rm -rf "$tmpd"

# journals as `runbook run` writes them
j() { # j NAME LINES...
    tmp=$(mktemp)
    name=$1; shift
    printf '%s\n' "$@" > "$tmp"
    add journal "$tmp"
    rm -f "$tmp"
}
start='{"event":"run-start","page":"p.md","page_hash":"abc","steps":["top-1","a-1","a-2"],"shell":"bash","time":"2026-01-01T00:00:00.000Z"}'
j ok "$start" \
    '{"event":"step-start","id":"top-1","command":"echo hi","decision":"run","attempt":1}' \
    '{"event":"step-end","id":"top-1","status":0,"secret_names":["TOKEN"],"duration_ms":3}' \
    '{"event":"step","id":"a-1","decision":"skip","command":"rm -rf <dir>"}' \
    '{"event":"step-start","id":"a-2","command":"false","decision":"run","attempt":1}' \
    '{"event":"step-end","id":"a-2","status":1,"secret_names":[]}' \
    '{"event":"run-end","result":"failed"}'
j resume "$start" '{"event":"run-resume","from":"a-2"}' \
    '{"event":"step-end","id":"a-2","status":0,"secret_names":null}'
j quit "$start" '{"event":"step","id":"top-1","decision":"quit"}'
j nostart '{"event":"step-end","id":"x","status":0}'
tmp=$(mktemp); printf '%s\n{"event":"step-start","id":"top-1","comm' "$start" > "$tmp"; add journal "$tmp"; rm -f "$tmp"

# regression inputs are seeds too
for t in page_load liquid placeholders journal; do
    [ -d "$root/tests/fuzz_regressions/$t" ] || continue
    for f in "$root/tests/fuzz_regressions/$t"/*; do [ -f "$f" ] && add "$t" "$f"; done
done
for t in page_load liquid placeholders journal; do
    echo "$t: $(ls "$out/$t" 2>/dev/null | wc -l) seeds"
done
