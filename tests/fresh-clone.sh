#!/usr/bin/env bash
# Runs the README's test command the way a new user would: in a fresh clone of the current
# commit, in a temporary folder with nothing beside it (no shared corpus). Uncommitted changes are
# not part of the check. Usage, from anywhere in the repository:
#   bash tests/fresh-clone.sh
# Builds in $CARGO_TARGET_DIR/fresh-clone (default target/fresh-clone), kept between runs so
# the dependencies are not rebuilt each time.
set -euo pipefail
top=$(git rev-parse --show-toplevel)
commit=$(git -C "$top" rev-parse HEAD)
# the line starting `cargo test` in the README's first code block, its comment stripped
cmd=$(awk '/^```/{n++; next} n==1' "$top/README.md" | grep -m1 -E '^cargo test' | sed 's/[[:space:]]*#.*$//')
[ -n "$cmd" ] || { echo "fresh-clone: no 'cargo test' line in the README's first code block" >&2; exit 2; }
[ -z "$(git -C "$top" status --porcelain)" ] || echo "fresh-clone: note: uncommitted changes are not tested"
target=${CARGO_TARGET_DIR:-$top/target}/fresh-clone
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
git clone -q "$top" "$tmp/project"
git -C "$tmp/project" checkout -q --detach "$commit"
[ ! -e "$tmp/shared" ] || { echo "fresh-clone: unexpected $tmp/shared beside the clone" >&2; exit 2; }
cd "$tmp/project"
echo "== $cmd (fresh clone of ${commit:0:7}, nothing beside it)"
CARGO_TARGET_DIR=$target bash -c "$cmd"
