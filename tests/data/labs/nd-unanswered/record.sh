#!/bin/bash
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft), by a kernel hunt (2026-12-07); replayed by tests/recorded_labs.rs with args.
# IPv6 twin of tailscale-host's ARP case: the host ndH (t0 2001:db8:a::1/64 to the peer ndA, t1 2001:db8:f::1/64 to ndB)
# is sent packets on t0 from 2001:db8:f::5 (an address of ndA's), whose route leads out t1, where no one holds it: the host
# solicits it (neighbour solicitations from t1's link-local address, three to the solicited-node group, no advertisement
# back), its answers wait in the neighbour's queue after OUTPUT and POSTROUTING and are dropped unsent when the entry
# fails (neigh_invalidate -> ndisc_error_report). The stack's "address unreachable" to the host itself over lo quotes the
# reset and the echo replies; its ICMPv6 errors (REJECT's and a closed UDP port's port unreachables) get no error
# (icmp6_send answers no error) and leave no trace. The ping's second request is ESTABLISHED: the first one's reply,
# queued, crossed OUTPUT's conntrack. Traffic from 2001:db8:a::2 is answered on t0; ndB on t1 answers the host's solicitation.
cd "$(dirname "$0")"
HOSTNS=ndH; A=ndA; B=ndB; CAPIF=any
setup_topo() {
  delns $A $B $HOSTNS; mkns $A; mkns $B; mkns $HOSTNS
  for n in $A $B $HOSTNS; do nsx $n sysctl -qw net.ipv6.conf.all.router_solicitations=0 net.ipv6.conf.default.router_solicitations=0; done
  ip link add t0 netns $HOSTNS address 02:00:00:00:0d:01 type veth peer name a0 netns $A address 02:00:00:00:0d:02
  ip link add t1 netns $HOSTNS address 02:00:00:00:0d:11 type veth peer name b0 netns $B address 02:00:00:00:0d:12
  ip -n $HOSTNS addr add 2001:db8:a::1/64 dev t0 nodad; ip -n $A addr add 2001:db8:a::2/64 dev a0 nodad
  ip -n $A addr add 2001:db8:f::5/128 dev a0 nodad
  ip -n $HOSTNS addr add 2001:db8:f::1/64 dev t1 nodad; ip -n $B addr add 2001:db8:f::2/64 dev b0 nodad
  for l in "$HOSTNS t0" "$HOSTNS t1" "$A a0" "$B b0"; do set -- $l; ip -n $1 link set $2 up; done
  ip -n $HOSTNS neigh replace 2001:db8:a::2 lladdr 02:00:00:00:0d:02 dev t0 nud permanent
  ip -n $A neigh replace 2001:db8:a::1 lladdr 02:00:00:00:0d:01 dev a0 nud permanent
  ip -n $B neigh replace 2001:db8:f::1 lladdr 02:00:00:00:0d:11 dev b0 nud permanent  # ndB does not solicit the host: the host solicits it
  sleep 4  # the interfaces' link-local DAD and unsolicited MLD reports before the rules load
}
teardown() { delns $A $B $HOSTNS; }
traffic() {
  local h=2001:db8:a::1 f=2001:db8:f::5
  # the routed-back source: the stack's reset, REJECT's and the stack's port unreachables, a ping of two requests
  nsx $A python3 - $f $h <<'PY'
import socket, sys, time
src, dst = sys.argv[1], sys.argv[2]
for port in (24, 25):
    s = socket.socket(socket.AF_INET6); s.bind((src, 0)); s.settimeout(0.3)
    try: s.connect((dst, port))
    except Exception as e: print(port, e)
    s.close()
u = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM); u.bind((src, 0))
for port in (5000, 5001, 5000, 5001): u.sendto(b'x' * 20, (dst, port)); time.sleep(0.1)
PY
  nsx $A ping -6 -c 2 -i 0.2 -W 1 -I $f $h
  sleep 4  # the entry fails, its queue is dropped
  # again, after the failure: a new resolution, and the stack's port unreachable lost again
  nsx $A python3 -c "
import socket
u=socket.socket(socket.AF_INET6,socket.SOCK_DGRAM); u.bind(('$f',0)); u.sendto(b'y'*10,('$h',5001))"
  # the ordinary peer, answered on t0; ndB on t1, whose pings the host solicits it for (it answers)
  nsx $A ping -6 -c 1 -W 1 $h
  nsx $A python3 -c "
import socket
u=socket.socket(socket.AF_INET6,socket.SOCK_DGRAM); u.sendto(b'z'*10,('$h',5000)); u.sendto(b'z'*10,('$h',5001))
s=socket.socket(socket.AF_INET6); s.settimeout(0.5)
try: s.connect(('$h',23))
except Exception as e: print(e)"
  nsx $B ping -6 -c 2 -i 0.2 -W 1 2001:db8:f::1
}
SETTLE=4
FWARGS=""
source ../lib/drv.sh
(printf 'rules=rules6\nkernel=kernel6.save\n'; cat args) > args.new && mv args.new args
