#!/usr/bin/env bash
# HTTP-level tests of jitwg-registry against the real binary.
#
# Store: SQLite in a temp dir by default; with REGISTRY_DB=postgres://... the
# same checks run on PostgreSQL (registry_pg.sh starts a private server and
# calls this script that way). Covers: health, auth, every bad-input class,
# create/identical/conflict/overlap, pool allocation under parallel creates,
# pool exhaustion, gateway scoping, expiry, paging, delete, IPv6 listen and
# SIGTERM drain.
source "$(dirname "$0")/../lib.sh"
tl_init
command -v curl >/dev/null && command -v jq >/dev/null || { echo "needs curl and jq"; exit 77; }
command -v wg >/dev/null || { echo "needs wg"; exit 77; }
REG=$TL_BIN/jitwg-registry
[ -x "$REG" ] || tl_fail "missing $REG (run make)"

DB=${REGISTRY_DB:-$TL_TMP/reg.db}
STORE=sqlite
case $DB in postgres*) STORE=postgres ;; esac
TOKEN=$(head -c 24 /dev/urandom | base64)
echo "$TOKEN" >"$TL_TMP/token"

# start_registry LOG ARGS... -> starts the registry on port 0, sets URL and PID.
start_registry() {
	local log=$1 port
	shift
	tl_bg "$REG" --listen 127.0.0.1:0 --db "$DB" "$@" 2>"$log"
	PID=$TL_LAST_PID
	tl_wait_until 5 grep -q 'listening on' "$log" || { cat "$log" >&2; tl_fail "registry did not start"; }
	port=$(grep -o 'port [0-9]*' "$log" | head -n 1 | cut -d' ' -f2)
	URL=http://127.0.0.1:$port
}

# req METHOD PATH [BODY] -> sets CODE and BODY (with the right token).
req() {
	local args=(-s -o "$TL_TMP/body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $TOKEN")
	[ $# -ge 3 ] && args+=(--data-binary "$3" -H 'Content-Type: application/json')
	CODE=$(curl "${args[@]}" "$URL$2")
	BODY=$(cat "$TL_TMP/body")
}
expect() { # expect CODE [FIELD] -- what
	local want=$1 field=${2:-}
	[ "$CODE" = "$want" ] || tl_fail "${3:-request}: got $CODE, want $want: $BODY"
	if [ -n "$field" ]; then
		[ "$(jq -r .field <<<"$BODY")" = "$field" ] || tl_fail "${3:-request}: error names '$(jq -r .field <<<"$BODY")', want '$field'"
	fi
}
newkey() { wg genkey | wg pubkey; }
urlkey() { tr '+/' '-_' <<<"$1" | tr -d '='; }
count_all() { # number of live peers, by paging
	local n=0 cur="" page
	for _ in $(seq 1 1000); do
		req GET "/v1/peers?limit=1000${cur:+&cursor=$cur}"
		n=$((n + $(jq '.peers | length' <<<"$BODY")))
		cur=$(jq -r '.next_cursor // empty' <<<"$BODY")
		[ -z "$cur" ] && break
	done
	echo "$n"
}

# poll_bg NAME QUERY [URL] -> background curl; its body in $TL_TMP/NAME.body, its
# start and end (ms) in $TL_TMP/NAME.t
poll_bg() {
	(
		t0=$(date +%s%3N)
		curl -s -o "$TL_TMP/$1.body" -H "Authorization: Bearer $TOKEN" "${3:-$URL}/v1/peers?$2"
		echo "$t0 $(date +%s%3N)" >"$TL_TMP/$1.t"
	) &
	POLL_PID=$!
}
# poll_ms NAME -> milliseconds the request took
poll_ms() { awk '{ print $2 - $1 }' "$TL_TMP/$1.t"; }
head_since() { # the feed's newest cursor
	local since=0
	for _ in $(seq 1 100); do
		req GET "/v1/peers?since=$since&limit=1000"
		since=$(jq -r .next_since <<<"$BODY")
		[ "$(jq -r .more <<<"$BODY")" = true ] || break
	done
	echo "$since"
}

start_registry "$TL_TMP/reg.log" --token-file "$TL_TMP/token" --pool 10.77.0.0/24,fd77::/64
MAIN_PID=$PID MAIN_URL=$URL
tl_log "store $STORE, $URL"

# ---- health and auth --------------------------------------------------------
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/healthz")" = 200 ] || tl_fail "healthz without token"
for hdr in "" "Authorization: Bearer wrong" "Authorization: Basic $TOKEN" "Authorization: Bearer ${TOKEN}x" \
	"Authorization: Bearer ${TOKEN:0:10}"; do
	c=$(curl -s -o /dev/null -w '%{http_code}' ${hdr:+-H "$hdr"} "$URL/v1/peers")
	[ "$c" = 401 ] || tl_fail "auth '$hdr': $c"
done
c=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: bearer $TOKEN" "$URL/v1/pool")
[ "$c" = 200 ] || tl_fail "bearer scheme is case-insensitive: $c"
req GET /v1/pool
expect 200 "" pool
[ "$(jq -c .pool <<<"$BODY")" = '["10.77.0.0/24","fd77::/64"]' ] || tl_fail "pool: $BODY"

# ---- bad input: 400 naming the field, nothing written -------------------------
K=$(newkey)
bad() { # bad BODY FIELD
	req POST /v1/peers "$1"
	expect 400 "$2" "bad input $1"
}
bad '{"public_key": ' body
bad 'not json' body
bad '[1,2]' body
bad '' body
bad "{\"public_key\":\"$K\"} trailing" body
bad "{'public_key':'$K'}" body
bad '{}' public_key
bad '{"public_key":"abc"}' public_key
bad '{"public_key":42}' public_key
bad "{\"public_key\":\"$(urlkey "$K")\"}" public_key
bad "{\"public_key\":\"$K\",\"colour\":\"blue\"}" colour
bad "{\"public_key\":\"$K\",\"allowed_ips\":[\"10.0.0.1/33\"]}" allowed_ips
bad "{\"public_key\":\"$K\",\"allowed_ips\":[\"10.0.0.1/24\"]}" allowed_ips
bad "{\"public_key\":\"$K\",\"allowed_ips\":[\"banana\"]}" allowed_ips
bad "{\"public_key\":\"$K\",\"allowed_ips\":\"10.0.0.1/32\"}" allowed_ips
bad "{\"public_key\":\"$K\",\"gateway\":[\"gw\"]}" gateway
bad "{\"public_key\":\"$K\",\"gateway\":\"has space\"}" gateway
bad "{\"public_key\":\"$K\",\"persistent_keepalive\":\"25\"}" persistent_keepalive
bad "{\"public_key\":\"$K\",\"persistent_keepalive\":70000}" persistent_keepalive
bad "{\"public_key\":\"$K\",\"preshared_key\":\"nope\"}" preshared_key
bad "{\"public_key\":\"$K\",\"expires_at\":\"next week\"}" expires_at
bad "{\"public_key\":\"$K\",\"expires_at\":1700000000}" expires_at
head -c 70000 /dev/zero | tr '\0' ' ' >"$TL_TMP/big"
req POST /v1/peers "@$TL_TMP/big"
expect 413 body "oversized body"
c=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $TOKEN" -H 'Transfer-Encoding: chunked' \
	--data-binary "@$TL_TMP/big" "$URL/v1/peers")
[ "$c" = 413 ] || tl_fail "oversized chunked body: $c"
# auth comes first: without the token an oversized body is 401, not 413
c=$(curl -s -o /dev/null -w '%{http_code}' --data-binary "@$TL_TMP/big" "$URL/v1/peers")
[ "$c" = 401 ] || tl_fail "oversized body without token: $c"
c=$(curl -s -o /dev/null -w '%{http_code}' -H 'Transfer-Encoding: chunked' --data-binary "@$TL_TMP/big" "$URL/v1/peers")
[ "$c" = 401 ] || tl_fail "oversized chunked body without token: $c"
for p in /v1/peers/abc "/v1/peers/$(urlkey "$K")=" "/v1/peers/$K" /v1/peers/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA; do
	req GET "$p"
	expect 400 public_key "bad path key $p"
done
for q in limit=0 limit=1001 limit=x limit=-1 cursor=zz gateway=bad/name; do
	req GET "/v1/peers?$q"
	expect 400 "${q%%=*}" "bad query $q"
done
req GET "/v1/peers/$(urlkey "$K")"
expect 404 "" "bad input wrote something"
[ "$(count_all)" = 0 ] || tl_fail "bad input left peers behind"
req PUT /v1/peers '{}'
expect 405 "" "PUT"
req GET /v2/nothing
expect 404 "" "unknown path"

# ---- create, identical, conflict, overlap -------------------------------------
A=$(newkey)
req POST /v1/peers "{\"public_key\":\"$A\",\"allowed_ips\":[\"192.168.50.0/24\",\"fd50::/64\"],\"gateway\":\"gw-a\",\"persistent_keepalive\":25}"
expect 201 "" "create A"
[ "$(jq -r .public_key <<<"$BODY")" = "$A" ] || tl_fail "create echoes the key: $BODY"
jq -e '.created_at | test("Z$")' <<<"$BODY" >/dev/null || tl_fail "created_at: $BODY"
req POST /v1/peers "{\"persistent_keepalive\":25,\"gateway\":\"gw-a\",\"public_key\":\"$A\",\"allowed_ips\":[\"fd50::/64\",\"192.168.50.0/24\"]}"
expect 200 "" "identical create"
req POST /v1/peers "{\"public_key\":\"$A\",\"allowed_ips\":[\"192.168.50.0/24\"]}"
expect 409 public_key "same key, different record"
for ip in 192.168.50.7/32 192.168.0.0/16 fd50::1/128 fd50::/48; do
	req POST /v1/peers "{\"public_key\":\"$(newkey)\",\"allowed_ips\":[\"10.200.0.0/24\",\"$ip\"]}"
	expect 409 allowed_ips "overlap $ip"
done
req GET /v1/peers/$(urlkey "$A")
expect 200 "" "get A"
[ "$(jq -c .allowed_ips <<<"$BODY")" = '["192.168.50.0/24","fd50::/64"]' ] || tl_fail "get A: $BODY"
[ "$(jq -r .persistent_keepalive <<<"$BODY")" = 25 ] || tl_fail "keepalive: $BODY"
# an overlap refused above must not have left 10.200.0.0/24 behind
req POST /v1/peers "{\"public_key\":\"$(newkey)\",\"allowed_ips\":[\"10.200.0.0/24\"]}"
expect 201 "" "nothing half-written by a refused create"
LIVE=2

# ---- gateway scoping ---------------------------------------------------------
B=$(newkey)
req POST /v1/peers "{\"public_key\":\"$B\",\"allowed_ips\":[\"192.168.51.1/32\"]}"
expect 201 "" "create B (no gateway)"
LIVE=$((LIVE + 1))
req GET "/v1/peers/$(urlkey "$A")?gateway=gw-a"
expect 200 "" "own gateway"
req GET "/v1/peers/$(urlkey "$A")?gateway=gw-b"
expect 404 "" "other gateway"
req GET "/v1/peers/$(urlkey "$B")?gateway=gw-b"
expect 200 "" "peer without gateway is anyone's"
req GET "/v1/peers?gateway=gw-b&limit=1000"
jq -e --arg a "$A" '[.peers[].public_key] | index($a) == null' <<<"$BODY" >/dev/null || tl_fail "list leaks A to gw-b"
jq -e --arg b "$B" '[.peers[].public_key] | index($b) != null' <<<"$BODY" >/dev/null || tl_fail "list hides B from gw-b"

# ---- parallel creates from the pool: no duplicate addresses --------------------
# Half go to a second registry process on the same database: the allocation
# is atomic across processes too (BEGIN IMMEDIATE / advisory lock).
start_registry "$TL_TMP/reg3.log" --token-file "$TL_TMP/token" --pool 10.77.0.0/24,fd77::/64
URL2=$URL PID2=$PID URL=$MAIN_URL
N=48
for _ in $(seq 1 $N); do newkey; done >"$TL_TMP/keys"
awk -v a="$URL" -v b="$URL2" '{ print (NR % 2 ? a : b) " " $0 }' "$TL_TMP/keys" |
	xargs -P 16 -L 1 sh -c 'curl -s -o /dev/null -w "%{http_code}\n" -H "Authorization: Bearer $0" \
		--data-binary "{\"public_key\":\"$2\"}" "$1/v1/peers"' "$TOKEN" >"$TL_TMP/codes"
kill "$PID2"
[ "$(grep -c '^201$' "$TL_TMP/codes")" = $N ] || tl_fail "parallel creates: $(sort "$TL_TMP/codes" | uniq -c | tr '\n' ' ')"
LIVE=$((LIVE + N))
while read -r k; do
	req GET "/v1/peers/$(urlkey "$k")"
	jq -r '.allowed_ips[]' <<<"$BODY"
done <"$TL_TMP/keys" >"$TL_TMP/addrs"
[ "$(wc -l <"$TL_TMP/addrs")" = $((2 * N)) ] || tl_fail "each pool peer gets a /32 and a /128"
[ -z "$(sort "$TL_TMP/addrs" | uniq -d)" ] || tl_fail "duplicate addresses: $(sort "$TL_TMP/addrs" | uniq -d | head -n 3)"
grep -qx 10.77.0.1/32 "$TL_TMP/addrs" && tl_fail "allocated the gateway's own address"
grep -qx 10.77.0.0/32 "$TL_TMP/addrs" && tl_fail "allocated the network address"
grep -vqE '^(10\.77\.0\.[0-9]+/32|fd77::[0-9a-f]+/128)$' "$TL_TMP/addrs" && tl_fail "address outside the pool"
# a retried allocation request is answered with what it created
k=$(head -n 1 "$TL_TMP/keys")
req GET "/v1/peers/$(urlkey "$k")"
first=$BODY
req POST /v1/peers "{\"public_key\":\"$k\"}"
expect 200 "" "retried allocation"
[ "$BODY" = "$first" ] || tl_fail "retried allocation changed the record"

# ---- expiry --------------------------------------------------------------------
E=$(newkey)
req POST /v1/peers "{\"public_key\":\"$E\",\"allowed_ips\":[\"192.168.60.0/24\"],\"expires_at\":\"2001-01-01T00:00:00Z\"}"
expect 400 expires_at "create already expired"
req GET "/v1/peers/$(urlkey "$E")"
expect 404 "" "refused expired create wrote nothing"
S=$(newkey)
HS=$(head_since)
soon=$(date -u -d '+2 seconds' +%Y-%m-%dT%H:%M:%SZ)
req POST /v1/peers "{\"public_key\":\"$S\",\"allowed_ips\":[\"192.168.61.0/24\"],\"expires_at\":\"$soon\"}"
expect 201 "" "create expiring"
req GET "/v1/peers/$(urlkey "$S")"
expect 200 "" "not yet expired"
[ "$(jq -r .expires_at <<<"$BODY")" = "$soon" ] || tl_fail "expires_at round trip: $BODY"
tl_wait_until 5 bash -c "[ \$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer $TOKEN' $URL/v1/peers/$(urlkey "$S")) = 404 ]" ||
	tl_fail "peer did not expire"
# expiry is a feed delete within about a second of expires_at (the registry's 1 s expiry tick)
got_tomb() { req GET "/v1/peers?since=$HS&limit=1000"; jq -e --arg k "$S" '[.changes[] | select(.op == "delete" and .public_key == $k)] | length == 1' <<<"$BODY" >/dev/null; }
tl_wait_until 5 got_tomb || tl_fail "no feed delete after expiry: $BODY"
req POST /v1/peers "{\"public_key\":\"$S\",\"allowed_ips\":[\"192.168.62.0/24\"]}"
expect 201 "" "re-create over an expired record"
LIVE=$((LIVE + 1))

# ---- paging: every live peer exactly once ----------------------------------------
: >"$TL_TMP/paged"
cur="" pages=0
for _ in $(seq 1 200); do
	req GET "/v1/peers?limit=7${cur:+&cursor=$cur}"
	expect 200 "" "page"
	jq -r '.peers[].public_key' <<<"$BODY" >>"$TL_TMP/paged"
	[ "$(jq '.peers | length' <<<"$BODY")" -le 7 ] || tl_fail "page larger than limit"
	pages=$((pages + 1))
	cur=$(jq -r '.next_cursor // empty' <<<"$BODY")
	[ -z "$cur" ] && break
done
[ -z "$cur" ] || tl_fail "paging did not end"
[ "$(wc -l <"$TL_TMP/paged")" = $LIVE ] || tl_fail "paging saw $(wc -l <"$TL_TMP/paged") peers, want $LIVE"
[ -z "$(sort "$TL_TMP/paged" | uniq -d)" ] || tl_fail "paging repeated a peer"
grep -qxF "$E" "$TL_TMP/paged" && tl_fail "paging listed an expired peer"
tl_log "paged $LIVE peers in $pages pages"

# ---- change feed (GET /v1/peers?since=) --------------------------------------------
# feed GW SINCE -> $TL_TMP/feed: "+KEY GW" (put) / "-KEY" (delete) lines, pages of 3; FEED_NEXT
feed() {
	local since=$2
	: >"$TL_TMP/feed"
	for _ in $(seq 1 500); do
		req GET "/v1/peers?gateway=$1&since=$since&limit=3"
		expect 200 "" "feed $1 since $since"
		jq -r '.changes[] | if .op == "put" then "+" + .peer.public_key + " " + (.peer.gateway // "")
			else "-" + .public_key end' <<<"$BODY" >>"$TL_TMP/feed"
		[ "$(jq -r .next_since <<<"$BODY")" -ge "$since" ] || tl_fail "feed cursor went back"
		since=$(jq -r .next_since <<<"$BODY")
		[ "$(jq -r .more <<<"$BODY")" = true ] || break
	done
	FEED_NEXT=$since
}
F1=$(newkey) F2=$(newkey) F3=$(newkey)
req POST /v1/peers "{\"public_key\":\"$F1\",\"allowed_ips\":[\"192.168.80.1/32\"],\"gateway\":\"feed-a\"}"
expect 201 "" "feed peer 1"
req POST /v1/peers "{\"public_key\":\"$F2\",\"allowed_ips\":[\"192.168.80.2/32\"],\"gateway\":\"feed-b\"}"
expect 201 "" "feed peer 2"
req POST /v1/peers "{\"public_key\":\"$F3\",\"allowed_ips\":[\"192.168.80.3/32\"]}"
expect 201 "" "feed peer 3"
feed feed-a 0
A0=$FEED_NEXT
grep -qxF "+$F1 feed-a" "$TL_TMP/feed" || tl_fail "feed-a from 0 misses its peer"
grep -qxF "+$F3 " "$TL_TMP/feed" || tl_fail "feed-a from 0 misses the unbound peer"
grep -qF "$F2" "$TL_TMP/feed" && tl_fail "feed-a lists feed-b's peer"
[ "$(tail -n 2 "$TL_TMP/feed" | tr '\n' '|')" = "+$F1 feed-a|+$F3 |" ] || tl_fail "feed order: $(tail -n 2 "$TL_TMP/feed")"
feed feed-b 0
B0=$FEED_NEXT
feed feed-a "$A0"
[ ! -s "$TL_TMP/feed" ] || tl_fail "caught-up feed not empty: $(cat "$TL_TMP/feed")"
# a delete is a tombstone; an unbound peer re-created on feed-b: feed-a sees it go, feed-b sees both
req DELETE "/v1/peers/$(urlkey "$F1")"
expect 204 "" "feed delete"
req DELETE "/v1/peers/$(urlkey "$F3")"
req POST /v1/peers "{\"public_key\":\"$F3\",\"allowed_ips\":[\"192.168.80.3/32\"],\"gateway\":\"feed-b\"}"
expect 201 "" "feed re-create bound"
feed feed-a "$A0"
[ "$(tr '\n' '|' <"$TL_TMP/feed")" = "-$F1|-$F3|" ] || tl_fail "feed-a after deletes: $(cat "$TL_TMP/feed")"
feed feed-b "$B0"
[ "$(tr '\n' '|' <"$TL_TMP/feed")" = "-$F3|+$F3 feed-b|" ] || tl_fail "feed-b after re-bind: $(cat "$TL_TMP/feed")"
req GET "/v1/peers?since=0&limit=1000"
expect 200 "" "feed of every gateway"
jq -e --arg k "$F2" '[.changes[] | select(.peer.public_key == $k)] | length == 1' <<<"$BODY" >/dev/null ||
	tl_fail "feed without gateway misses feed-b's peer"
for q in since=-1 since=x since= since=99999999999999999999 "since=0&limit=0" "since=0&gateway=bad/name"; do
	req GET "/v1/peers?$q"
	f=${q##*&}
	expect 400 "${f%%=*}" "bad feed query $q"
done
tl_log "change feed: scope, tombstones, re-binding, paging"

# ---- long poll (wait=S): held while idle, answered when a change commits ------------
H=$(head_since)
poll_bg idle "since=$H&wait=3"
wait "$POLL_PID"
[ "$(jq -c '[.changes, .next_since]' "$TL_TMP/idle.body")" = "[[],\"$H\"]" ] || tl_fail "idle long poll: $(cat "$TL_TMP/idle.body")"
[ "$(poll_ms idle)" -ge 2000 ] || tl_fail "idle long poll answered after $(poll_ms idle) ms, before its wait=3"
W1=$(newkey)
poll_bg wake "since=$H&wait=30"
sleep 0.5
req POST /v1/peers "{\"public_key\":\"$W1\",\"allowed_ips\":[\"192.168.81.1/32\"]}"
expect 201 "" "create during a long poll"
tl_wait_until 20 test -s "$TL_TMP/wake.t" || tl_fail "long poll not answered after a commit"
wait "$POLL_PID"
jq -e --arg k "$W1" '[.changes[] | select(.op == "put" and .peer.public_key == $k)] | length == 1' \
	"$TL_TMP/wake.body" >/dev/null || tl_fail "long poll page: $(cat "$TL_TMP/wake.body")"
[ "$(poll_ms wake)" -lt 25000 ] || tl_fail "long poll held to its deadline despite a commit"
tl_log "long poll: idle held $(poll_ms idle) ms of wait=3; answered $(poll_ms wake) ms after start (commit at ~500 ms)"
# a change for another gateway does not answer a gateway's poll early
H=$(head_since)
poll_bg other "since=$H&gateway=feed-a&wait=3"
sleep 0.5
req POST /v1/peers "{\"public_key\":\"$(newkey)\",\"allowed_ips\":[\"192.168.81.2/32\"],\"gateway\":\"feed-b\"}"
expect 201 "" "create for another gateway"
wait "$POLL_PID"
[ "$(jq -c .changes "$TL_TMP/other.body")" = "[]" ] || tl_fail "feed-a poll got feed-b's change: $(cat "$TL_TMP/other.body")"
[ "$(poll_ms other)" -ge 2000 ] || tl_fail "feed-a poll answered early ($(poll_ms other) ms) for feed-b's change"
# a commit by another registry process on the same database wakes this one's waiter
# (PostgreSQL: LISTEN/NOTIFY; SQLite: the watcher's check of the newest seq)
start_registry "$TL_TMP/reg4.log" --token-file "$TL_TMP/token"
URL4=$URL PID4=$PID URL=$MAIN_URL
H=$(head_since)
W2=$(newkey)
poll_bg cross "since=$H&wait=30"
sleep 0.5
URL=$URL4
req POST /v1/peers "{\"public_key\":\"$W2\",\"allowed_ips\":[\"192.168.81.3/32\"]}"
expect 201 "" "create on the second process"
URL=$MAIN_URL
tl_wait_until 20 test -s "$TL_TMP/cross.t" || tl_fail "long poll not woken by another process's commit"
wait "$POLL_PID"
kill "$PID4"
jq -e --arg k "$W2" '[.changes[] | select(.peer.public_key == $k)] | length == 1' "$TL_TMP/cross.body" >/dev/null ||
	tl_fail "cross-process long poll page: $(cat "$TL_TMP/cross.body")"
tl_log "long poll across processes ($STORE): answered $(poll_ms cross) ms after start"
for q in "since=0&wait=61" "since=0&wait=x" "since=0&wait=-1" "since=0&wait=" "since=0&wait=100" "wait=5"; do
	req GET "/v1/peers?$q"
	expect 400 wait "bad wait $q"
done

# ---- name, owner, PATCH, rotate ------------------------------------------------------
P=$(newkey) Q=$(newkey) R=$(newkey)
req POST /v1/peers "{\"public_key\":\"$P\",\"allowed_ips\":[\"192.168.90.1/32\"],\"name\":\"laptop\",\"owner\":\"alice@example.com\",\"gateway\":\"gw-p\"}"
expect 201 "" "create with name and owner"
[ "$(jq -r '.name + " " + .owner' <<<"$BODY")" = "laptop alice@example.com" ] || tl_fail "name/owner: $BODY"
req POST /v1/peers "{\"public_key\":\"$Q\",\"allowed_ips\":[\"192.168.90.2/32\"],\"owner\":\"bob\"}"
expect 201 "" "create Q"
req POST /v1/peers "{\"public_key\":\"$(newkey)\",\"allowed_ips\":[\"192.168.90.2/31\"]}"
expect 409 allowed_ips "overlap on create"
[ "$(jq -r .holder <<<"$BODY")" = "$Q" ] || tl_fail "409 names the holder: $BODY"
req POST /v1/peers "{\"public_key\":\"$(newkey)\",\"allowed_ips\":[\"10.77.0.1/32\"]}"
expect 400 allowed_ips "the pool's gateway address is reserved"
req POST /v1/peers "{\"public_key\":\"$(newkey)\",\"name\":\"has space\"}"
expect 400 name "bad name"
req POST /v1/peers "{\"public_key\":\"$(newkey)\",\"owner\":\"\"}"
expect 400 owner "empty owner"
req GET "/v1/peers?owner=alice@example.com&limit=1000"
[ "$(jq -r '[.peers[].public_key] | join(" ")' <<<"$BODY")" = "$P" ] || tl_fail "owner filter: $BODY"
req GET "/v1/peers?owner=bad/owner"
expect 400 owner "bad owner filter"
HP=$(head_since)
req PATCH "/v1/peers/$(urlkey "$P")" '{"allowed_ips":["192.168.90.3/32"],"name":"laptop2","persistent_keepalive":15}'
expect 200 "" "patch"
[ "$(jq -c '[.allowed_ips, .name, .owner, .gateway, .persistent_keepalive]' <<<"$BODY")" = '[["192.168.90.3/32"],"laptop2","alice@example.com","gw-p",15]' ] ||
	tl_fail "patched record: $BODY"
req GET "/v1/peers/$(urlkey "$P")"
[ "$(jq -c .allowed_ips <<<"$BODY")" = '["192.168.90.3/32"]' ] || tl_fail "patch not stored: $BODY"
req POST /v1/peers "{\"public_key\":\"$(newkey)\",\"allowed_ips\":[\"192.168.90.1/32\"]}"
expect 201 "" "a patched-away address is free"
req GET "/v1/peers?since=$HP&limit=1000"
[ "$(jq -c --arg k "$P" '[.changes[] | select((.peer.public_key // .public_key) == $k) | .op]' <<<"$BODY")" = '["put"]' ] ||
	tl_fail "patch is one put in the feed: $BODY"
req PATCH "/v1/peers/$(urlkey "$P")" '{"allowed_ips":["192.168.90.2/32"]}'
expect 409 allowed_ips "patch onto another peer's address"
[ "$(jq -r .holder <<<"$BODY")" = "$Q" ] || tl_fail "patch 409 names the holder: $BODY"
soon=$(date -u -d '+1 hour' +%Y-%m-%dT%H:%M:%SZ)
req PATCH "/v1/peers/$(urlkey "$P")" "{\"expires_at\":\"$soon\"}"
expect 200 "" "patch expiry"
[ "$(jq -r .expires_at <<<"$BODY")" = "$soon" ] || tl_fail "patched expiry: $BODY"
req PATCH "/v1/peers/$(urlkey "$P")" '{"expires_at":null}'
jq -e 'has("expires_at") | not' <<<"$BODY" >/dev/null || tl_fail "expires_at null clears: $BODY"
for b in '{"expires_at":"2001-01-01T00:00:00Z"}:expires_at' '{"allowed_ips":[]}:allowed_ips' \
	"{\"public_key\":\"$R\"}:public_key" '{"gateway":"gw-x"}:gateway' '{}:body' 'nope:body' \
	'{"allowed_ips":["10.77.0.1/32"]}:allowed_ips'; do
	req PATCH "/v1/peers/$(urlkey "$P")" "${b%:*}"
	expect 400 "${b##*:}" "bad patch ${b%:*}"
done
req PATCH "/v1/peers/$(urlkey "$R")" '{"name":"x"}'
expect 404 public_key "patch of an unknown key"
HR=$(head_since)
req POST "/v1/peers/$(urlkey "$P")/rotate" "{\"public_key\":\"$R\"}"
expect 200 "" "rotate"
[ "$(jq -c '[.public_key, .allowed_ips, .name, .owner, .gateway, .persistent_keepalive]' <<<"$BODY")" = \
	"[\"$R\",[\"192.168.90.3/32\"],\"laptop2\",\"alice@example.com\",\"gw-p\",15]" ] || tl_fail "rotated record: $BODY"
req GET "/v1/peers/$(urlkey "$P")"
expect 404 "" "the old key after rotation"
req GET "/v1/peers/$(urlkey "$R")?gateway=gw-p"
expect 200 "" "the new key after rotation"
req GET "/v1/peers?since=$HR&gateway=gw-p&limit=1000"
[ "$(jq -r '.changes[] | if .op == "put" then "+" + .peer.public_key else "-" + .public_key end' <<<"$BODY" | tr '\n' '|')" = "-$P|+$R|" ] ||
	tl_fail "rotation in the feed (delete old, put new): $BODY"
req POST "/v1/peers/$(urlkey "$P")/rotate" "{\"public_key\":\"$(newkey)\"}"
expect 404 public_key "rotate from an unknown key"
req POST "/v1/peers/$(urlkey "$R")/rotate" "{\"public_key\":\"$Q\"}"
expect 409 public_key "rotate onto an existing peer"
req POST "/v1/peers/$(urlkey "$R")/rotate" '{"allowed_ips":["10.1.1.1/32"]}'
expect 400 allowed_ips "rotate takes only public_key and preshared_key"
req POST "/v1/peers/$(urlkey "$R")/rotate" '{}'
expect 400 public_key "rotate without the new key"
req GET "/v1/peers/$(urlkey "$R")/rotate"
expect 405 "" "GET rotate"
tl_log "name, owner, PATCH and rotate: feed puts and delete+put, 409 holder, 400 fields"

# ---- scoped tokens -------------------------------------------------------------------
# treq TOKEN METHOD PATH [BODY] -> CODE and BODY with that token
treq() {
	local t=$1 args
	shift
	args=(-s -o "$TL_TMP/body" -w '%{http_code}' -X "$1" -H "Authorization: Bearer $t")
	[ $# -ge 3 ] && args+=(--data-binary "$3")
	CODE=$(curl "${args[@]}" "$URL$2")
	BODY=$(cat "$TL_TMP/body")
}
mktoken() { # mktoken BODY -> TOK, TOKID
	req POST /v1/tokens "$1"
	expect 201 "" "token $1"
	TOK=$(jq -r .token <<<"$BODY") TOKID=$(jq -r .id <<<"$BODY")
	[[ $TOK == jitwg_* ]] || tl_fail "token text: $BODY"
}
mktoken '{"scope":"gateway","gateway":"gw-p","comment":"gw-p follower"}'
GWT=$TOK
mktoken '{"scope":"gateway"}'
GWANY=$TOK GWANY_ID=$TOKID
mktoken '{"scope":"enroll","max_peers":2}'
ENR=$TOK ENR_ID=$TOKID
mktoken '{"scope":"admin"}'
ADM=$TOK
# scope check: METHOD PATH WANT [BODY]
scope() {
	treq "$1" "$2" "$3" ${5:+"$5"}
	[ "$CODE" = "$4" ] || tl_fail "token ${6:-} $2 $3: got $CODE, want $4: $BODY"
	if [ "$4" = 403 ]; then [ "$(jq -r .field <<<"$BODY")" = token ] || tl_fail "403 names the token: $BODY"; fi
}
RU=$(urlkey "$R")
scope "$ADM" GET /v1/tokens 200 "" admin
scope "$ADM" GET "/v1/audit?since=0" 200 "" admin
scope "$GWT" GET "/v1/peers?gateway=gw-p" 200 "" gateway-bound
scope "$GWT" GET "/v1/peers?since=0&gateway=gw-p&wait=1" 200 "" gateway-bound
scope "$GWT" GET "/v1/peers/$RU?gateway=gw-p" 200 "" gateway-bound
scope "$GWT" GET /v1/peers 403 "" gateway-bound
scope "$GWT" GET "/v1/peers?since=0&gateway=gw-q" 403 "" gateway-bound
scope "$GWT" GET "/v1/peers/$RU?gateway=other" 403 "" gateway-bound
scope "$GWT" DELETE "/v1/peers/$RU?gateway=gw-p" 403 "" gateway-bound
scope "$GWT" PATCH "/v1/peers/$RU?gateway=gw-p" 403 '{"name":"x"}' gateway-bound
scope "$GWT" POST "/v1/peers?gateway=gw-p" 403 "{\"public_key\":\"$(newkey)\"}" gateway-bound
scope "$GWT" GET /v1/tokens 403 "" gateway-bound
scope "$GWT" GET /v1/audit 403 "" gateway-bound
scope "$GWT" GET /metrics 403 "" gateway-bound
scope "$GWANY" GET /v1/peers 200 "" gateway
scope "$GWANY" GET "/v1/peers/$RU" 200 "" gateway
scope "$GWANY" GET /v1/pool 200 "" gateway
scope "$GWANY" POST "/v1/peers/$RU/rotate" 403 "{\"public_key\":\"$(newkey)\"}" gateway
scope "$GWANY" POST /v1/tokens 403 '{"scope":"admin"}' gateway
E1=$(newkey) E2=$(newkey) E3=$(newkey)
scope "$ENR" GET /v1/pool 200 "" enroll
scope "$ENR" POST /v1/peers 403 "{\"public_key\":\"$E1\",\"allowed_ips\":[\"192.168.91.1/32\"]}" enroll
scope "$ENR" POST /v1/peers 201 "{\"public_key\":\"$E1\",\"name\":\"phone\"}" enroll
jq -e '.allowed_ips | length == 2' <<<"$BODY" >/dev/null || tl_fail "enroll got pool addresses: $BODY"
scope "$ENR" POST /v1/peers 409 "{\"public_key\":\"$E1\"}" enroll
scope "$ENR" GET /v1/peers 403 "" enroll
scope "$ENR" GET "/v1/peers/$(urlkey "$E1")" 403 "" enroll
scope "$ENR" GET "/v1/peers?since=0" 403 "" enroll
scope "$ENR" DELETE "/v1/peers/$(urlkey "$E1")" 403 "" enroll
scope "$ENR" POST /v1/peers 201 "{\"public_key\":\"$E2\"}" enroll
scope "$ENR" POST /v1/peers 403 "{\"public_key\":\"$E3\"}" enroll-used-up
req GET "/v1/peers/$(urlkey "$E3")"
expect 404 "" "a refused enroll create wrote nothing"
req GET /v1/tokens
[ "$(jq -r --argjson id "$ENR_ID" '.tokens[] | select(.id == $id) | "\(.used)/\(.max_peers)"' <<<"$BODY")" = 2/2 ] ||
	tl_fail "enroll use count: $BODY"
jq -e '[.tokens[] | has("token") or has("hash")] | any | not' <<<"$BODY" >/dev/null || tl_fail "token list leaks secrets: $BODY"
# revocation takes effect on the next request; the legacy token stays admin
req DELETE "/v1/tokens/$GWANY_ID"
expect 204 "" "revoke"
scope "$GWANY" GET /v1/peers 401 "" revoked
req DELETE "/v1/tokens/$GWANY_ID"
expect 404 id "revoke twice"
req DELETE /v1/tokens/99999
expect 404 id "revoke unknown"
req DELETE /v1/tokens/abc
expect 404 "" "revoke bad id"
soon=$(date -u -d '+2 seconds' +%Y-%m-%dT%H:%M:%SZ)
mktoken "{\"scope\":\"gateway\",\"expires_at\":\"$soon\"}"
SHORT=$TOK
scope "$SHORT" GET /v1/peers 200 "" short-lived
short_dead() { [ "$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $SHORT" "$URL/v1/peers")" = 401 ]; }
tl_wait_until 6 short_dead || tl_fail "an expired token still works"
for b in '{"scope":"root"}:scope' '{}:scope' '{"scope":"admin","gateway":"gw-1"}:gateway' \
	'{"scope":"enroll","max_peers":0}:max_peers' '{"scope":"gateway","max_peers":3}:max_peers' \
	'{"scope":"admin","expires_at":"2001-01-01T00:00:00Z"}:expires_at' '{"scope":"admin","colour":1}:colour' \
	'[1]:body' '{"scope":"gateway","gateway":"bad name"}:gateway'; do
	req POST /v1/tokens "${b%:*}"
	expect 400 "${b##*:}" "bad token body ${b%:*}"
done
# the registry CLI works on the database directly (bootstrap, no server needed)
CLI_TOK=$("$REG" token create --db "$DB" --scope enroll --max-peers 1 --comment "cli test" 2>/dev/null) || tl_fail "token create CLI"
scope "$CLI_TOK" POST /v1/peers 201 "{\"public_key\":\"$(newkey)\"}" cli-enroll
"$REG" token list --db "$DB" | grep -q 'cli test' || tl_fail "token list CLI"
CLI_ID=$("$REG" token list --db "$DB" | awk '/cli test/ { print $1 }')
"$REG" token revoke --db "$DB" "$CLI_ID" 2>/dev/null || tl_fail "token revoke CLI"
"$REG" token revoke --db "$DB" "$CLI_ID" 2>/dev/null && tl_fail "revoking twice succeeded"
scope "$CLI_TOK" GET /v1/pool 401 "" cli-revoked
"$REG" token create --db "$DB" --scope admin --gateway x 2>/dev/null && tl_fail "admin token with a gateway"
[ $? = 2 ] || tl_fail "bad token create is a usage error"
"$REG" token create --db "$DB" --scope gateway --output "$TL_TMP/gw.token" 2>/dev/null || tl_fail "token --output"
[ "$(stat -c %a "$TL_TMP/gw.token")" = 640 ] || tl_fail "token file mode $(stat -c %a "$TL_TMP/gw.token")"
"$REG" token create --db "$DB" --scope gateway --output "$TL_TMP/gw.token" 2>/dev/null && tl_fail "token --output overwrote a file"
scope "$(cat "$TL_TMP/gw.token")" GET /v1/peers 200 "" cli-file
tl_log "scoped tokens: each scope refused outside (403) and served inside; revoked and expired are 401"

# ---- audit trail -------------------------------------------------------------------------
req GET "/v1/audit?since=0&limit=1000"
expect 200 "" "audit"
for a in create update rotate token-create token-revoke; do
	jq -e --arg a "$a" '[.entries[] | select(.action == $a)] | length > 0' <<<"$BODY" >/dev/null || tl_fail "audit lacks $a"
done
jq -e --argjson id "$ENR_ID" --arg k "$E1" '[.entries[] | select(.action == "create" and .token_id == $id and .target == $k)] | length == 1' \
	<<<"$BODY" >/dev/null || tl_fail "audit names the enroll token of a create"
jq -e --arg k "$P" '[.entries[] | select(.action == "rotate" and .target == $k and (.detail | contains("new")))] | length == 1' \
	<<<"$BODY" >/dev/null || tl_fail "audit rotate row"
last=$(jq -r .next_since <<<"$BODY")
req GET "/v1/audit?since=$last"
[ "$(jq '.entries | length' <<<"$BODY")" = 0 ] || tl_fail "audit since the last id is empty"
req GET "/v1/audit?since=x"
expect 400 since "bad audit since"
grep -q "audit: token $ENR_ID create" "$TL_TMP/reg.log" || tl_fail "no audit log line"

# ---- delete ------------------------------------------------------------------------
req DELETE "/v1/peers/$(urlkey "$A")"
expect 204 "" "delete"
[ -z "$BODY" ] || tl_fail "204 with a body"
req GET "/v1/peers/$(urlkey "$A")"
expect 404 "" "deleted"
req DELETE "/v1/peers/$(urlkey "$A")"
expect 404 public_key "delete of an unknown key"
req POST /v1/peers "{\"public_key\":\"$(newkey)\",\"allowed_ips\":[\"192.168.50.0/25\"]}"
expect 201 "" "deleted peer's addresses are free"

# ---- a second registry on the same database: tiny pool runs out -------------------
# without --token-file, but the database holds tokens now: a request needs one
start_registry "$TL_TMP/reg2.log" --pool 10.99.0.0/29
c=$(curl -s -o /dev/null -w '%{http_code}' "$URL/v1/peers")
[ "$c" = 401 ] || tl_fail "a registry whose database has tokens needs one: $c"
TOKEN=$ADM
for i in 1 2 3 4 5; do
	req POST /v1/peers "{\"public_key\":\"$(newkey)\"}"
	expect 201 "" "small pool $i"
done
req POST /v1/peers "{\"public_key\":\"$(newkey)\"}"
expect 409 allowed_ips "pool exhausted"
kill "$PID"

# ---- IPv6 listen address -----------------------------------------------------------
if ip -6 addr show dev lo 2>/dev/null | grep -q '::1'; then
	tl_bg "$REG" --listen '[::1]:0' --db "$DB" 2>"$TL_TMP/reg6.log"
	tl_wait_until 5 grep -q 'listening on' "$TL_TMP/reg6.log" || tl_fail "no IPv6 listen"
	p6=$(grep -o 'port [0-9]*' "$TL_TMP/reg6.log" | cut -d' ' -f2)
	[ "$(curl -s -g "http://[::1]:$p6/healthz" | jq -r .status)" = ok ] || tl_fail "IPv6 healthz"
	kill "$TL_LAST_PID"
fi

# ---- SIGTERM drains a request in flight ----------------------------------------------
D=$(newkey)
printf '{"public_key":"%s","allowed_ips":["192.168.70.0/24"]%*s}' "$D" 12000 "" >"$TL_TMP/slow"
curl -s -o "$TL_TMP/slow.out" -w '%{http_code}' -H "Authorization: Bearer $TOKEN" --limit-rate 6k \
	--data-binary "@$TL_TMP/slow" "$MAIN_URL/v1/peers" >"$TL_TMP/slow.code" &
CURL=$!
URL=$MAIN_URL
poll_bg drain "since=$(head_since)&wait=60"
sleep 0.7
kill -TERM "$MAIN_PID"
wait "$CURL" || true
wait "$POLL_PID"
# answered (with the slow create, or empty) at the drain, not held to its 60 s
jq -e '.changes | type == "array"' "$TL_TMP/drain.body" >/dev/null || tl_fail "parked long poll at SIGTERM: $(cat "$TL_TMP/drain.body")"
[ "$(poll_ms drain)" -lt 30000 ] || tl_fail "parked long poll held through the drain"
[ "$(cat "$TL_TMP/slow.code")" = 201 ] || tl_fail "in-flight request during SIGTERM: $(cat "$TL_TMP/slow.code")"
for _ in $(seq 1 50); do kill -0 "$MAIN_PID" 2>/dev/null || break; sleep 0.1; done
kill -0 "$MAIN_PID" 2>/dev/null && tl_fail "registry did not exit on SIGTERM"
wait "$MAIN_PID" && rc=0 || rc=$?
[ $rc = 0 ] || tl_fail "exit status after SIGTERM: $rc"
grep -q draining "$TL_TMP/reg.log" || tl_fail "no drain log"
tl_log "PASS ($STORE)"
