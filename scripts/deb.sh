#!/usr/bin/env bash
# Builds the Debian packages (debian/, `make deb`): jitwg, jitwgd,
# jitwg-registry and, when src/relay/ exists, jitwg-relay (without it the
# build profile "norelay" leaves that package out).
#
#   scripts/deb.sh [OUTDIR]     (default build-deb/; the .debs and .changes land there)
#
# dpkg-buildpackage cleans its source tree (make clean), so it runs on a copy
# of the working tree's files (tracked and untracked, not ignored), never on
# the tree whose build/ the tests use. Only the release binaries are built
# (debian/rules), two jobs at a time.
set -euo pipefail
cd "$(dirname "$0")/.."

OUT=${1:-build-deb}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)
SRC="$OUT/jitwg-src"
rm -rf "$SRC" "$OUT"/*.deb "$OUT"/*.ddeb "$OUT"/*.changes "$OUT"/*.buildinfo
mkdir -p "$SRC"
git ls-files -z --cached --others --exclude-standard |
	tar --null -T - --ignore-failed-read -cf - 2>/dev/null | tar -xf - -C "$SRC"

profiles=()
[ -f src/relay/main.c ] || profiles=(-Pnorelay)
(
	cd "$SRC"
	DEB_BUILD_OPTIONS="parallel=${JOBS:-2} nocheck noddebs" \
		dpkg-buildpackage -b -us -uc "${profiles[@]}"
)
rm -rf "$SRC"
ls "$OUT"/*.deb
