# source after lib.sh. WireGuard in namespaces with wireguard-go (apt: wireguard-go,
# wireguard-tools; a userspace WireGuard on a tun device, for kernels without CONFIG_WIREGUARD):
# wg_up NS DEV ADDR/LEN MTU [LISTEN_PORT] -- NS DEV ADDR/LEN MTU ENDPOINT ALLOWED_IPS
# makes DEV in the first namespace (listening on LISTEN_PORT) and DEV in the second (its peer,
# reaching it at ENDPOINT, routing ALLOWED_IPS into it); the first allows the second's address.
# The UAPI sockets (/var/run/wireguard/DEV.sock) are shared by every namespace: give each
# device a name no other namespace uses at the same time.
wg_up() {
  local n1=$1 d1=$2 a1=$3 m1=$4 port=$5 n2=$7 d2=$8 a2=$9 m2=${10} ep=${11} allowed=${12}
  local k1 k2; k1=$(wg genkey); k2=$(wg genkey)
  nsx $n1 wireguard-go $d1 >/dev/null 2>&1; nsx $n2 wireguard-go $d2 >/dev/null 2>&1; sleep 0.5
  nsx $n1 wg set $d1 listen-port $port private-key <(echo $k1) peer $(echo $k2 | wg pubkey) allowed-ips ${a2%/*}/32
  nsx $n2 wg set $d2 private-key <(echo $k2) peer $(echo $k1 | wg pubkey) endpoint $ep allowed-ips $allowed
  ip -n $n1 addr add $a1 dev $d1; ip -n $n2 addr add $a2 dev $d2
  ip -n $n1 link set $d1 mtu $m1 up; ip -n $n2 link set $d2 mtu $m2 up
}
