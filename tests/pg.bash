# shellcheck shell=bash
# A private PostgreSQL cluster for tests and benches: sourced by
# tests/integration/registry_pg.sh, bench/registry/run.sh and
# bench/fleet/lib.bash.
#
# tl_pg_start DIR [-c NAME=VALUE]...
#     initdb into DIR/data as the postgres user (trust auth: only root and
#     postgres can reach DIR), start it on a random free port with its unix
#     socket in DIR and no TCP listener, the given server settings added, and
#     create the database jitwg. Sets TL_PGBIN, TL_PGDIR, TL_PGPORT and
#     TL_PG_URL (libpq URL of jitwg). Commands in the array TL_PG_PREFIX (for
#     example nice -n 5) run the server. Returns 0; 77 when the PostgreSQL
#     server is not installed; 1 on failure, with its log on stderr.
# tl_pg_createdb NAME   another database; prints its URL.
# tl_pg_stop            stops the server (immediate: its data is scratch); a
#                       no-op before a start and when called twice. Callers
#                       call it from their EXIT trap.

tl_pg_start() {
	local dir=$1 port try
	shift
	TL_PGBIN=${PGBIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
	if [ ! -x "$TL_PGBIN/initdb" ] || ! id postgres >/dev/null 2>&1; then
		echo "PostgreSQL server not installed (scripts/deps.sh)" >&2
		return 77
	fi
	mkdir -p "$dir"
	chown postgres: "$dir"
	chmod 0700 "$dir"
	chmod 0755 "$(dirname "$dir")"
	runuser -u postgres -- "$TL_PGBIN/initdb" -D "$dir/data" -A trust -U postgres --no-sync \
		>"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; return 1; }
	TL_PGDIR=$dir
	for try in 1 2 3; do
		port=$((20000 + RANDOM % 20000)) # taken: the next try picks another
		if ${TL_PG_PREFIX[@]+"${TL_PG_PREFIX[@]}"} runuser -u postgres -- "$TL_PGBIN/pg_ctl" -D "$dir/data" \
			-l "$dir/server.log" -w -t 60 -o "-p $port -k $dir -c listen_addresses='' $*" start >/dev/null 2>&1; then
			TL_PGPORT=$port
			TL_PG_URL=$(tl_pg_createdb jitwg) || return 1
			return 0
		fi
	done
	echo "postgres did not start after $try tries" >&2
	cat "$dir/server.log" >&2
	return 1
}

tl_pg_createdb() {
	runuser -u postgres -- "$TL_PGBIN/createdb" -h "$TL_PGDIR" -p "$TL_PGPORT" "$1" || return 1
	echo "postgresql://postgres@/$1?host=$TL_PGDIR&port=$TL_PGPORT"
}

tl_pg_stop() {
	[ -n "${TL_PGDIR:-}" ] && [ -f "$TL_PGDIR/data/postmaster.pid" ] &&
		runuser -u postgres -- "$TL_PGBIN/pg_ctl" -D "$TL_PGDIR/data" -m immediate -w stop >/dev/null 2>&1
	return 0
}
