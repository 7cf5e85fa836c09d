# Guest scenario: jitwg loadgen against kernel WireGuard, in both roles.
# Every session carries one ICMP echo through the tunnel and decrypts the
# reply. Busybox ash.
. /lib/kg.sh

[ "$1" = pre ] && exit 0 # nothing to check before wireguard.ko
N=4
mk_ns gw
mk_ns cl
mk_veth gw veth0 10.99.0.1/24 cl veth1 10.99.0.2/24
umask 077
$WG genkey >/tmp/gw.key
GWPUB=$($WG pubkey </tmp/gw.key)
mk_wg gw wg0 /tmp/gw.key 51820 10.77.0.1/24
: >/tmp/keys
: >/tmp/pubs
i=1
while [ $i -le $N ]; do
	k=$($WG genkey)
	echo "$k 10.77.0.$((10 + i))" >>/tmp/keys
	echo "$(echo "$k" | $WG pubkey) 10.77.0.$((10 + i))" >>/tmp/pubs
	i=$((i + 1))
done

# peers [ENDPOINT_BASE_PORT] -> every client as a peer of wg0
peers() {
	i=0
	while read -r pub addr; do
		if [ -n "$1" ]; then
			nsx gw $WG set wg0 peer "$pub" allowed-ips "$addr/32" endpoint "10.99.0.2:$(($1 + i))" \
				persistent-keepalive 25
		else
			nsx gw $WG set wg0 peer "$pub" allowed-ips "$addr/32"
		fi
		i=$((i + 1))
	done </tmp/pubs
}
unpeer() {
	while read -r pub addr; do nsx gw $WG set wg0 peer "$pub" remove; done </tmp/pubs
}

# verdict NAME OUTFILE -> pass when all N connected and all N echoes came back
verdict() {
	last=$(tail -n 1 "$2")
	if echo "$last" | grep -q "^handshakes: $N ok, 0 failed;" && grep -q "^pings: $N ok, 0 failed" "$2"; then
		result "$1" pass
		echo "INFO $1: $last"
	else
		result "$1" fail "$(tr '\n' ' ' <"$2" | tail -c 400)"
	fi
}

LG="jitwg loadgen --endpoint 10.99.0.1:51820 --server-public-key $GWPUB --keys /tmp/keys --ping 10.77.0.1 --progress 0 --attempt-time 30"

peers
nsx cl $LG --role initiator >/tmp/init.out 2>&1
verdict loadgen_kernel_initiator /tmp/init.out
unpeer

# The kernel sends an initiation when a peer's persistent keepalive is
# switched on (jitwgd's role inversion): the clients only answer.
nsx cl $LG --role responder --base-port 42000 >/tmp/resp.out 2>&1 &
lgpid=$!
sleep 1
peers 42000
wait $lgpid
verdict loadgen_kernel_responder /tmp/resp.out
grep -q "gateway initiations answered $N" /tmp/resp.out && result loadgen_kernel_role_inversion pass ||
	result loadgen_kernel_role_inversion fail "$(grep answered /tmp/resp.out)"
unpeer
