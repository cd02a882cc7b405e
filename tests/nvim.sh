#!/usr/bin/env bash
# Neovim as a real client of `runbook lsp` (tests/nvim/lsp.lua), headless, on a copy of the
# seed site: diagnostics, hover, definition, completion. Installs neovim with apt if missing
# (Debian's is 0.7.2, whose LSP client the server must satisfy). Exit status: the script's.
# usage: tests/nvim.sh
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v nvim >/dev/null; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq neovim) >/dev/null
fi
nvim --version | head -1
cargo build --quiet --manifest-path "$here/Cargo.toml"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
cp -r "$here/tests/fixtures/seed/site" "$work/site"
cd "$work"
# -u NONE: no user config (and no filetype detection: the script attaches the client itself)
RUNBOOK=$here/target/debug/runbook SITE=$work/site \
  timeout 120 nvim --headless -u NONE -i NONE -n -c "luafile $here/tests/nvim/lsp.lua" </dev/null
