#!/usr/bin/env bash
# A fleet over OpenSSH (run --on GROUP --parallel N): 20 real sshd started on loopback
# addresses (127.0.0.101 .. 127.0.0.120, a free port each, a host key each, one shared user
# key, homes without startup files), a page of 5 steps (trivial, then each taking 0.5 s),
# timed on the group of one host against the group of all 20 with --parallel 10. Target: the 20 hosts within 2.5x the
# time of one. Prints both means and the ratio; a miss is reported, not an error. Then the same
# ratio for bare `ssh HOST true` connections: the floor that any tool driving OpenSSH has here.
# Needs openssh-server and hyperfine (installed with apt when missing).
# usage: bench/fleet.sh [RUNS]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
runs=${1:-5}
hosts=20 parallel=10 target=2.5
need=()
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v hyperfine >/dev/null || need+=(hyperfine)
if [ ${#need[@]} -gt 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}") >/dev/null
fi
cargo build --release --quiet --manifest-path "$here/Cargo.toml"
rb=$here/target/release/runbook
work=$(mktemp -d); pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p /run/sshd 2>/dev/null || true
ssh-keygen -q -t ed25519 -N '' -f "$work/id"
cp "$work/id.pub" "$work/authorized_keys"
user=$(id -un)
: > "$work/ssh_config"
for i in $(seq "$hosts"); do
  name=$(printf 'node%02d' "$i") addr=127.0.0.$((100 + i)) d=$work/$name
  mkdir -p "$d/home" "$d/tmp"
  ssh-keygen -q -t ed25519 -N '' -f "$d/host_key"
  port=$(python3 -c 'import socket, sys; s=socket.socket(); s.bind((sys.argv[1],0)); print(s.getsockname()[1])' "$addr")
  cat > "$d/sshd_config" <<CFG
ListenAddress $addr:$port
HostKey $d/host_key
AuthorizedKeysFile $work/authorized_keys
PidFile $d/sshd.pid
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers $user
MaxStartups 100
SetEnv HOME=$d/home TMPDIR=$d/tmp
LogLevel ERROR
CFG
  echo "[$addr]:$port $(cut -d' ' -f1-2 "$d/host_key.pub")" > "$d/known_hosts"
  cat >> "$work/ssh_config" <<CFG
Host $name
  HostName $addr
  Port $port
  User $user
  IdentityFile $work/id
  IdentitiesOnly yes
  UserKnownHostsFile $d/known_hosts
  StrictHostKeyChecking yes
CFG
  /usr/sbin/sshd -D -f "$d/sshd_config" -E "$d/sshd.log" & pids+=($!)
  echo "$addr $port" >> "$work/listen"
done
while read -r addr port; do
  for _ in $(seq 100); do
    (exec 3<>"/dev/tcp/$addr/$port") 2>/dev/null && continue 2
    sleep 0.1
  done
  echo "sshd on $addr:$port is not listening after 10 s" >&2; exit 1
done < "$work/listen"
{ echo '[fleet]'; for i in $(seq "$hosts"); do printf 'node%02d\n' "$i"; done
  echo; echo '[one]'; echo node01; } > "$work/inventory.ini"
# the recipe: 5 steps that do nothing (the worst case: all of a host's time is runbook's and
# ssh's CPU), and the same 5 steps each also taking 0.5 s, as a real command does (a package
# install, a service restart)
page() {
  echo '# Fleet'
  for cmd in 'export A=$RANDOM' 'cd /tmp' 'echo $A > /dev/null' 'ls > /dev/null' 'true'; do
    printf '\n```bash\n%s%s\n```\n' "$cmd" "${1:+; sleep $1}"
  done
}
page > "$work/page.md"
page 0.5 > "$work/slow.md"
echo 'x: 1' > "$work/site.yaml"  # found upward from the page
cd "$work"
common="--inventory $work/inventory.ini --ssh-config $work/ssh_config --yes --runs-dir $work/runs"
# every host answers before timing (runbook exits non-zero unless every host succeeded)
"$rb" -q run page.md --on fleet $common --parallel "$parallel" 2>"$work/check.log" || {
  cat "$work/check.log" >&2; exit 1; }
measure() { # PAGE LABEL
  hyperfine -N --warmup 1 --runs "$runs" --export-json "$work/r.json" \
    -n one "$rb -q run $1 --on one $common" \
    -n fleet "$rb -q run $1 --on fleet $common --parallel $parallel" >/dev/null
  python3 - "$work/r.json" "$hosts" "$parallel" "$target" "$2" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
hosts, parallel, target = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
one, fleet = r["one"]["mean"], r["fleet"]["mean"]
sd = lambda x: (x.get("stddev") or 0) * 1000
ratio = fleet / one
print(f"{sys.argv[5]}: 1 host {one*1000:.0f} ms (±{sd(r['one']):.0f}), "
      f"{hosts} hosts --parallel {parallel} {fleet*1000:.0f} ms (±{sd(r['fleet']):.0f}); "
      f"ratio {ratio:.2f}x (target: at most {target}x): {'met' if ratio <= target else 'NOT met'}")
PY
}
echo "$(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg)"
measure page.md "5 trivial steps"
measure slow.md "5 steps of 0.5 s"
# The floor under the first figure: OpenSSH alone, `ssh HOST true` to one host against the 20
# hosts 10 at a time, with the default key exchange (Debian 12's OpenSSH 9.2:
# sntrup761x25519) and with curve25519-sha256 for comparison. Here the servers' CPU is this
# machine's too; on a real fleet each host pays its own.
printf '%s\n' $(seq -f 'node%02g' "$hosts") > "$work/hosts"
for kex in default curve25519-sha256; do
  opts="-F $work/ssh_config -o BatchMode=yes"
  [ $kex = default ] || opts="$opts -o KexAlgorithms=$kex"
  hyperfine -N --warmup 1 --runs "$runs" --export-json "$work/s.json" \
    -n one "ssh $opts node01 true" \
    -n fleet "xargs -a $work/hosts -P $parallel -I{} ssh $opts {} true" >/dev/null
  python3 - "$work/s.json" "$hosts" "$parallel" "$kex" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
print(f"ssh alone ({sys.argv[4]} key exchange): 1 host {r['one']*1000:.0f} ms, "
      f"{sys.argv[2]} hosts {sys.argv[3]} at a time {r['fleet']*1000:.0f} ms; "
      f"ratio {r['fleet']/r['one']:.2f}x")
PY
done
