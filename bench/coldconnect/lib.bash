# shellcheck shell=bash
# Shared by bench/coldconnect/*.sh and bench/relay/run.sh (sourced after
# gw_common.bash and gw_clients_many N; N is the client count).

# client_endpoint N: where client N sends its handshakes. Direct UDP here;
# a bench that puts something in between (bench/relay: a local `jitwg
# tunnel` per client) defines its own after sourcing this file.
client_endpoint() { echo "$GW_V4:$GW_PORT"; }

# Cold state for every client: no peer on the gateway, a fresh peer (no
# session, no handshake timers) on the client.
reset_all() {
	local n
	for n in $(seq 1 "$N"); do
		ip netns exec "$GW" wg set "$GWIF" peer "${CLIENT_PUB[$n]}" remove
		ip netns exec "$CL" wg set "${CLIENT_IF[$n]}" peer "$GW_PUB" remove
		ip netns exec "$CL" wg set "${CLIENT_IF[$n]}" peer "$GW_PUB" \
			endpoint "$(client_endpoint "$n")" allowed-ips 10.77.0.1/32
	done
}
