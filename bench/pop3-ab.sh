#!/usr/bin/env bash
# Before/after POP3 benchmark of two posthorn binaries (say HEAD's and a
# change's), without the Postfix and Dovecot peers: each serves its own
# copy of the same 1,000 messages (smtp-source -l 1200, on 127.0.68.1 and
# 127.0.68.2), and ROUNDS times, alternating which goes first, the same
# Python client (mailstore-fetch-timing.py) does SESSIONS full downloads
# and SESSIONS login-only sessions on each. Server CPU is utime+stime
# from /proc/PID/stat, in clock ticks, before and after.
# usage: bench/pop3-ab.sh BIN_A BIN_B [ROUNDS] [SESSIONS]   (needs ../shared, root)
#   e.g. mkdir /tmp/a && git archive HEAD | tar -x -C /tmp/a && (cd /tmp/a && go build -o /tmp/ph-a ./cmd/posthorn)
#        go build -o /tmp/ph-b ./cmd/posthorn && bench/pop3-ab.sh /tmp/ph-a /tmp/ph-b 5
set -euo pipefail
A=$1; B=$2; rounds=${3:-5}; sessions=${4:-5}
shared=$(cd "$(dirname "$0")/../.." && pwd)/shared/bench
work=$(mktemp -d /var/tmp/p3ab.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
start() { # NAME BIN IP
  local name=$1 bin=$2 ip=$3
  mkdir -p "$work/$name"
  cat > "$work/$name/c.toml" <<CONF
hostname = "mx.example.test"
data_dir = "$work/$name/data"
domains  = ["example.test"]
allow_plaintext_auth = true
[listen]
smtp = ["$ip:25"]
pop3 = ["$ip:110"]
http = ["$ip:8025"]
CONF
  echo secret-bob | "$bin" user add bob@example.test --password-stdin --config "$work/$name/c.toml" >/dev/null
  "$bin" serve --config "$work/$name/c.toml" >/dev/null 2>"$work/$name/log" &
  pids+=($!); eval "pid_$name=$!"
  for _ in $(seq 50); do (exec 3<>/dev/tcp/$ip/110) 2>/dev/null && break; sleep 0.2; done
  smtp-source -s 5 -m 1000 -l 1200 -f bench@client.test -t bob@example.test "$ip:25"
}
start A "$A" 127.0.68.1
start B "$B" 127.0.68.2
ticks() { awk '{print $14+$15}' /proc/$1/stat; }
fetch() { python3 "$shared/mailstore-fetch-timing.py" pop3 "$1" 110 bob@example.test secret-bob --runs "$2"; }
login_only() { python3 - "$1" "$2" <<'PY'
import poplib, sys
for _ in range(int(sys.argv[2])):
    p = poplib.POP3(sys.argv[1], 110); p.user('bob@example.test'); p.pass_('secret-bob'); p.quit()
PY
}
fetch 127.0.68.1 1 >/dev/null; fetch 127.0.68.2 1 >/dev/null
echo "# $(date -u +%T) sessions=$sessions USER_HZ=$(getconf CLK_TCK)"
for i in $(seq "$rounds"); do
  order="A B"; [ $((i % 2)) -eq 0 ] && order="B A"
  for s in $order; do
    ip=127.0.68.1; [ $s = B ] && ip=127.0.68.2
    pid=$(eval echo \$pid_$s)
    t0=$(ticks $pid); out=$(fetch $ip "$sessions"); sleep 0.3; t1=$(ticks $pid)
    login_only $ip "$sessions"; sleep 0.3; t2=$(ticks $pid)
    w=$(echo "$out" | sed -n 's/.*median_total_s=\([0-9.]*\).*/\1/p')
    echo "$s round=$i load=$(cut -d' ' -f1 /proc/loadavg) download_ticks=$((t1-t0)) login_ticks=$((t2-t1)) wall=$w"
  done
done
