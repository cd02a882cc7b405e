#!/usr/bin/env bash
# Huge inputs finish in bounded time and memory: builds in release mode, generates each huge
# input of tests/bad_input.rs into a temp dir and prints, for `render`, `list` and `check` of
# each, the exit status, wall time and max RSS (`/usr/bin/time -f '%e s %M KB'`).
# usage: bench/huge.sh            (needs /usr/bin/time: apt-get install time)
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
[ -x /usr/bin/time ] || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null; }
cargo build --release --quiet --manifest-path "$here/Cargo.toml"
rb=$here/target/release/runbook
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
echo "x: 1" > "$work/site.yaml"

python3 - "$work" <<'PY'
import sys, os
w = sys.argv[1]
def put(name, text):
    with open(os.path.join(w, name), "w") as f:
        f.write(text)
# 50 MB: sections of prose, each with a step using a site variable (~65,000 steps)
para = "Plain prose about the service, with a [link](http://example.com/) and *emphasis* and `code`. " * 8
parts, n, i = [], 0, 0
while n < 50 << 20:
    s = f"## Part {i}\n\n{para}\n\n```bash\necho {{{{ site.x }}}} {i}\n```\n\n"
    parts.append(s); n += len(s); i += 1
put("page-50mb.md", "".join(parts))
# 50 MB of prose only (no Liquid, no steps)
line = "Plain prose about the service, with a [link](http://example.com/) and *emphasis*.\n\n"
put("prose-50mb.md", line * ((50 << 20) // len(line) + 1))
put("steps-10000.md", "# Steps\n\n" + "".join(
    f"Step {i}:\n\n```bash\necho {i} <host>\n```\n\n" for i in range(10000)))
put("lists-10000-deep.md", "- " * 10000 + "item\n")
put("quotes-10000-deep.md", "> " * 10000 + "deep\n")
put("liquid-10000-deep.md", "# A\n\n" + "{% if true %}" * 10000 + "x" + "{% endif %}" * 10000 + "\n")
laughs = 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n' + "".join(
    f"{n}: &{n} [{','.join(['*' + p] * 9)}]\n" for p, n in zip("abcdefgh", "bcdefghi"))
put("alias-bomb.md", "---\n" + laughs + "---\n{{ page.i }}\n")
PY

printf '%-22s %-7s %6s %10s %12s\n' input command exit "wall" "max RSS"
for page in page-50mb prose-50mb steps-10000 lists-10000-deep quotes-10000-deep liquid-10000-deep alias-bomb; do
  size=$(du -h "$work/$page.md" | cut -f1)
  for cmd in render list check; do
    set +e
    /usr/bin/time -o "$work/time" -f '%e s %M' "$rb" -q "$cmd" "$work/$page.md" >/dev/null 2>"$work/err"
    rc=$?
    set -e
    # on a non-zero exit GNU time writes "Command exited with non-zero status N" first
    read -r secs _ kb < <(tail -n 1 "$work/time") || true
    printf '%-22s %-7s %6s %8s s %9s KB   (%s)\n' "$page" "$cmd" "$rc" "$secs" "$kb" "$size"
  done
done
