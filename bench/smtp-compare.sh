#!/usr/bin/env bash
# Side-by-side SMTP intake benchmark: posthorn, Postfix (Debian package,
# default durability) and smtpsink (group commit: the machine's ceiling),
# all driven in the same run by Postfix's smtp-source (one connection per
# message) and by posthorn's own generator, once like smtp-source and once
# with pipelining and connection reuse. Prints every round, the load of the
# machine at each round, medians and the ratios the performance issue asks
# for (docs/performance.md).
#
# Besides the rate, every run records the CPU time the server spent on it
# (utime+stime from /proc, before and after; for Postfix its master with
# every child, including the deliveries to the Maildir that follow the
# run, so both servers are charged for a message's whole way into the
# mailbox): CPU per message hardly depends on what else the shared
# machine is doing, when the rates swing by half.
#
# Fairness:
#   - every server writes to the same ext4 disk (posthorn's data_dir and
#     smtpsink's file under /var/tmp, like the Postfix peer's queue);
#   - the order of the servers rotates from round to round;
#   - Postfix accepts into its queue and delivers to the Maildir afterwards,
#     so before every run the script waits until the peer's queue is empty:
#     its deliveries never eat the CPU of the next server's run;
#   - posthorn runs with its defaults: SQLite synchronous=FULL, each 250
#     only after the batch holding the message is fsynced.
#
# usage: bench/smtp-compare.sh [ROUNDS] [MESSAGES]   (from the repo root; needs ../shared, root)
# env:   SIZES="1000 100000"  message sizes (smtp-source -l)
#        SESSIONS=20          parallel sessions of every client
#        PROFILE_DIR=DIR      after the rounds, profile posthorn (pprof CPU,
#                             PROFILE_SECONDS=10) under smtp-source load, one
#                             profile per size: DIR/cpu-SIZE.pb.gz and the top
#                             in DIR/cpu-SIZE.top.txt
#        PF=127.0.50.1        address of the Postfix peer (postfix-peer.sh)
set -euo pipefail
rounds=${1:-3}; msgs=${2:-3000}
sizes=${SIZES:-1000 100000}; sessions=${SESSIONS:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
shared=$root/../shared/bench
work=$(mktemp -d /var/tmp/posthorn-bench.XXXXXX)
PH=127.0.60.1; SINK=127.0.70.1; PF=${PF:-127.0.50.1}
PFQ=/var/tmp/postfix-peer-$PF/spool
TOKEN=bench-$$-$RANDOM
trap 'kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$work"' EXIT

go build -o "$work/posthorn" "$root/cmd/posthorn"
(cd "$shared/smtpsink" && GOFLAGS=-buildvcs=false go build -o "$work/smtpsink" .)
bash "$shared/postfix-peer.sh" start "$PF" >/dev/null
cat > "$work/posthorn.toml" <<CONF
hostname = "mx.example.test"
data_dir = "$work/data"
domains  = ["example.test"]
[listen]
smtp = ["$PH:25"]
http = ["$PH:8025"]
[admin]
token = "$TOKEN"
CONF
echo secret | "$work/posthorn" user add alice@example.test --password-stdin --config "$work/posthorn.toml" >/dev/null
"$work/posthorn" serve --config "$work/posthorn.toml" >/dev/null 2>"$work/serve.log" &
phpid=$!
"$work/smtpsink" -addr $SINK:25 -mode group -file "$work/sink.log" >/dev/null 2>&1 &
skpid=$!
pfpid=$(tr -d ' ' <"$PFQ/pid/master.pid")
for _ in $(seq 50); do (exec 3<>/dev/tcp/$PH/25) 2>/dev/null && break; sleep 0.2; done

echo "# $(date -u +%FT%TZ) $(uname -srm) nproc=$(nproc) mem=$(free -g | awk '/Mem:/{print $2}')GiB $(go version | cut -d' ' -f3)"
echo "# rounds=$rounds messages=$msgs sessions=$sessions sizes=[$sizes]"

# settle waits (at most 300 s) until the Postfix peer's queue is empty.
settle() {
  local i
  for i in $(seq 3000); do
    [ -z "$(find "$PFQ/incoming" "$PFQ/active" "$PFQ/maildrop" -type f -print -quit 2>/dev/null)" ] && return
    sleep 0.1
  done
  echo "# warning: Postfix queue not empty after 300 s" >&2
}
load() { cut -d' ' -f1 /proc/loadavg; }

# ticks NAME: CPU clock ticks (USER_HZ) the server has used so far. Postfix:
# the master's own and reaped children's time plus every live child's.
ticks() {
  case $1 in
    posthorn) set -- "$phpid" ;; smtpsink) set -- "$skpid" ;; postfix) set -- "$pfpid" tree ;;
  esac
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

# run_one NAME HOST:PORT SIZE CLIENT → "RATE CPU_US_PER_MESSAGE": accepted
# messages/s, and the server's CPU microseconds per message (after the
# Postfix queue drained: its deliveries count).
run_one() {
  local name=$1 target=$2 size=$3 client=$4 start end out t0 t1 rate
  settle
  t0=$(ticks "$name")
  case $client in
    source)
      start=$(date +%s.%N)
      smtp-source -s "$sessions" -m "$msgs" -l "$size" -f bench@client.test -t alice@example.test "$target" \
        >/dev/null 2>>"$work/client.err" || echo "smtp-source $target size=$size failed" >>"$work/client.err"
      end=$(date +%s.%N)
      rate=$(python3 -c "print(round($msgs/($end-$start)))") ;;
    gen|gen-pipe)
      local flags=(); [ "$client" = gen-pipe ] && flags=(--pipelining --reuse)
      # exit status 1 when a message failed: still a result, but logged
      out=$("$work/posthorn" bench smtp --target "$target" --messages "$msgs" --size "$size" \
        --concurrency "$sessions" --from bench@client.test --to alice@example.test --json "${flags[@]}" \
        2>>"$work/client.err") || echo "bench smtp $target size=$size $client failed" >>"$work/client.err"
      rate=$(python3 -c 'import json,sys; print(round(json.loads(sys.argv[1] or "{}").get("messages_per_second", 0)))' "$out") ;;
  esac
  settle
  t1=$(ticks "$name")
  echo "$rate $(( (t1 - t0) * 1000000 / $(getconf CLK_TCK) / msgs ))"
}

servers=(posthorn:$PH:25 postfix:$PF:25 smtpsink:$SINK:25)
clients=(source gen gen-pipe)
declare -A res=() cpu=()
for size in $sizes; do
  for i in $(seq "$rounds"); do
    line="size=$size round=$i load=$(load)"
    # rotate the order of the servers: none always runs first or last
    for k in 0 1 2; do
      s=${servers[$(( (i + k) % 3 ))]}; name=${s%%:*}; addr=${s#*:}
      for c in "${clients[@]}"; do
        read -r v u < <(run_one "$name" "$addr" "$size" "$c")
        res[$size,$name,$c]+="$v "; cpu[$size,$name,$c]+="$u "
        line+=" $name/$c=$v/${u}us"
      done
    done
    echo "$line load_after=$(load)"
  done
done

# The table: medians of the rounds, and the median of the per-round ratios
# (each ratio taken between runs seconds apart: steadier on a shared machine
# than the ratio of medians).
{ for k in "${!res[@]}"; do echo "rate,$k ${res[$k]}"; done
  for k in "${!cpu[@]}"; do echo "cpu,$k ${cpu[$k]}"; done; } | python3 -c '
import statistics as st, sys
r, u = {}, {}
for line in sys.stdin:
    key, *vals = line.split()
    kind, size, server, client = key.split(",")
    (r if kind == "rate" else u)[(int(size), client, server)] = [float(v) for v in vals]
print()
print("| size | client | posthorn | Postfix | smtpsink | posthorn/smtpsink | posthorn/Postfix |")
print("|---:|---|---:|---:|---:|---:|---:|")
ratio = lambda a, b: st.median(x / y for x, y in zip(a, b) if y)
for size in sorted({k[0] for k in r}):
    for c in ("source", "gen", "gen-pipe"):
        p, f, s = (r[(size, c, n)] for n in ("posthorn", "postfix", "smtpsink"))
        print(f"| {size} | {c} | {st.median(p):.0f} | {st.median(f):.0f} | {st.median(s):.0f} "
              f"| {ratio(p, s):.2f} | {ratio(p, f):.2f} |")
    g = ratio(r[(size, "gen-pipe", "posthorn")], r[(size, "source", "posthorn")])
    print(f"# size={size} posthorn gen-pipe/source (median of rounds) = {g:.2f}")
print()
print("| size | client | CPU µs/msg posthorn | Postfix | smtpsink | posthorn/Postfix | posthorn/smtpsink |")
print("|---:|---|---:|---:|---:|---:|---:|")
for size in sorted({k[0] for k in u}):
    for c in ("source", "gen", "gen-pipe"):
        p, f, s = (u[(size, c, n)] for n in ("posthorn", "postfix", "smtpsink"))
        print(f"| {size} | {c} | {st.median(p):.0f} | {st.median(f):.0f} | {st.median(s):.0f} "
              f"| {ratio(p, f):.2f} | {ratio(p, s):.2f} |")
for k in sorted(r):
    print(f"# rounds size={k[0]} {k[2]}/{k[1]} msgs/s = {[int(v) for v in r[k]]} cpu_us/msg = {[int(v) for v in u[k]]}")
'

if [ -n "${PROFILE_DIR:-}" ]; then
  mkdir -p "$PROFILE_DIR"; secs=${PROFILE_SECONDS:-10}
  for size in $sizes; do
    settle
    curl -sf -H "Authorization: Bearer $TOKEN" -o "$PROFILE_DIR/cpu-$size.pb.gz" \
      "http://$PH:8025/debug/pprof/profile?seconds=$secs" &
    cpid=$!; sleep 0.2
    # keep posthorn under smtp-source load for the whole profile
    while kill -0 $cpid 2>/dev/null; do
      smtp-source -s "$sessions" -m "$msgs" -l "$size" -f bench@client.test -t alice@example.test $PH:25 \
        >/dev/null 2>>"$work/client.err" || true
    done
    wait $cpid
    go tool pprof -top -nodecount=30 "$PROFILE_DIR/cpu-$size.pb.gz" >"$PROFILE_DIR/cpu-$size.top.txt" 2>/dev/null
    go tool pprof -top -cum -nodecount=40 "$PROFILE_DIR/cpu-$size.pb.gz" >"$PROFILE_DIR/cpu-$size.cum.txt" 2>/dev/null
    echo "# profile size=$size: $PROFILE_DIR/cpu-$size.pb.gz (load=$(load))"
  done
fi

# Every message must have been accepted, or the rates mean nothing.
curl -sf "http://$PH:8025/metrics" | grep '^posthorn_smtp_messages_total' | sed 's/^/# /' || true
if [ -s "$work/client.err" ]; then
  echo "# client errors ($(wc -l <"$work/client.err") lines), first:"; head -5 "$work/client.err" | sed 's/^/#   /'
else
  echo "# client errors: none"
fi
