#!/usr/bin/env bash
# 10,000 idle SMTP connections held at once against posthorn: the server's
# resident memory (VmRSS) with them open, and how long a new client waits
# for its 220 greeting meanwhile (bench/idleconn; a benchmark figure,
# reported, not asserted). smtpsink, the least an SMTP receiver in Go can
# do, runs the same hold in the same run as a floor for comparison.
#
# The server's max_connections is set above CONNS; the file-descriptor
# limit is raised for the server and the client (both need CONNS+); the
# client spreads its connections over several loopback source addresses.
#
# usage: bench/idle-connections.sh [CONNS] [ROUNDS]   (from the repo root; root, for ulimit)
set -euo pipefail
conns=${1:-10000}; rounds=${2:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
shared=$root/../shared/bench
work=$(mktemp -d /var/tmp/posthorn-idle.XXXXXX)
PH=127.0.62.1; SINK=127.0.72.1
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

# Server and client are separate processes: each needs CONNS descriptors
# and a few hundred more (store, listeners, probes).
need=$((conns + 1000))
[ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt "$need" ] && ulimit -Hn "$need" 2>/dev/null
ulimit -n "$need" 2>/dev/null || ulimit -n "$(ulimit -Hn)"
[ "$(ulimit -n)" = unlimited ] || [ "$(ulimit -n)" -ge "$need" ] ||
  { echo "cannot raise ulimit -n to $need (hard limit $(ulimit -Hn))" >&2; exit 1; }

go build -o "$work/posthorn" "$root/cmd/posthorn"
go build -o "$work/idleconn" "$root/bench/idleconn"
(cd "$shared/smtpsink" && GOFLAGS=-buildvcs=false go build -o "$work/smtpsink" .)
cat > "$work/posthorn.toml" <<CONF
hostname = "mx.example.test"
data_dir = "$work/data"
domains  = ["example.test"]
[listen]
smtp = ["$PH:25"]
[limits]
max_connections = $((conns + 2000))
CONF
echo secret | "$work/posthorn" user add alice@example.test --password-stdin --config "$work/posthorn.toml" >/dev/null 2>&1

echo "# $(date -u +%FT%TZ) $(uname -srm) nproc=$(nproc) $(go version | cut -d' ' -f3) conns=$conns ulimit_n=$(ulimit -n)"
wait_port() { for _ in $(seq 100); do (exec 3<>/dev/tcp/$1/25) 2>/dev/null && return; sleep 0.1; done; echo "$1:25 not up" >&2; exit 1; }
for i in $(seq "$rounds"); do
  # a fresh server each round: the memory is that of the hold alone
  "$work/posthorn" serve --config "$work/posthorn.toml" >/dev/null 2>>"$work/serve.log" &
  ph=$!; wait_port $PH; sleep 1
  echo "posthorn round=$i load=$(cut -d' ' -f1 /proc/loadavg) $("$work/idleconn" -target $PH:25 -conns "$conns" -pid $ph 2>>"$work/client.log" | tr '\n' ' ')"
  kill $ph; wait $ph 2>/dev/null || true

  "$work/smtpsink" -addr $SINK:25 -mode null >/dev/null 2>&1 &
  sk=$!; wait_port $SINK; sleep 1
  echo "smtpsink round=$i load=$(cut -d' ' -f1 /proc/loadavg) $("$work/idleconn" -target $SINK:25 -conns "$conns" -pid $sk 2>>"$work/client.log" | tr '\n' ' ')"
  kill $sk; wait $sk 2>/dev/null || true
done
grep -i "error\|idleconn:" "$work/client.log" | head -5 | sed 's/^/# client: /' || true
echo "# server error lines: $(grep -c 'level=ERROR' "$work/serve.log" || true)"
grep 'level=ERROR' "$work/serve.log" | cut -c1-300 | sort | uniq -c | sort -rn | head -5 | sed 's/^/#   /' || true
