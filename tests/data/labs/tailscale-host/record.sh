#!/bin/bash
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft), by a kernel hunt (2026-12-07); replayed with v4.args, v6.args.
# A Tailscale subnet router's rules: ts-rules.sh replays tailscaled's iptables calls (see its header) in the host
# namespace and the tables are saved as rules / rules6 (`fwcheck fmt` prints them back byte for byte). The host ggth
# (eth0 192.0.2.1/24 2001:db8:1::1/64, forwarding on, INPUT/FORWARD policies ACCEPT as tailscaled leaves them) has a
# tailscale0 (here a veth, not a tun: frames carry an Ethernet header) with 100.101.102.103/32 and fd7a:115c:a1e0::1/128,
# routes 100.64.0.0/10 and fd7a:115c:a1e0::/48 through it to the tailnet peer ggtt (100.80.1.1, fd7a:115c:a1e0::2).
# The LAN peer ggtp (192.0.2.2, 2001:db8:1::2) also holds a CGNAT address 100.100.1.1 and a ChromeOS-range one
# 100.115.92.5. Traffic: the tailnet peer to the host and through it to the LAN (marked 0x40000, MASQUERADEd), the LAN
# to the host (magicsock's UDP port, CGNAT sources dropped, the ChromeOS range let by), the LAN to the tailnet (CGNAT
# sources dropped), the host to itself over its Tailscale address (lo), scans; tcpdump -i any.
cd "$(dirname "$0")"
source ../lib/lib.sh; LIB=$(cd ../lib && pwd); source $LIB/gentraffic.sh
HOSTNS=ggth; A=ggtp; TN=ggtt; CAPIF=any
setup_topo() {
  gen_topo; delns $TN; mkns $TN
  nsx $A sysctl -qw net.ipv6.conf.p0.router_solicitations=0  # no router solicitation between the rules' load and the capture
  nsx $HOSTNS sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
  nsx $TN sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.router_solicitations=0 net.ipv6.conf.default.router_solicitations=0
  ip link add tailscale0 netns $HOSTNS address 02:00:00:00:00:11 type veth peer name t0 netns $TN address 02:00:00:00:00:12
  ip -n $HOSTNS addr add 100.101.102.103/32 dev tailscale0; ip -n $HOSTNS addr add fd7a:115c:a1e0::1/128 dev tailscale0 nodad
  ip -n $TN addr add 100.80.1.1/32 dev t0; ip -n $TN addr add fd7a:115c:a1e0::2/128 dev t0 nodad
  ip -n $HOSTNS link set tailscale0 up; ip -n $TN link set t0 up
  ip -n $HOSTNS route add 100.64.0.0/10 dev tailscale0; ip -n $HOSTNS -6 route add fd7a:115c:a1e0::/48 dev tailscale0
  ip -n $TN route add 100.101.102.103/32 dev t0; ip -n $TN route add default via 100.101.102.103 dev t0
  ip -n $TN -6 route add fd7a:115c:a1e0::1/128 dev t0; ip -n $TN -6 route add default via fd7a:115c:a1e0::1 dev t0
  ip -n $A addr add 100.100.1.1/10 dev p0; ip -n $A addr add 100.115.92.5/23 dev p0
  ip -n $A route add 100.80.0.0/16 via 192.0.2.1; ip -n $A -6 route add fd7a:115c:a1e0::/48 via 2001:db8:1::1
  for n in "$HOSTNS eth0 192.0.2.2 02" "$HOSTNS eth0 100.100.1.1 02" "$HOSTNS eth0 100.115.92.5 02" "$HOSTNS eth0 2001:db8:1::2 02" \
           "$A p0 192.0.2.1 01" "$A p0 2001:db8:1::1 01" "$HOSTNS tailscale0 100.80.1.1 12" "$HOSTNS tailscale0 fd7a:115c:a1e0::2 12" \
           "$TN t0 100.101.102.103 11" "$TN t0 fd7a:115c:a1e0::1 11"; do
    set -- $n; ip -n $1 neigh replace $3 lladdr 02:00:00:00:00:$4 dev $2 nud permanent; done
  sleep 2
  if [ -z "$KEEP_RULES" ]; then
    nsx $HOSTNS sh $D/ts-rules.sh || echo TS RULES FAILED
    nsx $HOSTNS iptables-save | grep -v '^#' > rules; nsx $HOSTNS ip6tables-save | grep -v '^#' > rules6
    $FW fmt rules | cmp - rules; $FW fmt rules6 | cmp - rules6
  fi
  gen_up
  nsx $TN python3 $LIB/serve6.py t:7100 u:7101 >/dev/null 2>&1 & TS_SRV=$!
  sleep 0.3
}
teardown() { gen_down; kill $TS_SRV 2>/dev/null; delns $A $HOSTNS $TN; }
traffic() {
  local h4=192.0.2.1 t4=100.101.102.103 t6=fd7a:115c:a1e0::1 p4=192.0.2.2 p6=2001:db8:1::2 n4=100.80.1.1 n6=fd7a:115c:a1e0::2
  # the tailnet peer: to the host, and through it to the LAN
  gen_tcp $TN $n4 $t4 22 80 443; gen_udp $TN $n4 $t4 5353 53; nsx $TN ping -c2 -i0.2 -W1 $t4
  gen_tcp $TN $n4 $h4 22; gen_tcp $TN $n4 $p4 7000 7000 7002; gen_udp $TN $n4 $p4 7001 53; nsx $TN ping -c2 -i0.2 -W1 $p4
  gen_tcp $TN $n6 $t6 22 80; gen_udp $TN $n6 $t6 5353; nsx $TN ping -6 -c2 -i0.2 -W1 $t6
  gen_tcp $TN $n6 $p6 7000 7002; gen_udp $TN $n6 $p6 7001; nsx $TN ping -6 -c2 -i0.2 -W1 $p6
  # the LAN: to the host (its own, a CGNAT and a ChromeOS-range address), to magicsock's port, to the tailnet
  for s in $p4 100.100.1.1 100.115.92.5; do
    gen_tcp $A $s $h4 22 80 23; gen_udp $A $s $h4 41641 5353 53; nsx $A ping -c1 -W1 -I $s $h4
    gen_tcp $A $s $t4 22; gen_tcp $A $s $n4 7100 7102; gen_udp $A $s $n4 7101
  done
  nsx $A ping -c2 -i0.2 -W1 $n4
  gen_tcp $A $p6 2001:db8:1::1 22 80; gen_udp $A $p6 2001:db8:1::1 41641 53; gen_tcp $A $p6 $n6 7100 7102; gen_udp $A $p6 $n6 7101
  nsx $A ping -6 -c2 -i0.2 -W1 $n6
  # the host itself: over its Tailscale addresses (lo), to the tailnet and the LAN
  gen_tcp $HOSTNS $t4 $t4 22 23; gen_tcp $HOSTNS $t6 $t6 22; gen_tcp $HOSTNS $t4 $n4 7100; gen_udp $HOSTNS $t4 $n4 7101
  gen_tcp $HOSTNS $h4 $p4 7000; gen_udp $HOSTNS $h4 $p4 53
  # scans
  nsx $A nmap -n -Pn -T4 -sS -p 22,53,80,443,41641 $h4
  nsx $A nmap -n -Pn -T4 -sU -p 53,5353,41641 $h4
  nsx $A nmap -n -Pn -T4 -sA -p 22,80 -S 100.100.1.1 -e p0 $h4
  nsx $TN nmap -n -Pn -T4 -sS -p 22,80,7000 $p4
  nsx $TN nmap -6 -n -Pn -T4 -sS -p 22,80 $t6
}
FWARGS="--router"
gen_record
