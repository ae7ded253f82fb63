#!/bin/bash
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft), by a kernel hunt (2026-12-07); replayed with v4.args, v6.args.
# A libvirt host's default NAT network: libvirt-rules.sh replays libvirtd's iptables calls (derived from its source, see
# its header) in the host namespace and the tables are saved as rules / rules6 (`fwcheck fmt` prints them back byte for
# byte). The host glh (eth0 192.0.2.1/24 2001:db8:1::1/64; forwarding on, filter policies ACCEPT: libvirt's rules
# alone) has the bridge virbr0 (192.168.122.1/24, 2001:db8:7a::1/64) with the port vnet0 to the "VM" glv
# (192.168.122.10, 2001:db8:7a::10, default routes via the host); br_netfilter is loaded (bridge-nf-call-iptables=1).
# The outside peer glp (192.0.2.2, 2001:db8:1::2) routes 192.168.122.0/24 and 2001:db8:7a::/64 through the host.
# Traffic: the VM to the outside (MASQUERADEd: tcp, udp, ping, a closed port's ICMP error back through
# FWI's RELATED; no source port below 1024, which --to-ports 1024-65535 remaps to a port the kernel picks at random) and over IPv6 (routed), the VM to the host's DNS/DHCP ports and others,
# its DHCP-like broadcast and mDNS multicast, the host's broadcast/multicast out of virbr0 (LIBVIRT_PRT's RETURNs) and
# its DHCP-like answer (mangle CHECKSUM), the outside to the VM (IPv4 refused by FWI's REJECT, IPv6 let in) and
# lib/gentraffic.sh's traffic between the peer and the host; tcpdump -i any on the host.
cd "$(dirname "$0")"
source ../lib/lib.sh; LIB=$(cd ../lib && pwd); source $LIB/gentraffic.sh
HOSTNS=glh; A=glp; VM=glv; CAPIF=any
setup_topo() {
  gen_topo; delns $VM; mkns $VM
  nsx $A sysctl -qw net.ipv6.conf.p0.router_solicitations=0
  nsx $HOSTNS sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
  nsx $VM sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.router_solicitations=0 net.ipv6.conf.default.router_solicitations=0 net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0
  ip -n $HOSTNS link add virbr0 address 02:00:00:00:00:21 type bridge stp_state 0 forward_delay 0
  ip link add vnet0 netns $HOSTNS address 02:00:00:00:00:22 type veth peer name eth0 netns $VM address 02:00:00:00:00:23
  ip -n $HOSTNS link set vnet0 master virbr0
  ip -n $HOSTNS addr add 192.168.122.1/24 dev virbr0; ip -n $HOSTNS addr add 2001:db8:7a::1/64 dev virbr0 nodad
  ip -n $VM addr add 192.168.122.10/24 dev eth0; ip -n $VM addr add 2001:db8:7a::10/64 dev eth0 nodad
  ip -n $HOSTNS link set virbr0 up; ip -n $HOSTNS link set vnet0 up; ip -n $VM link set eth0 up
  ip -n $VM route add default via 192.168.122.1; ip -n $VM -6 route add default via 2001:db8:7a::1
  ip -n $A route add 192.168.122.0/24 via 192.0.2.1; ip -n $A -6 route add 2001:db8:7a::/64 via 2001:db8:1::1
  for n in "$HOSTNS eth0 192.0.2.2 02" "$HOSTNS eth0 2001:db8:1::2 02" "$A p0 192.0.2.1 01" "$A p0 2001:db8:1::1 01" \
           "$HOSTNS virbr0 192.168.122.10 23" "$HOSTNS virbr0 2001:db8:7a::10 23" "$VM eth0 192.168.122.1 21" "$VM eth0 2001:db8:7a::1 21"; do
    set -- $n; ip -n $1 neigh replace $3 lladdr 02:00:00:00:00:$4 dev $2 nud permanent; done
  sleep 2
  if [ -z "$KEEP_RULES" ]; then
    nsx $HOSTNS sh $D/libvirt-rules.sh || echo LIBVIRT RULES FAILED
    nsx $HOSTNS iptables-save | grep -v '^#' > rules; nsx $HOSTNS ip6tables-save | grep -v '^#' > rules6
    $FW fmt rules | cmp - rules; $FW fmt rules6 | cmp - rules6
  fi
  gen_up
  nsx $HOSTNS python3 $LIB/serve6.py t:53 u:53 u:67 >/dev/null 2>&1 & LV_SRV=$!
  nsx $VM python3 $LIB/serve6.py t:8080 u:8081 >/dev/null 2>&1 & LV_SRV2=$!
  sleep 0.3
}
teardown() { gen_down; kill $LV_SRV $LV_SRV2 2>/dev/null; delns $A $HOSTNS $VM; }
lv_send() { # NS SRC SPORT DST DPORT [IFACE]: one UDP datagram (broadcast allowed), bound to IFACE if given
  nsx $1 python3 - "$@" <<'PY'
import socket, sys
_, _, src, sport, dst, dport, *ifc = sys.argv
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
u.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
if ifc:
    u.setsockopt(socket.SOL_SOCKET, socket.SO_BINDTODEVICE, ifc[0].encode())
    u.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(src))
u.bind((src, int(sport))); u.settimeout(0.4)
u.sendto(b'\x01\x01\x06\x00lab-dhcp-like' + bytes(40), (dst, int(dport)))
try: print(src, dst, dport, u.recvfrom(200)[0][:10])
except Exception as e: print(src, dst, dport, e)
PY
}
traffic() {
  local v4=192.168.122.10 v6=2001:db8:7a::10 b4=192.168.122.1 b6=2001:db8:7a::1 p4=192.0.2.2 p6=2001:db8:1::2
  # the VM out (MASQUERADE over IPv4, routed over IPv6)
  gen_tcp $VM $v4 $p4 7000 7000 7002
  gen_udp $VM $v4 $p4 7001 53; nsx $VM ping -c2 -i0.2 -W1 $p4
  gen_tcp $VM $v6 $p6 7000 7002; gen_udp $VM $v6 $p6 7001; nsx $VM ping -6 -c2 -i0.2 -W1 $p6
  # the VM to the host: dnsmasq's ports (DNS, DHCP), the host's other services and addresses
  gen_udp $VM $v4 $b4 53 67 5353 5000; gen_tcp $VM $v4 $b4 53 67 22 80 443
  gen_tcp $VM $v4 192.0.2.1 22 80; nsx $VM ping -c2 -i0.2 -W1 $b4
  gen_udp $VM $v6 $b6 53 547 5353; gen_tcp $VM $v6 $b6 53 22; nsx $VM ping -6 -c2 -i0.2 -W1 $b6
  # broadcast and multicast on the bridge: the VM's DHCP-like discover and mDNS, the host's answers out of virbr0
  lv_send $VM 0.0.0.0 68 255.255.255.255 67 eth0; lv_send $VM $v4 5353 224.0.0.251 5353 eth0
  nsx $VM ping -c1 -W1 -b 192.168.122.255; nsx $VM ping -6 -c2 -i0.2 -W1 -I eth0 ff02::1
  lv_send $HOSTNS $b4 67 255.255.255.255 68 virbr0; lv_send $HOSTNS $b4 67 $v4 68 virbr0
  lv_send $HOSTNS $b4 5353 224.0.0.251 5353 virbr0; lv_send $HOSTNS $b4 5000 224.0.1.1 5000 virbr0
  gen_udp $HOSTNS $b4 $v4 53 8081; gen_tcp $HOSTNS $b4 $v4 8080 22
  # the outside to the VM: IPv4 refused (FWI), IPv6 routed in
  gen_tcp $A $p4 $v4 8080 22; gen_udp $A $p4 $v4 8081; nsx $A ping -c2 -i0.2 -W1 $v4
  gen_tcp $A $p6 $v6 8080 22; gen_udp $A $p6 $v6 8081; nsx $A ping -6 -c2 -i0.2 -W1 $v6
  nsx $A nmap -n -Pn -T4 -sS -p 22,53,8080 $v4
  nsx $VM nmap -n -Pn -T4 -sS -p 22,7000,7002 $p4
  # the peer and the host (lib/gentraffic.sh)
  gen_traffic
}
FWARGS="--router"
gen_record
