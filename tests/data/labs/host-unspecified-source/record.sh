#!/bin/bash
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft), by a kernel hunt (2026-12-07): a server's background
# traffic from no address, captured with tcpdump -i any. IPv6: h0 (its link-local address static,
# addrgenmode none, so that host.json lists it) gets its carrier only once the capture runs (the peer's
# p0 comes up): the kernel sends MLD reports from :: (no link-local address ready yet, mld_sendpack)
# and duplicate address detection's neighbour solicitations from :: (ndisc_send_skb), both through
# OUTPUT; an address added later is checked the same way. IPv4: busybox udhcpc on h1 (no address) sends DISCOVER and REQUEST from 0.0.0.0
# through a packet socket, which no hook sees (packet_snd -> dev_queue_xmit); dnsmasq on the peer
# answers to 255.255.255.255 (-B). Needs busybox and dnsmasq.
cd "$(dirname "$0")"
HOSTNS=dbuH; A=dbuP; CAPIF=any
setup_topo() {
  delns $A $HOSTNS; mkns $A; mkns $HOSTNS
  ip link add h0 netns $HOSTNS address 02:00:00:00:0d:10 type veth peer name p0 netns $A address 02:00:00:00:0d:01
  ip link add h1 netns $HOSTNS address 02:00:00:00:0d:11 type veth peer name p1 netns $A address 02:00:00:00:0d:02
  nsx $HOSTNS sysctl -qw net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0
  ip -n $HOSTNS link set h0 addrgenmode none
  ip -n $HOSTNS addr add 192.0.2.10/24 dev h0; ip -n $HOSTNS addr add 2001:db8:1::10/64 dev h0
  ip -n $HOSTNS addr add fe80::ff:fe00:d10/64 dev h0
  ip -n $A addr add 192.0.2.1/24 dev p0; ip -n $A addr add 2001:db8:1::1/64 dev p0 nodad
  ip -n $A addr add 198.51.100.1/24 dev p1
  for x in "$HOSTNS h0" "$HOSTNS h1" "$A p1"; do set -- $x; ip -n $1 link set $2 up; done
  nsx $A dnsmasq --no-resolv --no-hosts --keep-in-foreground --pid-file=/tmp/$A-dnsmasq.pid --interface=p1 \
    --bind-interfaces --port=0 --dhcp-range=198.51.100.50,198.51.100.60,255.255.255.0,2m \
    --dhcp-leasefile=/tmp/$A-leases -u root & SRV1=$!
  sleep 2.5
}
teardown() { kill $SRV1; delns $A $HOSTNS; rm -f /tmp/$A-leases; }
traffic() {
  ip -n $A link set p0 up; sleep 3
  ip -n $HOSTNS addr add 2001:db8:1::20/64 dev h0; sleep 2
  nsx $A ping -6 -c 1 2001:db8:1::10; nsx $A ping -c 1 192.0.2.10
  nsx $HOSTNS busybox udhcpc -i h1 -s $D/udhcpc.sh -q -B -t 5 -T 1 -f
}
source ../lib/drv.sh
printf -- '--host-config\nhost.json\n--conntrack-start\nempty\n' > v4.args
printf -- 'rules=rules6\nkernel=kernel6.save\n--host-config\nhost.json\n--conntrack-start\nempty\n' > v6.args
rm -f args
