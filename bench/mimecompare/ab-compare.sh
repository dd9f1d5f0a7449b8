#!/bin/sh
# ab-compare.sh [REV]: posthorn/mime in the working tree against mime/ at
# REV (default HEAD), in one process (see abcompare.go). Needs the corpus
# in ../shared/testdata/mime beside the repository. ROUNDS=N sets the
# number of rounds (default 31).
set -eu
rev=${1:-HEAD}
here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/../.." && pwd)
corpus=${CORPUS:-$repo/../shared/testdata/mime}
if [ ! -d "$corpus" ]; then
	echo "ab-compare: no corpus at $corpus" >&2
	exit 1
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/oldmime" "$tmp/internal/mailerr"
# The old copy: mime/ and the internal package it imports, renamed into
# the temporary module (an internal package cannot be imported across
# modules).
for dir in mime internal/mailerr; do
	dest=$tmp/oldmime
	[ "$dir" = mime ] || dest=$tmp/$dir
	git -C "$repo" ls-tree --name-only "$rev" "$dir/" | grep '\.go$' | grep -v '_test\.go$' |
		while read -r f; do git -C "$repo" show "$rev:$f" >"$dest/$(basename "$f")"; done
done
sed -i 's#github.com/posthorn/posthorn/internal/mailerr#abcompare/internal/mailerr#' "$tmp"/oldmime/*.go
cat >"$tmp/go.mod" <<MOD
module abcompare

go 1.26.8

require github.com/posthorn/posthorn v0.0.0

replace github.com/posthorn/posthorn => $repo
MOD
cp "$repo/go.sum" "$tmp/go.sum"
cp "$here/abcompare.go" "$tmp/main.go"
echo "posthorn/mime: working tree against $rev ($(git -C "$repo" rev-parse --short "$rev")); $(date -u); $(uptime)"
cd "$tmp" && CORPUS=$corpus GOFLAGS=-mod=mod go run main.go
