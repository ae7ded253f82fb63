#!/bin/bash
# fwcheck kernel hunt (2026-12-07): matches in the raw table after a CT target, which attaches a conntrack
# template to the skb (CT --zone, plain -j CT): conntrack/state say NEW (not INVALID), connmark reads the
# template's mark, --ctstatus CONFIRMED and --ctdir ORIGINAL hold; a raw `--state INVALID -j DROP` drops nothing.
# One TCP connection to 80 and one to 443 over IPv4 and IPv6. Recorded as root (Linux 6.18, iptables 1.8.9 nft).
cd "$(dirname "$0")"
HOSTNS=h2T; A=h2A; CAPIF=t0
setup_topo() {
  delns $A $HOSTNS; mkns $A; mkns $HOSTNS
  ip link add t0 netns $HOSTNS address 02:00:00:00:09:01 type veth peer name a0 netns $A address 02:00:00:00:09:02
  for n in $A $HOSTNS; do nsx $n sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.default.router_solicitations=0; done
  ip -n $HOSTNS addr add 10.9.0.1/24 dev t0; ip -n $A addr add 10.9.0.2/24 dev a0
  ip -n $HOSTNS addr add 2001:db8:9::1/64 dev t0 nodad; ip -n $A addr add 2001:db8:9::2/64 dev a0 nodad
  ip -n $HOSTNS link set t0 up; ip -n $A link set a0 up
  nsx $HOSTNS python3 $LIB/serve6.py t:80 t:443 & SRV1=$!
  sleep 4
}
teardown() { kill $SRV1; delns $A $HOSTNS; }
traffic() { nsx $A python3 $D/cli.py; }
FWARGS="--iface t0"
source ../lib/drv.sh
printf 'rules=rules\nkernel=kernel.save\n' > v4.args; cat args >> v4.args
printf 'rules=rules6\nkernel=kernel6.save\n-6\n' > v6.args; cat args >> v6.args
rm args
