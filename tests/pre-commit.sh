#!/usr/bin/env bash
# The `runbook-check` hook of .pre-commit-hooks.yaml with the real pre-commit (from PyPI, in
# a venv) on a throwaway docs repository: pre-commit builds runbook from this repository's
# HEAD as it would from GitHub (`cargo install --bins --path .`, no --locked), a good page
# commits, a broken one fails the commit naming file:line:column and the rule, and
# `pre-commit try-repo` runs the hook too. The build shares a target folder between runs
# (PRECOMMIT_TARGET, default target/pre-commit) and skips release optimisation, which only
# slows it here.
# usage: bash tests/pre-commit.sh   (needs python3 with venv, git, cargo)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

venv=${PRECOMMIT_VENV:-$here/target/pre-commit-venv}
if [ ! -x "$venv/bin/pre-commit" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q pre-commit
fi
pc=$venv/bin/pre-commit
echo "pre-commit $("$pc" --version | cut -d' ' -f2)"
export PRE_COMMIT_HOME=$work/cache
export CARGO_TARGET_DIR=${PRECOMMIT_TARGET:-$here/target/pre-commit}
export CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 CARGO_PROFILE_RELEASE_OPT_LEVEL=0

# the hook's repository: this one at HEAD (pre-commit clones it, as it would a release)
rev=$(git -C "$here" rev-parse HEAD)
git -C "$here" cat-file -e "HEAD:.pre-commit-hooks.yaml" ||
  fail "HEAD has no .pre-commit-hooks.yaml (commit it first)"

docs=$work/docs
mkdir -p "$docs/_includes"
cd "$docs"
git init -q
git config user.email test@example.org
git config user.name test
cat > _config.yml <<'YML'
title: Ops
builduser: alibuild
YML
cat > .pre-commit-config.yaml <<YML
repos:
  - repo: $here
    rev: $rev
    hooks:
      - id: runbook-check
YML
printf '{{ include.x }}\n' > _includes/snippet.md
cat > good.md <<'MD'
---
title: Good
---
# Build

```bash
sudo -u {{ site.builduser }} make
```
MD
git add -A
git commit -q -m "the site, no hook yet"
"$pc" install >/dev/null

# a good page (and an include, which is no page) commit
echo "" >> good.md
git add -A
git commit -q -m "good" >"$work/good.log" 2>&1 || { cat "$work/good.log"; fail "a good page did not commit"; }
grep -q "runbook check.*Passed" "$work/good.log" || { cat "$work/good.log"; fail "the hook did not run on the good page"; }

# a broken page does not
cat > bad.md <<'MD'
---
title: Bad
---
# Deploy

Log in as {{ site.deploy_user }}, then:

```bash
for h in a b; do ssh $h
```
MD
git add bad.md
if git commit -q -m "bad" >"$work/bad.log" 2>&1; then
  cat "$work/bad.log"; fail "a broken page was committed"
fi
grep -q "runbook check.*Failed" "$work/bad.log" || { cat "$work/bad.log"; fail "the hook did not fail"; }
grep -q -- "--> bad.md:6:" "$work/bad.log" || { cat "$work/bad.log"; fail "no bad.md:6: location"; }
grep -q "\[undefined-variable\]" "$work/bad.log" || { cat "$work/bad.log"; fail "no rule id"; }
grep -q "\[shell-syntax\]" "$work/bad.log" || { cat "$work/bad.log"; fail "no shell-syntax problem"; }
git log --format=%s -1 | grep -qx good || fail "the broken commit was made"

# try-repo, as a hook author tries it
"$pc" try-repo "$here" runbook-check --files bad.md >"$work/try.log" 2>&1 && {
  cat "$work/try.log"; fail "try-repo passed a broken page"; }
grep -q -- "--> bad.md:6:" "$work/try.log" || { cat "$work/try.log"; fail "try-repo: no location"; }
echo "pre-commit: a good page commits, a broken one fails at bad.md:6 with its rules"
