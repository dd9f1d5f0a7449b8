#!/usr/bin/env bash
# Side-by-side relay benchmark (issue 4): posthorn and Postfix each take
# the same load from the same client and relay it to the same remote,
# smtpsink in group mode (one fdatasync per batch into its log), which is
# never the bottleneck. A run's rate is messages/s from the first
# submission until the sink has accepted the last message of the run, and
# every message's unique tag (the Subject "TAG SEQ" the load generator
# writes) must be in the sink's log exactly once: no loss, no duplicate.
#
#   posthorn: the submission listener (STARTTLS, AUTH PLAIN as alice, who
#             may send as herself), DKIM-signed, queued durably, relayed by
#             the queue through a [[route]] domain = "*" to the sink.
#   Postfix:  the Debian peer (postfix-peer.sh, default durability) with
#             relayhost = [sink]:port, fed on port 25 from mynetworks: it
#             does no TLS, no AUTH and no DKIM, so the comparison favours
#             it.
#   posthorn-fwd: the same work as Postfix: posthorn's MX listener on
#             port 25, no TLS, no AUTH, no DKIM, to fwd@example.test, an
#             alias whose one target is rcpt@remote.test (forwarding:
#             queued and relayed the same way, the message left intact).
# All get the same client: `posthorn bench smtp`, SESSIONS connections,
# several messages per connection (--reuse), one recipient.
#
# The order of the servers alternates from round to round. Before each
# run the script waits until the previous run's messages all reached the
# sink. Also recorded per run: the server's CPU time per message
# (utime+stime from /proc; for Postfix the master and every child).
#
# usage: flock /tmp/peer-postfix.lock bench/relay-compare.sh [ROUNDS] [MESSAGES]
#        (from the repo root; needs ../shared and root; the lock keeps other
#        helpers' runs of the Postfix peer away)
# env:   SIZE=1000 SESSIONS=20 PF=127.0.50.1
#        DKIM_PEER=1      give Postfix the submission path's work too: the
#                         client uses STARTTLS to it, and an OpenDKIM milter
#                         (Debian's opendkim, RSA-2048, relaxed/relaxed)
#                         signs every message (no SASL: Postfix still
#                         authenticates nobody)
#        PROFILE_DIR=DIR  after the rounds, a CPU profile of posthorn
#                         relaying submissions (PROFILE_SECONDS=10) into DIR
set -euo pipefail
rounds=${1:-3}; msgs=${2:-2000}
size=${SIZE:-1000}; sessions=${SESSIONS:-20}
root=$(cd "$(dirname "$0")/.." && pwd)
shared=$root/../shared/bench
work=$(mktemp -d /var/tmp/posthorn-relay.XXXXXX)
PH=127.0.60.4; SINK=127.0.70.4; PF=${PF:-127.0.50.1}
PFD=/var/tmp/postfix-peer-$PF
TOKEN=bench-$$-$RANDOM
cleanup() {
  kill $(jobs -p) 2>/dev/null || true; wait 2>/dev/null || true
  # leave the peer as postfix-peer.sh configures it
  postconf -c "$PFD/etc" -X relayhost smtpd_milters milter_default_action 2>/dev/null &&
    postfix -c "$PFD/etc" reload >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/posthorn" "$root/cmd/posthorn"
(cd "$shared/smtpsink" && GOFLAGS=-buildvcs=false go build -o "$work/smtpsink" .)
bash "$shared/postfix-peer.sh" start "$PF" >/dev/null
postconf -c "$PFD/etc" -e "relayhost = [$SINK]:25"
pfflags=(--target "$PF:25"); pfname=Postfix
if [ -n "${DKIM_PEER:-}" ]; then
  command -v opendkim >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q opendkim >/dev/null
  openssl genrsa -out "$work/dkim.key" 2048 2>/dev/null; chmod 600 "$work/dkim.key"
  cat > "$work/opendkim.conf" <<CONF
Syslog no
Mode s
Domain example.test
Selector bench
KeyFile $work/dkim.key
Canonicalization relaxed/relaxed
InternalHosts 127.0.0.0/8
Socket inet:18891@127.0.0.1
RequireSafeKeys false
CONF
  opendkim -f -x "$work/opendkim.conf" &
  odpid=$!
  postconf -c "$PFD/etc" -e "smtpd_milters = inet:127.0.0.1:18891" "milter_default_action = tempfail"
  pfflags+=(--tls starttls --insecure); pfname="Postfix+STARTTLS+OpenDKIM"
fi
postfix -c "$PFD/etc" reload >/dev/null 2>&1
cat > "$work/posthorn.toml" <<CONF
hostname = "mx.example.test"
data_dir = "$work/data"
domains  = ["example.test"]
[listen]
smtp = ["$PH:25"]
submission = ["$PH:587"]
http = ["$PH:8025"]
[admin]
token = "$TOKEN"
[limits]
send_per_hour = 0
recipients_per_hour = 0
[[route]]
domain = "*"
host = "$SINK:25"
tls = "none"
CONF
echo secret | "$work/posthorn" user add alice@example.test --password-stdin --config "$work/posthorn.toml" >/dev/null
"$work/posthorn" alias add fwd@example.test rcpt@remote.test --config "$work/posthorn.toml" >/dev/null
"$work/posthorn" serve --config "$work/posthorn.toml" >/dev/null 2>"$work/serve.log" &
phpid=$!
"$work/smtpsink" -addr $SINK:25 -mode group -file "$work/sink.log" >/dev/null 2>&1 &
for _ in $(seq 50); do (exec 3<>/dev/tcp/$PH/587) 2>/dev/null && break; sleep 0.2; done
pfpid=$(tr -d ' ' <"$PFD/spool/pid/master.pid")

echo "# $(date -u +%FT%TZ) $(uname -srm) nproc=$(nproc) $(go version | cut -d' ' -f3)"
echo "# rounds=$rounds messages=$msgs size=$size sessions=$sessions client=posthorn bench smtp --reuse postfix=$pfname"
load() { cut -d' ' -f1 /proc/loadavg; }

# ticks NAME: CPU clock ticks the server has used so far (Postfix: the
# master's own and reaped children's time plus every live child's, and
# OpenDKIM's with DKIM_PEER).
ticks() {
  case $1 in posthorn*) set -- "$phpid" ;; postfix) set -- "$pfpid" tree ${odpid:-} ;; esac
  python3 - "$@" <<'PY'
import os, sys
def stat(pid):
    with open(f'/proc/{pid}/stat') as f:
        s = f.read()
    rest = s[s.rindex(')') + 2:].split()
    return int(rest[1]), [int(x) for x in rest[11:15]]
pid = int(sys.argv[1]); tree = len(sys.argv) > 2
_, t = stat(pid)
total = sum(t) if tree else t[0] + t[1]
for extra in sys.argv[3:]:  # a helper outside the tree (the milter)
    total += sum(stat(int(extra))[1][:2])
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

# arrived TAG: how many of the run's messages the sink has logged.
arrived() { grep -a -c "^Subject: $1 " "$work/sink.log" || true; }

# run_one NAME TAG → "RATE CPU_US_PER_MSG DISTINCT DUPLICATES"
run_one() {
  local name=$1 tag=$2 flags=() start end t0 t1 n i
  case $name in
    posthorn) flags=(--target "$PH:587" --tls starttls --insecure --user alice@example.test
                     --from alice@example.test --to rcpt@remote.test) ;;
    posthorn-fwd) flags=(--target "$PH:25" --from bench@client.test --to fwd@example.test) ;;
    postfix) flags=("${pfflags[@]}" --from alice@example.test --to rcpt@remote.test) ;;
  esac
  t0=$(ticks "$name")
  start=$(date +%s.%N)
  POSTHORN_PASSWORD=secret "$work/posthorn" bench smtp "${flags[@]}" --messages "$msgs" --size "$size" \
    --concurrency "$sessions" --reuse --tag "$tag" \
    --json >>"$work/client.out" 2>>"$work/client.err" || echo "bench smtp $name $tag failed" >>"$work/client.err"
  for i in $(seq 6000); do
    n=$(arrived "$tag"); [ "$n" -ge "$msgs" ] && break; sleep 0.05
  done
  end=$(date +%s.%N)
  sleep 1 # a late duplicate would show now
  t1=$(ticks "$name")
  local seqs; seqs=$(grep -a "^Subject: $tag " "$work/sink.log" | tr -d '\r' | awk '{print $3}' | sort)
  echo "$(python3 -c "print(round($msgs/($end-$start)))") $(( (t1 - t0) * 1000000 / $(getconf CLK_TCK) / msgs ))" \
    "$(uniq <<<"$seqs" | grep -c . || true) $(uniq -d <<<"$seqs" | grep -c . || true)"
}

declare -A res=() cpu=()
bad=0
for i in $(seq "$rounds"); do
  line="round=$i load=$(load)"
  servers=(posthorn posthorn-fwd postfix)
  for k in 0 1 2; do
    name=${servers[$(( (i + k) % 3 ))]} # rotate: none always first
    tag="relay-$$-$i-$name"
    read -r v u d dup < <(run_one "$name" "$tag")
    res[$name]+="$v "; cpu[$name]+="$u "
    line+=" $name=$v/s,${u}us,distinct=$d,dup=$dup"
    if [ "$d" != "$msgs" ] || [ "$dup" != 0 ]; then bad=1; fi
  done
  echo "$line load_after=$(load)"
done

python3 - "${res[posthorn]}" "${res[posthorn-fwd]}" "${res[postfix]}" \
  "${cpu[posthorn]}" "${cpu[posthorn-fwd]}" "${cpu[postfix]}" "$pfname" <<'PY'
import statistics as st, sys
p, w, f, pc, wc, fc = ([float(x) for x in a.split()] for a in sys.argv[1:7])
pf = sys.argv[7]
# the median of the per-round ratios: each compares runs seconds apart
ratio = lambda a, b: st.median(x / y for x, y in zip(a, b) if y)
print()
print(f"| | posthorn submission | posthorn forward | {pf} | submission/{pf} | forward/{pf} |")
print("|---|---:|---:|---:|---:|---:|")
print(f"| relay msgs/s | {st.median(p):.0f} | {st.median(w):.0f} | {st.median(f):.0f} | {ratio(p, f):.2f} | {ratio(w, f):.2f} |")
print(f"| server CPU µs/msg | {st.median(pc):.0f} | {st.median(wc):.0f} | {st.median(fc):.0f} | {ratio(pc, fc):.2f} | {ratio(wc, fc):.2f} |")
print(f"# rounds msgs/s submission={[int(x) for x in p]} forward={[int(x) for x in w]} postfix={[int(x) for x in f]}")
print(f"# rounds cpu us/msg submission={[int(x) for x in pc]} forward={[int(x) for x in wc]} postfix={[int(x) for x in fc]}")
PY

if [ -n "${PROFILE_DIR:-}" ]; then
  mkdir -p "$PROFILE_DIR"; secs=${PROFILE_SECONDS:-10}
  curl -sf -H "Authorization: Bearer $TOKEN" -o "$PROFILE_DIR/relay-cpu.pb.gz" \
    "http://$PH:8025/debug/pprof/profile?seconds=$secs" &
  cpid=$!; sleep 0.2; k=0
  while kill -0 $cpid 2>/dev/null; do
    k=$((k + 1))
    POSTHORN_PASSWORD=secret "$work/posthorn" bench smtp --target "$PH:587" --tls starttls --insecure \
      --user alice@example.test --messages "$msgs" --size "$size" --concurrency "$sessions" --reuse \
      --from alice@example.test --to rcpt@remote.test --tag "prof-$k" >/dev/null 2>>"$work/client.err" || true
  done
  wait $cpid
  go tool pprof -top -nodecount=40 "$PROFILE_DIR/relay-cpu.pb.gz" >"$PROFILE_DIR/relay-cpu.top.txt" 2>/dev/null
  go tool pprof -top -cum -nodecount=60 "$PROFILE_DIR/relay-cpu.pb.gz" >"$PROFILE_DIR/relay-cpu.cum.txt" 2>/dev/null
  echo "# profile: $PROFILE_DIR/relay-cpu.pb.gz (load=$(load))"
fi

curl -sf "http://$PH:8025/metrics" | grep -E '^posthorn_(queue|smtpclient)_[a-z_]*total' | sed 's/^/# /' || true
if [ -s "$work/client.err" ]; then
  echo "# client errors ($(wc -l <"$work/client.err") lines), first:"; head -5 "$work/client.err" | sed 's/^/#   /'
else
  echo "# client errors: none"
fi
if [ -n "${DKIM_PEER:-}" ]; then
  echo "# OpenDKIM signatures in the sink's log (Postfix's messages): $(grep -a -c 's=bench;' "$work/sink.log" || true)"
fi
if [ "$bad" = 1 ]; then echo "# FAILED: a run lost or duplicated messages (see distinct/dup above)"; exit 1; fi
echo "# every message reached the sink exactly once"
