#!/usr/bin/env bash
# Side-by-side SMTP intake benchmark: posthorn, Postfix (Debian package,
# default durability) and smtpsink (group commit: the machine's ceiling),
# all driven in the same run by Postfix's smtp-source (one connection per
# message) and by posthorn's own generator, once like smtp-source and once
# with pipelining and connection reuse. Prints every round, the load of the
# machine at each round, medians and the ratios the performance issue asks
# for (docs/performance.md).
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
trap 'kill $(jobs -p) 2>/dev/null; wait 2>/dev/null; rm -rf "$work"' EXIT

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
"$work/smtpsink" -addr $SINK:25 -mode group -file "$work/sink.log" >/dev/null 2>&1 &
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

source_rate() { # HOST:PORT SIZE → accepted messages/s with smtp-source
  local start end
  settle
  start=$(date +%s.%N)
  smtp-source -s "$sessions" -m "$msgs" -l "$2" -f bench@client.test -t alice@example.test "$1" \
    >/dev/null 2>>"$work/client.err" || echo "smtp-source $1 size=$2 failed" >>"$work/client.err"
  end=$(date +%s.%N)
  python3 -c "print(round($msgs/($end-$start)))"
}
gen_rate() { # HOST:PORT SIZE [FLAGS...] → messages/s with posthorn bench smtp
  local target=$1 size=$2; shift 2
  local out
  settle
  # exit status 1 when a message failed: still a result, but logged
  out=$("$work/posthorn" bench smtp --target "$target" --messages "$msgs" --size "$size" \
    --concurrency "$sessions" --from bench@client.test --to alice@example.test --json "$@" \
    2>>"$work/client.err") || echo "bench smtp $target size=$size $* failed" >>"$work/client.err"
  python3 -c 'import json,sys; print(round(json.loads(sys.argv[1] or "{}").get("messages_per_second", 0)))' "$out"
}
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
ratio() { python3 -c "print(f'{$1/$2:.2f}' if $2 else 'n/a')"; }

servers=(posthorn:$PH:25 postfix:$PF:25 smtpsink:$SINK:25)
clients=(source gen gen-pipe)
declare -A res=()
for size in $sizes; do
  for i in $(seq "$rounds"); do
    line="size=$size round=$i load=$(load)"
    # rotate the order of the servers: none always runs first or last
    for k in 0 1 2; do
      s=${servers[$(( (i + k) % 3 ))]}; name=${s%%:*}; addr=${s#*:}
      for c in "${clients[@]}"; do
        case $c in
          source) v=$(source_rate "$addr" "$size") ;;
          gen) v=$(gen_rate "$addr" "$size") ;;
          gen-pipe) v=$(gen_rate "$addr" "$size" --pipelining --reuse) ;;
        esac
        res[$size,$name,$c]+="$v "
        line+=" $name/$c=$v"
      done
    done
    echo "$line load_after=$(load)"
  done
done

echo
echo "| size | client | posthorn | Postfix | smtpsink | posthorn/smtpsink | posthorn/Postfix |"
echo "|---:|---|---:|---:|---:|---:|---:|"
for size in $sizes; do
  for c in "${clients[@]}"; do
    p=$(echo ${res[$size,posthorn,$c]} | median); f=$(echo ${res[$size,postfix,$c]} | median)
    s=$(echo ${res[$size,smtpsink,$c]} | median)
    echo "| $size | $c | $p | $f | $s | $(ratio "$p" "$s") | $(ratio "$p" "$f") |"
  done
  p=$(echo ${res[$size,posthorn,source]} | median); g=$(echo ${res[$size,posthorn,gen-pipe]} | median)
  echo "# size=$size posthorn gen-pipe/source = $(ratio "$g" "$p")"
done
for k in "${!res[@]}"; do echo "# rounds $k = [${res[$k]% }]"; done | sort -V

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
