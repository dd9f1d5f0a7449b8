#!/usr/bin/env bash
# Side-by-side IMAP benchmark (issue 6): posthorn against Dovecot (Debian's
# package, dovecot-peer.sh) on the same 10,000 messages.
#
# bench/imap-maildir.py writes MESSAGES messages (2 to 4 KB) into a Maildir;
# hard links give alice and bob the same files. Dovecot serves that
# Maildir (MAIL_BASE); posthorn gets it with `posthorn import` into each
# user's INBOX. Sessions take alice and bob in turn, because posthorn
# allows 50 sessions per user (Dovecot's peer allows 1,000), so 100
# sessions are 50 on each of two 10,000-message mailboxes on both servers.
#
# Every session (bench/imapload): connect, LOGIN, SELECT INBOX, FETCH 1:*
# (FLAGS ENVELOPE), IDLE; when all idle, DONE and LOGOUT. No TLS. Then,
# ROUNDS times, alternating which server goes first, each server serves:
#   - single: SINGLES sessions one after another (one session at a time);
#   - many:   SESSIONS sessions at once;
#   - login:  SINGLES login-only sessions (connect, LOGIN, LOGOUT), since
#             posthorn checks an argon2id hash and the peer {PLAIN}.
# Measured: server CPU (utime+stime from /proc/PID/stat before and after,
# in USER_HZ ticks; for Dovecot the master's own and reaped children's
# plus every live child's) and wall time (imapload: connect to the last
# session idling). Ratios are medians of the per-round ratios.
#
# One warm-up per server and user is not counted: the first FETCH makes
# posthorn parse every message for its summaries and Dovecot build its
# index and cache; its times are printed as "cold".
#
# usage: flock /tmp/peer-dovecot.lock bench/imap-compare.sh [ROUNDS]
#        (from the repo root; needs ../shared and root)
# env:   MESSAGES=10000, SESSIONS=100, SINGLES=5, DV=127.0.51.6, PH=127.0.63.1,
#        SHARED_DIR=../shared (where bench/dovecot-peer.sh is)
#        PROFILE_DIR=DIR: after the rounds, a pprof CPU profile of posthorn
#        (PROFILE_SECONDS=10) over repeated 100-session runs, in DIR/imap-cpu.*
set -euo pipefail
rounds=${1:-5}
msgs=${MESSAGES:-10000}; sessions=${SESSIONS:-100}; singles=${SINGLES:-5}
root=$(cd "$(dirname "$0")/.." && pwd)
shared=${SHARED_DIR:-$root/../shared}/bench
[ -d "$shared" ] || { echo "imap-compare: $shared is missing (the bench peers)" >&2; exit 1; }
work=$(mktemp -d /var/tmp/posthorn-imap.XXXXXX)
chmod 755 "$work"
TOKEN=bench-$$-$RANDOM
PH=${PH:-127.0.63.1}; DV=${DV:-127.0.51.6}
export MAIL_BASE=$work/mail
started_dv=
cleanup() {
  kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true
  if [ -n "$started_dv" ]; then bash "$shared/dovecot-peer.sh" stop "$DV" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/posthorn" "$root/cmd/posthorn"
go build -o "$work/imapload" "$root/bench/imapload"
ip -4 addr show dev lo | grep " $PH/" >/dev/null || ip addr add "$PH/32" dev lo

# The same files for alice and bob, for both servers.
md=$MAIL_BASE/example.test
python3 "$root/bench/imap-maildir.py" "$md/alice" "$msgs" 1
mkdir -p "$md/bob"; cp -al "$md/alice/." "$md/bob/"
cat > "$work/posthorn.toml" <<CONF
hostname = "mx.example.test"
data_dir = "$work/data"
domains  = ["example.test"]
allow_plaintext_auth = true
[listen]
imap = ["$PH:143"]
http = ["$PH:8025"]
[admin]
token = "$TOKEN"
CONF
for u in alice bob; do
  echo "secret-$u" | "$work/posthorn" user add "$u@example.test" --password-stdin --config "$work/posthorn.toml" >/dev/null
  "$work/posthorn" import "$u@example.test" "$md/$u" --config "$work/posthorn.toml" 2>/dev/null | sed 's/^/# posthorn /'
done
chown -R 5000:5000 "$MAIL_BASE"
bash "$shared/dovecot-peer.sh" status "$DV" >/dev/null 2>&1 || started_dv=1
bash "$shared/dovecot-peer.sh" start "$DV" >/dev/null
# The port answers a moment before the master writes its pid file.
for _ in $(seq 50); do [ -s "/var/tmp/dovecot-peer-$DV/run/master.pid" ] && break; sleep 0.2; done
dvpid=$(cat "/var/tmp/dovecot-peer-$DV/run/master.pid")
"$work/posthorn" serve --config "$work/posthorn.toml" >/dev/null 2>"$work/serve.log" &
phpid=$!
for _ in $(seq 50); do (exec 3<>/dev/tcp/$PH/143) 2>/dev/null && break; sleep 0.2; done

echo "# $(date -u +%FT%TZ) $(uname -srm) nproc=$(nproc) $(go version | cut -d' ' -f3) dovecot=$(dovecot --version | cut -d' ' -f1)"
echo "# rounds=$rounds messages=$msgs sessions=$sessions singles=$singles USER_HZ=$(getconf CLK_TCK) load=$(cut -d' ' -f1-3 /proc/loadavg)"

# ticks PID [tree]: CPU ticks used so far by posthorn or the Dovecot tree.
ticks() {
  python3 - "$@" <<'PY'
import os, sys
def stat(pid):
    with open(f'/proc/{pid}/stat') as f:
        s = f.read()
    rest = s[s.rindex(')') + 2:].split()
    return int(rest[1]), [int(x) for x in rest[11:15]]  # ppid; utime stime cutime cstime
pid = int(sys.argv[1]); tree = len(sys.argv) > 2
_, t = stat(pid)
total = sum(t) if tree else t[0] + t[1]
if tree:
    for p in os.listdir('/proc'):
        if p.isdigit():
            try:
                ppid, c = stat(int(p))
            except OSError:
                continue
            if ppid == pid:
                total += c[0] + c[1]
print(total)
PY
}
load() { # HOST N [ARGS...] → imapload's JSON line
  local host=$1 n=$2; shift 2
  "$work/imapload" -addr "$host:143" -sessions "$n" \
    -users alice@example.test:secret-alice,bob@example.test:secret-bob "$@"
}
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])['$2'])" "$1"; }

for s in posthorn dovecot; do
  h=$PH; [ $s = dovecot ] && h=$DV
  for u in 1 2; do
    out=$(load "$h" 2 -parallel 1)
    echo "# cold $s (2 sessions, one per user; pass $u): wall_s=$(field "$out" wall_s) fetch_lines=$(field "$out" fetch_lines) fetch_bytes=$(field "$out" fetch_bytes)"
  done
done

# measure NAME HOST PIDARGS...: prints "NAME single_ticks single_wall many_ticks many_wall login_ticks"
measure() {
  local name=$1 host=$2; shift 2
  local t0 t1 t2 t3 walls=() out
  t0=$(ticks "$@")
  for _ in $(seq "$singles"); do
    out=$(load "$host" 1); walls+=("$(field "$out" wall_s)")
    [ "$(field "$out" fetch_lines)" = "$msgs" ] || { echo "$name: $out" >&2; exit 1; }
  done
  sleep 0.3; t1=$(ticks "$@")
  out=$(load "$host" "$sessions")
  [ "$(field "$out" fetch_lines)" = $((msgs * sessions)) ] || { echo "$name: $out" >&2; exit 1; }
  local many=$(field "$out" wall_s)
  sleep 0.3; t2=$(ticks "$@")
  load "$host" "$singles" -parallel 1 -login-only >/dev/null
  sleep 0.3; t3=$(ticks "$@")
  local sw=$(printf '%s\n' "${walls[@]}" | sort -g | sed -n "$(( (singles + 1) / 2 ))p")
  echo "$name $((t1 - t0)) $sw $((t2 - t1)) $many $((t3 - t2))"
}

res=$work/results
for i in $(seq "$rounds"); do
  echo "# round $i load=$(cut -d' ' -f1 /proc/loadavg)"
  order=(posthorn dovecot); [ $((i % 2)) -eq 0 ] && order=(dovecot posthorn)
  for s in "${order[@]}"; do
    if [ "$s" = posthorn ]; then line=$(measure posthorn "$PH" "$phpid"); else line=$(measure dovecot "$DV" "$dvpid" tree); fi
    echo "$line" | tee -a "$res" | sed 's/^/#   /'
  done
done
echo "# end $(date -u +%FT%TZ) load=$(cut -d' ' -f1-3 /proc/loadavg)"

python3 - "$res" "$(getconf CLK_TCK)" "$singles" "$sessions" <<'PY'
import statistics as st, sys
rows = [l.split() for l in open(sys.argv[1])]
hz, singles, sessions = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
ph = [list(map(float, r[1:])) for r in rows if r[0] == 'posthorn']
dv = [list(map(float, r[1:])) for r in rows if r[0] == 'dovecot']
def row(label, k, scale, fmt):
    p = [x[k] * scale for x in ph]; d = [x[k] * scale for x in dv]
    ratios = [a / b if b else float('nan') for a, b in zip(p, d)]
    print(f'| {label} | {fmt(st.median(p))} | {fmt(st.median(d))} | {st.median(ratios):.2f} |')
ms = lambda v: f'{v:.1f}'; s3 = lambda v: f'{v:.3f}'
print()
print(f'| medians of {len(ph)} rounds | posthorn | Dovecot | posthorn/Dovecot (median of per-round ratios) |')
print('|---|---:|---:|---:|')
row('1 session: server CPU per session (ms)', 0, 1000 / hz / singles, ms)
row('1 session: wall time, connect to IDLE (s)', 1, 1, s3)
row(f'{sessions} sessions: server CPU, all (ms)', 2, 1000 / hz, ms)
row(f'{sessions} sessions: wall time, start to last IDLE (s)', 3, 1, s3)
row('login only: server CPU per session (ms)', 4, 1000 / hz / singles, ms)
print(f'# raw (ticks, s): posthorn={ph} dovecot={dv}')
PY

if [ -n "${PROFILE_DIR:-}" ]; then
  mkdir -p "$PROFILE_DIR"; secs=${PROFILE_SECONDS:-10}
  curl -sf -H "Authorization: Bearer $TOKEN" -o "$PROFILE_DIR/imap-cpu.pb.gz" \
    "http://$PH:8025/debug/pprof/profile?seconds=$secs" &
  cpid=$!; sleep 0.2
  while kill -0 $cpid 2>/dev/null; do load "$PH" "$sessions" >/dev/null; done
  wait $cpid
  go tool pprof -top -nodecount=40 "$PROFILE_DIR/imap-cpu.pb.gz" >"$PROFILE_DIR/imap-cpu.top.txt" 2>/dev/null
  go tool pprof -top -cum -nodecount=80 "$PROFILE_DIR/imap-cpu.pb.gz" >"$PROFILE_DIR/imap-cpu.cum.txt" 2>/dev/null
  echo "# profile: $PROFILE_DIR/imap-cpu.pb.gz"
fi
