# shellcheck shell=bash
# Shared by bench/coldconnect/*.sh (sourced after gw_common.bash and
# gw_clients_many N; N is the client count).

# Cold state for every client: no peer on the gateway, a fresh peer (no
# session, no handshake timers) on the client.
reset_all() {
	local n
	for n in $(seq 1 "$N"); do
		ip netns exec "$GW" wg set "$GWIF" peer "${CLIENT_PUB[$n]}" remove
		ip netns exec "$CL" wg set "${CLIENT_IF[$n]}" peer "$GW_PUB" remove
		ip netns exec "$CL" wg set "${CLIENT_IF[$n]}" peer "$GW_PUB" \
			endpoint "$GW_V4:$GW_PORT" allowed-ips 10.77.0.1/32
	done
}
