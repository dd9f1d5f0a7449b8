#!/usr/bin/env bash
# One posthorn node on PostgreSQL against one on SQLite, in the same run
# (issue 7): SMTP intake rate with `posthorn bench smtp`, what each
# message costs the database (transactions, i.e. round trips that end in
# a commit, and WAL fsyncs per message from pg_stat_database and
# pg_stat_wal; SQLite's commits per message from posthorn's own
# posthorn_intake_batch_messages count: one fsync each in WAL mode with
# synchronous=FULL), then IMAP FETCH 1:* (FLAGS ENVELOPE) of a
# 10,000-message mailbox on each.
#
# Fairness: both servers and the PostgreSQL cluster write to the same disk
# (/var/tmp); both run with their defaults (PostgreSQL fsync=on,
# synchronous_commit=on; SQLite synchronous=FULL); the order of the two
# alternates from round to round; the same client drives both.
#
# usage: bench/cluster-compare.sh [ROUNDS] [MESSAGES]   (repo root; root user; PostgreSQL binaries)
# env:   SESSIONS=20 SIZE=4096 FETCH_RUNS=3
set -euo pipefail
rounds=${1:-3}; msgs=${2:-2000}
sessions=${SESSIONS:-20}; size=${SIZE:-4096}; fetch_runs=${FETCH_RUNS:-3}
root=$(cd "$(dirname "$0")/.." && pwd)
shared=$root/../shared/bench
work=$(mktemp -d /var/tmp/posthorn-cluster-bench.XXXXXX)
chmod 755 "$work"
SQ=${SQ:-127.0.187.1}; PG=${PG:-127.0.188.1}
pgdir=$work/pg
cleanup() {
	kill $(jobs -p) 2>/dev/null || true
	wait 2>/dev/null || true
	"$root/.ci/pg-start.sh" --stop "$pgdir" >/dev/null 2>&1 || true
	rm -rf "$work"
}
trap cleanup EXIT

go build -o "$work/posthorn" "$root/cmd/posthorn"
admin_dsn=$("$root/.ci/pg-start.sh" "$pgdir")
# pg_stat_statements counts the statements each message costs.
psql "$admin_dsn" -qAtc "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'"
as_pg=(); [ "$(id -u)" -eq 0 ] && as_pg=(runuser -u postgres --)
"${as_pg[@]}" "$(pg_config --bindir)/pg_ctl" -D "$pgdir/data" -w restart >/dev/null
psql "$admin_dsn" -qAtc "CREATE DATABASE posthorn"
dsn=${admin_dsn/\/postgres\?//posthorn?}
psql "$dsn" -qAtc "CREATE EXTENSION pg_stat_statements"

conf() { # name addr [store lines]
	# Another benchmark may use the address: never measure someone else's
	# server.
	if (exec 3<>"/dev/tcp/$2/25") 2>/dev/null || (exec 3<>"/dev/tcp/$2/8025") 2>/dev/null; then
		echo "$2 is in use by another process; set SQ=/PG= to free loopback addresses" >&2
		exit 1
	fi
	mkdir -p "$work/$1"
	cat >"$work/$1/posthorn.toml" <<CONF
hostname = "mx.example.test"
data_dir = "$work/$1/data"
domains  = ["example.test"]
allow_plaintext_auth = true
[listen]
smtp = ["$2:25"]
imap = ["$2:143"]
http = ["$2:8025"]
$3
CONF
	echo secret | "$work/posthorn" user add alice@example.test --password-stdin --config "$work/$1/posthorn.toml" >/dev/null
	"$work/posthorn" serve --config "$work/$1/posthorn.toml" >/dev/null 2>"$work/$1/serve.log" &
	local pid=$!
	for _ in $(seq 100); do
		kill -0 "$pid" 2>/dev/null || break
		if curl -sf "http://$2:8025/healthz" >/dev/null; then
			sleep 0.5
			kill -0 "$pid" 2>/dev/null && return 0
		fi
		sleep 0.1
	done
	echo "posthorn $1 did not start:" >&2
	cat "$work/$1/serve.log" >&2
	exit 1
}
conf sqlite "$SQ" ""
conf postgres "$PG" "[store]
driver = \"postgres\"
dsn = \"$dsn\""

batches() { # addr: commits (group-commit batches) so far
	curl -sf "http://$1:8025/metrics" | awk '/^posthorn_intake_batch_messages_count/ {print $2}'
}
pgstats() { # transactions committed in the posthorn database, WAL syncs, WAL writes, statements
	sleep 1.2 # statistics reach the shared view at most once a second
	psql "$dsn" -qAtc "SELECT (SELECT xact_commit FROM pg_stat_database WHERE datname = 'posthorn'),
		(SELECT wal_sync FROM pg_stat_wal), (SELECT wal_write FROM pg_stat_wal),
		(SELECT coalesce(sum(calls), 0) FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
		 WHERE d.datname = 'posthorn' AND s.query NOT LIKE '%pg_stat%')" | tr '|' ' '
}

run() { # name addr -> prints one result line
	local name=$1 addr=$2 b0 b1 s0 s1 out
	b0=$(batches "$addr"); s0=$(pgstats)
	out=$("$work/posthorn" bench smtp --target "$addr:25" --messages "$msgs" --concurrency "$sessions" \
		--size "$size" --to alice@example.test --from bench@far.test --json)
	b1=$(batches "$addr"); s1=$(pgstats)
	python3 - "$name" "$out" "$b0" "$b1" $s0 $s1 "$msgs" "$(cut -d' ' -f1 /proc/loadavg)" <<'PY'
import json, sys
name, out, b0, b1 = sys.argv[1], json.loads(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
x0, sy0, w0, q0, x1, sy1, w1, q1 = map(float, sys.argv[5:13])
n, load = int(sys.argv[13]), sys.argv[14]
rate, p50 = out["messages_per_second"], out["latency_ms"]["p50"]
line = f"{name:9s} rate={rate:8.1f} msg/s  p50={p50:6.1f}ms  failed={out['failed']}  commits/msg={(b1-b0)/n:.3f}"
if name == "postgres":
    line += (f"  pg_xact/msg={(x1-x0)/n:.2f}  stmts/msg={(q1-q0)/n:.2f}"
             f"  wal_sync/msg={(sy1-sy0)/n:.3f}  wal_write/msg={(w1-w0)/n:.3f}")
print(line + f"  load={load}", flush=True)
PY
}

echo "# $(date -u +%FT%TZ) $(nproc) cores, $rounds rounds x $msgs messages of $size bytes, $sessions sessions"
echo "# uptime: $(uptime)"
for r in $(seq "$rounds"); do
	echo "## round $r"
	if ((r % 2)); then
		run sqlite "$SQ"; run postgres "$PG"
	else
		run postgres "$PG"; run sqlite "$SQ"
	fi
done

echo "## statements on PostgreSQL so far, by calls per bench message ($((rounds * msgs)) messages)"
psql "$dsn" -qAtc "SELECT lpad(round(calls::numeric / $((rounds * msgs)), 2)::text, 6) || '  ' ||
	left(regexp_replace(query, '\s+', ' ', 'g'), 110)
	FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
	WHERE d.datname = 'posthorn' AND query NOT LIKE '%pg_stat%' ORDER BY calls DESC LIMIT 12"

# Top the mailboxes up to 10,000 messages, then FETCH them all.
sent=$((rounds * msgs))
if ((sent < 10000)); then
	for a in "$SQ" "$PG"; do
		"$work/posthorn" bench smtp --target "$a:25" --messages $((10000 - sent)) --concurrency "$sessions" \
			--size "$size" --to alice@example.test --from bench@far.test --json >/dev/null
	done
fi
echo "## IMAP FETCH 1:* (FLAGS ENVELOPE), 10,000+ messages, $fetch_runs runs each, alternating"
for r in $(seq 2); do
	for a in "$SQ" "$PG"; do
		name=sqlite; [ "$a" = "$PG" ] && name=postgres
		echo "### $name (pass $r; pass 1 builds and stores the summaries)"
		python3 "$shared/mailstore-fetch-timing.py" imap "$a" 143 alice@example.test secret --runs "$fetch_runs"
	done
done
echo "# uptime: $(uptime)"
