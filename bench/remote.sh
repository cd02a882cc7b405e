#!/usr/bin/env bash
# Steps over OpenSSH (issue 11): a page of N trivial steps run here, and run with --on on a
# real sshd started on a loopback address (127.0.0.9) with generated keys and a home without
# startup files; prints the cost of a remote step over the open connection against a local
# one: the slope between N and 2N steps (what a step adds), and all of it over N. Needs
# openssh-server and hyperfine (installed with apt when missing).
# usage: bench/remote.sh [N]
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
n=${1:-30}
need=()
[ -x /usr/sbin/sshd ] || need+=(openssh-server)
command -v hyperfine >/dev/null || need+=(hyperfine)
if [ ${#need[@]} -gt 0 ]; then
  (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}") >/dev/null
fi
cargo build --release --quiet --manifest-path "$here/Cargo.toml"
rb=$here/target/release/runbook
work=$(mktemp -d); pid=
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$work/home" "$work/tmp" /run/sshd 2>/dev/null || mkdir -p "$work/home" "$work/tmp"
ssh-keygen -q -t ed25519 -N '' -f "$work/host_key"
ssh-keygen -q -t ed25519 -N '' -f "$work/id"
cp "$work/id.pub" "$work/authorized_keys"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.9",0)); print(s.getsockname()[1])')
user=$(id -un)
cat > "$work/sshd_config" <<CFG
ListenAddress 127.0.0.9:$port
HostKey $work/host_key
AuthorizedKeysFile $work/authorized_keys
PidFile $work/sshd.pid
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
AllowUsers $user
SetEnv HOME=$work/home TMPDIR=$work/tmp
LogLevel ERROR
CFG
echo "[127.0.0.9]:$port $(cut -d' ' -f1-2 "$work/host_key.pub")" > "$work/known_hosts"
cat > "$work/ssh_config" <<CFG
Host bench
  HostName 127.0.0.9
  Port $port
  User $user
  IdentityFile $work/id
  IdentitiesOnly yes
  UserKnownHostsFile $work/known_hosts
  StrictHostKeyChecking yes
CFG
/usr/sbin/sshd -D -f "$work/sshd_config" -E "$work/sshd.log" & pid=$!
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.9/$port") 2>/dev/null && break
  sleep 0.1
done
# pages of N and 2N trivial steps: a step's cost over the open connection is the slope (what
# N more steps add), without the run's fixed costs (the handshake, the private folder made
# and removed, the master's exit), which the figure "all of it over N" also shows
for k in "$n" $((2 * n)); do
  { echo "# Steps"; echo; for i in $(seq "$k"); do printf '```bash\ntrue %s\n```\n\n' "$i"; done; } > "$work/page$k.md"
done
echo 'x: 1' > "$work/site.yaml"
cd "$work"
common="--yes --runs-dir $work/runs"
hyperfine -N --warmup 1 --runs 5 --export-json "$work/r.json" \
  -n local1 "$rb -q run page$n.md $common" \
  -n local2 "$rb -q run page$((2 * n)).md $common" \
  -n remote1 "$rb -q run page$n.md $common --on bench --ssh-config $work/ssh_config" \
  -n remote2 "$rb -q run page$((2 * n)).md $common --on bench --ssh-config $work/ssh_config" \
  -n "connect only (0 steps)" "ssh -F $work/ssh_config -o BatchMode=yes bench true" >/dev/null
python3 - "$work/r.json" "$n" <<'PY'
import json, sys
r = {x["command"]: x["mean"] for x in json.load(open(sys.argv[1]))["results"]}
n = int(sys.argv[2])
l1, l2, r1, r2, conn = (r[k] for k in ["local1", "local2", "remote1", "remote2", "connect only (0 steps)"])
print(f"{n} trivial steps: local {l1*1000:.0f} ms, over ssh {r1*1000:.0f} ms (one connection alone: {conn*1000:.0f} ms); {2*n}: local {l2*1000:.0f} ms, over ssh {r2*1000:.0f} ms")
print(f"all of it over {n} steps: {(r1-conn-l1)/n*1000:.1f} ms a step more than locally (the run's fixed costs included)")
print(f"a step over the open connection costs {((r2-r1)-(l2-l1))/n*1000:.1f} ms more than locally (what {n} more steps add; target: at most 15 ms)")
PY
