#!/usr/bin/env bash
# Memory per idle IDLE session on a selected 10,000-message mailbox
# (issue 6): SESSIONS sessions against posthorn, each LOGIN, SELECT INBOX,
# IDLE, held. Without TLS (imap) and with implicit TLS (imaps), ROUNDS
# times each, alternating. bench/imapload reports, per session:
#   - VmRSS: BASELINE sessions are opened and held first, then VmRSS is
#     read ("before"); the other sessions are opened, and after SETTLE it
#     is read again ("held"); the difference divided by the sessions
#     opened in between. The baseline is there because each argon2id
#     login takes 19 MiB for a moment, which the Go runtime keeps for a
#     while: a fixed cost of logging in, not of holding a session.
#   - Go heap + stacks in use after a forced GC (admin endpoint: pprof
#     heap?gc=1, then /metrics), at the same two moments.
#
# posthorn allows 50 sessions per user, so the sessions are spread over
# SESSIONS/50 users, each with its own INBOX of the same MESSAGES messages
# (bench/imap-maildir.py, `posthorn import`). Before the rounds one
# session per user selects its INBOX once, so the shared snapshots of the
# mailboxes (one per mailbox, whatever the sessions) are in memory before
# the "before" reading: the figure is what each further session costs.
#
# usage: bench/imap-idle-memory.sh [ROUNDS]   (from the repo root; root, for ulimit)
# env:   SESSIONS=1000, BASELINE=100, SETTLE=5s, MESSAGES=10000, PH=127.0.64.1
set -euo pipefail
rounds=${1:-3}
sessions=${SESSIONS:-1000}; msgs=${MESSAGES:-10000}
baseline=${BASELINE:-100}; settle=${SETTLE:-5s}
per_user=50
users=$(( (sessions + per_user - 1) / per_user ))
root=$(cd "$(dirname "$0")/.." && pwd)
work=$(mktemp -d /var/tmp/posthorn-imapmem.XXXXXX)
PH=${PH:-127.0.64.1}
TOKEN=bench-$$-$RANDOM
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

need=$((sessions * 2 + 1000))
[ "$(ulimit -Hn)" != unlimited ] && [ "$(ulimit -Hn)" -lt "$need" ] && ulimit -Hn "$need" 2>/dev/null
ulimit -n "$need" 2>/dev/null || ulimit -n "$(ulimit -Hn)"

go build -o "$work/posthorn" "$root/cmd/posthorn"
go build -o "$work/imapload" "$root/bench/imapload"
ip -4 addr show dev lo | grep " $PH/" >/dev/null || ip addr add "$PH/32" dev lo
cat > "$work/posthorn.toml" <<CONF
hostname = "mx.example.test"
data_dir = "$work/data"
domains  = ["example.test"]
allow_plaintext_auth = true
[listen]
imap  = ["$PH:143"]
imaps = ["$PH:993"]
http  = ["$PH:8025"]
[admin]
token = "$TOKEN"
[limits]
max_connections = $((sessions + 1000))
CONF
python3 "$root/bench/imap-maildir.py" "$work/md" "$msgs" 1
creds=()
for i in $(seq 0 $((users - 1))); do
  echo "secret-$i" | "$work/posthorn" user add "m$i@example.test" --password-stdin --config "$work/posthorn.toml" >/dev/null 2>&1
  "$work/posthorn" import "m$i@example.test" "$work/md" --config "$work/posthorn.toml" >/dev/null 2>&1
  creds+=("m$i@example.test:secret-$i")
done
userlist=$(IFS=,; echo "${creds[*]}")
"$work/posthorn" serve --config "$work/posthorn.toml" >/dev/null 2>"$work/serve.log" &
phpid=$!
for _ in $(seq 50); do (exec 3<>/dev/tcp/$PH/143) 2>/dev/null && break; sleep 0.2; done

echo "# $(date -u +%FT%TZ) $(uname -srm) nproc=$(nproc) $(go version | cut -d' ' -f3)"
echo "# rounds=$rounds sessions=$sessions baseline=$baseline settle=$settle users=$users messages=$msgs load=$(cut -d' ' -f1-3 /proc/loadavg)"
# One session per user selects its INBOX: the snapshots exist from now on.
"$work/imapload" -addr "$PH:143" -sessions "$users" -users "$userlist" -items "" -parallel 10 >/dev/null

for i in $(seq "$rounds"); do
  order=(plain tls); [ $((i % 2)) -eq 0 ] && order=(tls plain)
  for mode in "${order[@]}"; do
    if [ "$mode" = tls ]; then args=(-addr "$PH:993" -tls); else args=(-addr "$PH:143"); fi
    out=$("$work/imapload" "${args[@]}" -sessions "$sessions" -users "$userlist" -items "" \
      -parallel 2 -pid "$phpid" -baseline "$baseline" -settle "$settle" -admin "http://$PH:8025" -token "$TOKEN")
    echo "$mode round=$i load=$(cut -d' ' -f1 /proc/loadavg) $out"
  done
done | tee "$work/results"
echo "# end $(date -u +%FT%TZ)"

python3 - "$work/results" <<'PY'
import json, statistics as st, sys
res = {}
for line in open(sys.argv[1]):
    mode = line.split()[0]
    r = json.loads(line[line.index('{'):])
    res.setdefault(mode, []).append(r)
print()
print('| idle IDLE sessions, selected 10,000-message mailbox | without TLS | with TLS |')
print('|---|---:|---:|')
def row(label, f):
    print(f"| {label} | {f(res.get('plain', []))} | {f(res.get('tls', []))} |")
kib = lambda v: f'{v / 1024:.1f}'
row('VmRSS per session, median of rounds (KiB)', lambda rs: kib(st.median(r['per_session_bytes'] for r in rs)) if rs else '-')
row('VmRSS per session, each round (KiB)', lambda rs: ', '.join(kib(r['per_session_bytes']) for r in rs))
row('Go heap+stacks per session after GC, median (KiB)', lambda rs: kib(st.median(r['go_per_session_bytes'] for r in rs)) if rs else '-')
row('VmRSS before / held, median (MiB)', lambda rs: f"{st.median(r['rss_before_kib'] for r in rs) / 1024:.0f} / {st.median(r['rss_held_kib'] for r in rs) / 1024:.0f}" if rs else '-')
row('time to set up all sessions, median (s)', lambda rs: f"{st.median(r['wall_s'] for r in rs):.2f}" if rs else '-')
PY
