#!/usr/bin/env bash
# Rendering speed, side by side (issue: "Read, render and check"):
#  1. one page: `runbook render` of the seed page vs `jekyll build` of its site;
#  2. a whole site of N distinct pages (bench/gen-site.py: the corpus pages copied with one
#     differing line): `runbook render DIR -o OUT` vs `jekyll build` doing the same Liquid work
#     (the golden tool's plugin: Liquid only, no Markdown conversion, no layouts) vs `cp -r`,
#     all writing to tmpfs (/dev/shm).
# Installs what it needs (jekyll, hyperfine) with apt. usage: bench/render.sh [N]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
corpus=${CORPUS:-$here/../shared/corpus}
n=${1:-2000}
need=()
command -v jekyll >/dev/null || need+=(jekyll ruby-jekyll-optional-front-matter)
command -v hyperfine >/dev/null || need+=(hyperfine)
if [ ${#need[@]} -gt 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}") >/dev/null
fi
cargo build --release --quiet --manifest-path "$here/Cargo.toml"
rb=$here/target/release/runbook
work=$(mktemp -d /dev/shm/runbook-bench.XXXXXX); trap 'rm -rf "$work"' EXIT

# A Jekyll site prepared like ../shared/tools/jekyll-goldens.sh prepares one: Liquid only.
jekyllify() {
  local site=$1
  sed -i -E '/^(theme|remote_theme):/d; /^plugins:/,/^[^ -]/{/^plugins:/d; /^  *- /d}' "$site/_config.yml"
  printf '\nplugins: [jekyll-optional-front-matter]\n' >> "$site/_config.yml"
  mkdir -p "$site/_plugins"
  cat > "$site/_plugins/liquid_only.rb" <<'RUBY'
module Jekyll
  class Renderer
    def convert(content)
      content
    end
  end
end
RUBY
}

mean() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][int(sys.argv[2])]["mean"])' "$@"; }

echo "== one page: the seed page"
seed_site=$work/seed; cp -r "$corpus/sites/alisw+alisw.github.io" "$seed_site"; jekyllify "$seed_site"
seed_page=$corpus/sites/alisw+alisw.github.io/infrastructure-mesos.markdown
hyperfine -N --warmup 3 --min-runs 20 --export-json "$work/one.json" \
  -n "runbook render" "$rb -q render $seed_page" \
  -n "jekyll build" "jekyll build -q -s $seed_site -d $work/seed-out" >/dev/null 2>&1 || \
hyperfine --warmup 3 --min-runs 20 --export-json "$work/one.json" \
  -n "runbook render" "$rb -q render $seed_page > /dev/null 2>&1" \
  -n "jekyll build" "jekyll build -q -s $seed_site -d $work/seed-out" >/dev/null
r1=$(mean "$work/one.json" 0); j1=$(mean "$work/one.json" 1)

echo "== a whole site: $n pages"
gen=$work/gen; python3 "$here/bench/gen-site.py" "$corpus" "$gen" "$n" >/dev/null
jgen=$work/jgen; cp -r "$gen" "$jgen"; jekyllify "$jgen"
# the same site without the copies of pages that loop over site.pages (O(N^2) work)
flat=$work/flat; cp -r "$gen" "$flat"; grep -l 'site.pages' "$flat"/pages/* | xargs rm -f
loopers=$(grep -l 'site.pages' "$gen"/pages/* | wc -l)
pages=$(find "$gen" -name '*.md' -o -name '*.markdown' | wc -l)
hyperfine --warmup 2 --min-runs 10 --export-json "$work/site.json" \
  --prepare "rm -rf $work/out-rb $work/out-cp $work/out-jk" \
  -n "runbook render DIR -o OUT" "$rb -q render $gen -o $work/out-rb 2>/dev/null" \
  -n "cp -r (floor)" "cp -r $gen $work/out-cp" \
  -n "jekyll build" "jekyll build -q -s $jgen -d $work/out-jk 2>/dev/null" >/dev/null
r2=$(mean "$work/site.json" 0); c2=$(mean "$work/site.json" 1); j2=$(mean "$work/site.json" 2)
hyperfine --warmup 2 --min-runs 10 --export-json "$work/flat.json" \
  --prepare "rm -rf $work/out-flat $work/out-cpflat" \
  -n "runbook, no site.pages pages" "$rb -q render $flat -o $work/out-flat 2>/dev/null" \
  -n "cp -r, same" "cp -r $flat $work/out-cpflat" >/dev/null
r3=$(mean "$work/flat.json" 0); c3=$(mean "$work/flat.json" 1)

python3 - "$r1" "$j1" "$r2" "$c2" "$j2" "$pages" "$(nproc)" "$r3" "$c3" "$loopers" <<'PY'
import sys
r1, j1, r2, c2, j2 = map(float, sys.argv[1:6]); pages, cores = sys.argv[6], sys.argv[7]
r3, c3 = map(float, sys.argv[8:10]); loopers = sys.argv[10]
print(f"\none page (seed):      runbook {r1*1000:8.1f} ms   jekyll build {j1*1000:8.1f} ms   runbook is {j1/r1:6.1f}x faster (target >= 100x)")
print(f"whole site ({pages} md): runbook {r2*1000:8.1f} ms   jekyll build {j2*1000:8.1f} ms   runbook is {j2/r2:6.1f}x faster (target >= 8x)")
print(f"                       cp -r   {c2*1000:8.1f} ms   runbook / cp = {r2/c2:5.2f} (target <= 2)   on {cores} cores")
print(f"without the {loopers} copies of pages looping over site.pages (each iterates all {pages} pages):")
print(f"                       runbook {r3*1000:8.1f} ms   cp -r {c3*1000:8.1f} ms   runbook / cp = {r3/c3:5.2f}")
PY
