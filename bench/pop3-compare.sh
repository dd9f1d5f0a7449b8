#!/usr/bin/env bash
# Side-by-side POP3 download benchmark: posthorn against Dovecot (Debian's
# package, dovecot-peer.sh) serving the Maildir that the Postfix peer
# (postfix-peer.sh) delivered the same messages into: the classic
# Postfix+Dovecot stack.
#
# Both get MESSAGES messages of about 1.4 KB for bob@example.test from
# smtp-source. Then, ROUNDS times, alternating which server goes first,
# each server serves SESSIONS full downloads (mailstore-fetch-timing.py:
# connect, USER/PASS, STAT, RETR every message, QUIT; no TLS, Python's
# poplib) and SESSIONS login-only sessions (connect, USER/PASS, QUIT):
#   - server CPU: utime+stime from /proc/PID/stat before and after, in
#     clock ticks (USER_HZ). posthorn is one process. For Dovecot: the
#     master's own and reaped children's time (utime, stime, cutime,
#     cstime) plus utime+stime of every live child (auth, pop3-login,
#     pop3, anvil, log, ...), so processes that exit during the sessions
#     are counted too;
#   - wall time of each session (the client dominates it).
# A first, unmeasured session per server warms the caches (Dovecot builds
# its index and uidlist then); it is printed as "cold".
#
# The Postfix and Dovecot peers run on their own addresses (PF, DV) so that
# nothing else writes to bob's Maildir; bob's Maildir there is emptied
# first. Peers this script started are stopped at the end.
#
# usage: bench/pop3-compare.sh [ROUNDS] [MESSAGES]   (from the repo root; needs ../shared, root)
# env:   SESSIONS=5 (per round and server), SIZE=1200 (smtp-source -l; about
#        1.4 KB stored), PF=127.0.50.3, DV=127.0.51.3,
#        PROFILE_DIR=DIR: after the rounds, a pprof CPU profile of posthorn
#        (PROFILE_SECONDS=10) over repeated full downloads, DIR/pop3-cpu.pb.gz
#        with its top in DIR/pop3-cpu.top.txt and DIR/pop3-cpu.cum.txt
set -euo pipefail
rounds=${1:-5}; msgs=${2:-1000}
sessions=${SESSIONS:-5}; size=${SIZE:-1200}
root=$(cd "$(dirname "$0")/.." && pwd)
shared=$root/../shared/bench
work=$(mktemp -d /var/tmp/posthorn-pop3.XXXXXX)
TOKEN=bench-$$-$RANDOM
PH=127.0.61.1; PF=${PF:-127.0.50.3}; DV=${DV:-127.0.51.3}
maildir=/var/tmp/postfix-peer-$PF/mail/example.test/bob
started_pf=; started_dv=
cleanup() {
  kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true
  if [ -n "$started_dv" ]; then MAIL_BASE=/var/tmp/postfix-peer-$PF/mail bash "$shared/dovecot-peer.sh" stop "$DV" >/dev/null 2>&1 || true; fi
  if [ -n "$started_pf" ]; then bash "$shared/postfix-peer.sh" stop "$PF" >/dev/null 2>&1 || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/posthorn" "$root/cmd/posthorn"
bash "$shared/postfix-peer.sh" status "$PF" >/dev/null 2>&1 || started_pf=1
bash "$shared/postfix-peer.sh" start "$PF" >/dev/null
export MAIL_BASE=/var/tmp/postfix-peer-$PF/mail
bash "$shared/dovecot-peer.sh" status "$DV" >/dev/null 2>&1 || started_dv=1
bash "$shared/dovecot-peer.sh" start "$DV" >/dev/null
dvpid=$(cat "/var/tmp/dovecot-peer-$DV/run/master.pid")

cat > "$work/posthorn.toml" <<CONF
hostname = "mx.example.test"
data_dir = "$work/data"
domains  = ["example.test"]
allow_plaintext_auth = true
[listen]
smtp = ["$PH:25"]
pop3 = ["$PH:110"]
http = ["$PH:8025"]
[admin]
token = "$TOKEN"
CONF
echo secret-bob | "$work/posthorn" user add bob@example.test --password-stdin --config "$work/posthorn.toml" >/dev/null
"$work/posthorn" serve --config "$work/posthorn.toml" >/dev/null 2>"$work/serve.log" &
phpid=$!
for _ in $(seq 50); do (exec 3<>/dev/tcp/$PH/110) 2>/dev/null && break; sleep 0.2; done

echo "# $(date -u +%FT%TZ) $(uname -srm) nproc=$(nproc) $(go version | cut -d' ' -f3) $(dovecot --version | cut -d' ' -f1 | sed 's/^/dovecot=/')"
echo "# rounds=$rounds messages=$msgs sessions=$sessions smtp-source -l $size; USER_HZ=$(getconf CLK_TCK)"

# The same messages into both stores.
rm -rf "$maildir"/{new,cur,tmp} "$maildir"/dovecot* 2>/dev/null || true
for t in $PH:25 $PF:25; do
  smtp-source -s 5 -m "$msgs" -l "$size" -f bench@client.test -t bob@example.test "$t"
done
for _ in $(seq 1500); do
  [ "$(find "$maildir/new" -type f 2>/dev/null | wc -l)" -ge "$msgs" ] && break; sleep 0.2
done
echo "# delivered: posthorn (see STAT below), Postfix Maildir $(find "$maildir/new" -type f | wc -l) files, $(du -sk "$maildir/new" | cut -f1) KiB"

# ticks PID... : CPU ticks used so far by posthorn (one PID) or the Dovecot tree (master PID).
ticks() {
  python3 - "$@" <<'PY'
import os, sys
def stat(pid):
    with open(f'/proc/{pid}/stat') as f:
        s = f.read()
    rest = s[s.rindex(')') + 2:].split()  # fields from 3 (state) on
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
login_only() { # HOST PORT USER PASS N
  python3 - "$@" <<'PY'
import poplib, sys
h, port, u, pw, n = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
for _ in range(n):
    p = poplib.POP3(h, port); p.user(u); p.pass_(pw); p.quit()
PY
}
fetch() { # HOST RUNS → the lines of mailstore-fetch-timing.py
  python3 "$shared/mailstore-fetch-timing.py" pop3 "$1" 110 bob@example.test secret-bob --runs "$2"
}
measure() { # NAME HOST PIDARGS...
  local name=$1 host=$2; shift 2
  local t0 t1 t2 out
  t0=$(ticks "$@"); out=$(fetch "$host" "$sessions"); sleep 0.5; t1=$(ticks "$@")
  login_only "$host" 110 bob@example.test secret-bob "$sessions"; sleep 0.5; t2=$(ticks "$@")
  echo "$out" | grep ' run=' | sed "s/^/#   $name /"
  wall=$(echo "$out" | sed -n 's/.*median_total_s=\([0-9.]*\).*/\1/p')
  echo "$name cpu_ticks_download=$((t1 - t0)) cpu_ticks_login=$((t2 - t1)) sessions=$sessions median_wall_s=$wall"
}

echo "# cold (first session, not counted):"
fetch $PH 1 | grep ' run=' | sed 's/^/#   posthorn /'
fetch "$DV" 1 | grep ' run=' | sed 's/^/#   dovecot /'

declare -A cpu=() login=() wall=()
for i in $(seq "$rounds"); do
  echo "# round $i load=$(cut -d' ' -f1 /proc/loadavg)"
  order=(posthorn dovecot); [ $((i % 2)) -eq 0 ] && order=(dovecot posthorn)
  for s in "${order[@]}"; do
    if [ "$s" = posthorn ]; then line=$(measure posthorn $PH "$phpid"); else line=$(measure dovecot "$DV" "$dvpid" tree); fi
    echo "$line"
    last=$(echo "$line" | tail -1)
    c=$(echo "$last" | sed -n 's/.*cpu_ticks_download=\([0-9]*\).*/\1/p')
    l=$(echo "$last" | sed -n 's/.*cpu_ticks_login=\([0-9]*\).*/\1/p')
    w=$(echo "$last" | sed -n 's/.*median_wall_s=\([0-9.]*\).*/\1/p')
    cpu[$s]+="$c "; login[$s]+="$l "; wall[$s]+="$w "
  done
done

python3 - "${cpu[posthorn]}" "${cpu[dovecot]}" "${login[posthorn]}" "${login[dovecot]}" \
  "${wall[posthorn]}" "${wall[dovecot]}" "$(getconf CLK_TCK)" "$sessions" <<'PY'
import statistics as st, sys
v = [list(map(float, a.split())) for a in sys.argv[1:7]]
hz, n = int(sys.argv[7]), int(sys.argv[8])
ms = lambda ticks: 1000 * st.median(ticks) / hz / n
pc, dc, pl, dl = ms(v[0]), ms(v[1]), ms(v[2]), ms(v[3])
pw, dw = st.median(v[4]), st.median(v[5])
# The ratio to read is the median of the per-round ratios: each compares
# two runs taken seconds apart, so a load swing between rounds cancels.
def rr(a, b):
    r = [x / y for x, y in zip(a, b) if y]
    return st.median(r) if r else float('nan')
nan = float('nan')
print()
print('| per session (medians of rounds) | posthorn | Dovecot | ratio of medians | median of per-round ratios |')
print('|---|---:|---:|---:|---:|')
print(f'| server CPU, full download (ms) | {pc:.1f} | {dc:.1f} | {pc/dc:.2f} | {rr(v[0], v[1]):.2f} |')
print(f'| server CPU, login only (ms) | {pl:.1f} | {dl:.1f} | {pl/dl if dl else nan:.2f} | {rr(v[2], v[3]):.2f} |')
print(f'| server CPU, download minus login (ms) | {pc-pl:.1f} | {dc-dl:.1f} | {(pc-pl)/(dc-dl) if dc != dl else nan:.2f} | '
      f'{rr([a - b for a, b in zip(v[0], v[2])], [a - b for a, b in zip(v[1], v[3])]):.2f} |')
print(f'| wall time, full download (s) | {pw:.3f} | {dw:.3f} | {pw/dw:.2f} | {rr(v[4], v[5]):.2f} |')
print(f'# rounds cpu ticks posthorn={v[0]} dovecot={v[1]} login posthorn={v[2]} dovecot={v[3]}')
print(f'# rounds wall s posthorn={v[4]} dovecot={v[5]}')
PY

if [ -n "${PROFILE_DIR:-}" ]; then
  mkdir -p "$PROFILE_DIR"; secs=${PROFILE_SECONDS:-10}
  curl -sf -H "Authorization: Bearer $TOKEN" -o "$PROFILE_DIR/pop3-cpu.pb.gz" \
    "http://$PH:8025/debug/pprof/profile?seconds=$secs" &
  cpid=$!; sleep 0.2
  while kill -0 $cpid 2>/dev/null; do fetch $PH 1 >/dev/null; done
  wait $cpid
  go tool pprof -top -nodecount=30 "$PROFILE_DIR/pop3-cpu.pb.gz" >"$PROFILE_DIR/pop3-cpu.top.txt" 2>/dev/null
  go tool pprof -top -cum -nodecount=60 "$PROFILE_DIR/pop3-cpu.pb.gz" >"$PROFILE_DIR/pop3-cpu.cum.txt" 2>/dev/null
  echo "# profile: $PROFILE_DIR/pop3-cpu.pb.gz"
fi
