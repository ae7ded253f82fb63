#!/bin/bash
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft), by a kernel hunt (2026-12-07); replayed with args.
# A router forwarding a packet back out the interface it came in on, to a host on the sender's link, sends an ICMP
# redirect (ip_forward -> ip_rt_send_redirect, before FORWARD; send_redirects defaults to 1; no nat table here, so it
# leaves). The redirect sets the sender's inet_peer rate_last, so FORWARD's REJECT icmp-port-unreachable for the same
# packet finds no token in icmpv4_xrlim_allow and is not sent (nor counted in OUTPUT).
# router kqr (wan0 198.51.100.1/24 2001:db8:a::1/64, lan0 10.9.0.1/24 2001:db8:b::1/64) between kqc (c0) and kqs (s0);
# probes.py sends raw frames from kqc; tcpdump -i any on the router.
cd "$(dirname "$0")"; D=$(pwd); FAM=4
F0=${FW:-../../../../target/release/fwcheck}; source ../lib/lib.sh; FW=$F0
C=${NSP:-kq}c; R=${NSP:-kq}r; S=${NSP:-kq}s
topo_up() {
  delns $C $R $S
  for n in $C $R $S; do mkns $n; nsx $n sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0 net.ipv6.conf.all.router_solicitations=0 net.ipv6.conf.default.router_solicitations=0; done
  nsx $R sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 net.ipv6.conf.default.forwarding=1
  ip link add c0 netns $C address 02:00:00:00:0a:02 type veth peer name wan0 netns $R address 02:00:00:00:0a:01
  ip link add lan0 netns $R address 02:00:00:00:0b:01 type veth peer name s0 netns $S address 02:00:00:00:0b:02
  ip -n $C addr add 198.51.100.2/24 dev c0; ip -n $C addr add 2001:db8:a::2/64 dev c0 nodad
  ip -n $R addr add 198.51.100.1/24 dev wan0; ip -n $R addr add 2001:db8:a::1/64 dev wan0 nodad
  ip -n $R addr add 10.9.0.1/24 dev lan0; ip -n $R addr add 2001:db8:b::1/64 dev lan0 nodad
  ip -n $S addr add 10.9.0.2/24 dev s0; ip -n $S addr add 2001:db8:b::2/64 dev s0 nodad
  for x in "$C c0" "$R wan0" "$R lan0" "$S s0"; do set -- $x; ip -n $1 link set $2 up; done
  ip -n $C route add 10.9.0.0/24 via 198.51.100.1; ip -n $C -6 route add 2001:db8:b::/64 via 2001:db8:a::1
  ip -n $S route add default via 10.9.0.1; ip -n $S -6 route add default via 2001:db8:b::1
  for x in "$C c0 198.51.100.1 0a:01" "$C c0 2001:db8:a::1 0a:01" "$R wan0 198.51.100.2 0a:02" "$R wan0 2001:db8:a::2 0a:02" \
           "$R lan0 10.9.0.2 0b:02" "$R lan0 2001:db8:b::2 0b:02" "$S s0 10.9.0.1 0b:01" "$S s0 2001:db8:b::1 0b:01"; do
    set -- $x; ip -n $1 neigh replace $3 lladdr 02:00:00:00:$4 dev $2 nud permanent; done
  sleep 3
}
topo_up
# a second host on the wan link: 198.51.100.3 (the client namespace holds it too)
ip -n $C addr add 198.51.100.3/24 dev c0; ip -n $R neigh replace 198.51.100.3 lladdr 02:00:00:00:0a:02 dev wan0 nud permanent
[ -n "$PRE" ] && eval "$PRE"
# FAM=6: ./rules is an ip6tables ruleset (kernel.save from ip6tables-save, args with -6); FAM=46: rules + rules6
case ${FAM:-46} in
  6) nsx $R ip6tables-restore < rules || echo RESTORE FAILED ;;
  *) nsx $R iptables-restore < rules || echo RESTORE FAILED; [ -f rules6 ] && { nsx $R ip6tables-restore < rules6 || echo RESTORE6 FAILED; } ;;
esac
nsx $R sh -c 'printf "{\"addr\": %s, \"route\": %s, \"maddr\": %s}\n" "$(ip -j addr)" "$(python3 -c "import json,subprocess as s;print(json.dumps(json.loads(s.check_output([\"ip\",\"-j\",\"route\"]))+json.loads(s.check_output([\"ip\",\"-6\",\"-j\",\"route\"]))))")" "$(ip -j maddr)"' > host.json
start_tcpdump $R any $D/capture.pcap; sleep 0.3
nsx $C python3 probes.py ${STEP:-all} > traffic.log 2>&1
sleep 1
stop_tcpdump $D/capture.pcap
if [ "${FAM:-46}" = 6 ]; then nsx $R ip6tables-save -c > kernel.save; else nsx $R iptables-save -c > kernel.save; [ -f rules6 ] && nsx $R ip6tables-save -c > kernel6.save; fi
nsx $R conntrack -L > conntrack.txt 2>&1; nsx $R conntrack -L -f ipv6 >> conntrack.txt 2>&1
delns $C $R $S
A='--router\n--host-config\nhost.json\n--conntrack-start\nempty\n'
if [ -f rules ] && [ -f rules6 ]; then printf -- "$A" > v4.args; printf -- "rules=rules6\nkernel=kernel6.save\n$A" > v6.args
elif [ "${FAM:-46}" = 6 ]; then printf -- "-6\n$A" > args; else printf -- "$A" > args; fi
for r in rules rules6; do [ -f $r ] || continue
  s=kernel.save; [ $r = rules6 ] && s=kernel6.save
  a=v4.args; [ $r = rules6 ] && a=v6.args; [ -f $a ] || a=args
  opts=$(grep -v '^rules=\|^kernel=' $a | tr '\n' ' ')
  $FW $r --pcap capture.pcap $opts --format json --fail-on never > fw.$r.json 2> fw.$r.err
  $FW $r --pcap capture.pcap $opts --fail-on never --limit 0 > fw.$r.txt 2>&1
  python3 ../lib/cmp.py $s fw.$r.json | tee cmp.$r.txt | grep -- "DIFF\|summary\|RESULT\|uncertain"
done
