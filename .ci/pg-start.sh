#!/usr/bin/env bash
# pg-start.sh: a private, throw-away PostgreSQL cluster for tests.
#
#   .ci/pg-start.sh [DIR]        start a cluster in DIR (default: a new
#                                temporary directory); print its DSN on
#                                stdout, and nothing else
#   .ci/pg-start.sh --stop DIR   stop the cluster in DIR and remove DIR
#
# The cluster listens on 127.0.0.1 only, on a free port picked at random
# (so parallel runs do not collide), with its Unix socket inside DIR. The
# superuser "postgres" has a random password (scram-sha-256), written to
# DIR/password and put in the DSN; no other role or host may connect.
# initdb refuses to run as root, so under root (CI) the cluster runs as the
# "postgres" OS user that Debian's postgresql package creates.
#
# Server binaries: $PG_BINDIR, else `pg_config --bindir`, else the newest
# /usr/lib/postgresql/*/bin. Install them with `apt-get install postgresql`.
#
# Usage in a script:
#   dir=$(mktemp -d) && export POSTHORN_TEST_PG_DSN=$(.ci/pg-start.sh "$dir")
#   trap '.ci/pg-start.sh --stop "$dir"' EXIT
set -euo pipefail

die() {
	echo "pg-start.sh: $*" >&2
	exit 1
}

bindir() {
	if [ -n "${PG_BINDIR:-}" ]; then
		echo "$PG_BINDIR"
		return
	fi
	local d
	if d=$(pg_config --bindir 2>/dev/null) && [ -x "$d/initdb" ]; then
		echo "$d"
		return
	fi
	d=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)
	[ -n "$d" ] && [ -x "$d/initdb" ] || die "no PostgreSQL server binaries (apt-get install postgresql, or set PG_BINDIR)"
	echo "$d"
}

# as runs a command as the cluster's owner: ourselves, or postgres under root.
as() {
	if [ "$(id -u)" -eq 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

port_free() {
	! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

if [ "${1:-}" = "--stop" ]; then
	dir=${2:?usage: pg-start.sh --stop DIR}
	[ -f "$dir/data/PG_VERSION" ] || die "$dir holds no cluster"
	bin=$(bindir)
	as "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
	rm -rf "$dir"
	exit 0
fi

bin=$(bindir)
dir=${1:-$(mktemp -d "${TMPDIR:-/tmp}/posthorn-pg.XXXXXX")}
mkdir -p "$dir"
dir=$(cd "$dir" && pwd)
[ ! -e "$dir/data" ] || die "$dir/data exists: one cluster per directory"
if [ "$(id -u)" -eq 0 ]; then
	id postgres >/dev/null 2>&1 || die "running as root needs the postgres OS user (apt-get install postgresql)"
	chown postgres: "$dir"
fi
chmod 700 "$dir"

pw=$(head -c 18 /dev/urandom | base64 | tr '+/' '-_')
as sh -c 'umask 077 && cat >"$1/password"' sh "$dir" <<<"$pw"
as "$bin/initdb" -D "$dir/data" -U postgres --pwfile="$dir/password" \
	--auth=scram-sha-256 -E UTF8 --locale=C.UTF-8 --no-instructions >"$dir/initdb.log" 2>&1 ||
	{ cat "$dir/initdb.log" >&2; die "initdb failed"; }

# A few tries: another process may take the port between check and start.
for try in 1 2 3 4 5 6 7 8; do
	port=$((20000 + RANDOM % 40000))
	port_free "$port" || continue
	if as "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
		-o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories='$dir'" \
		>/dev/null 2>&1; then
		echo "$port" >"$dir/port"
		echo "postgres://postgres:${pw}@127.0.0.1:${port}/postgres?sslmode=disable"
		exit 0
	fi
	echo "pg-start.sh: start on port $port failed (try $try):" >&2
	tail -n 5 "$dir/server.log" >&2 || true
done
die "could not start PostgreSQL; see $dir/server.log"
