#!/bin/bash
# TCP conntrack edge cases with real sockets (probes.py against srv.py, both families), client
# te-c -- router te-r (wan0/lan0) -- server te-s: the router's FORWARD ruleset (rules, rules6;
# ESTABLISHED timeout 6 s by sysctl) and the server's own INPUT/OUTPUT (srv.rules, srv.rules6),
# each captured with `tcpdump -i any` where it runs. Run as root from this directory.
# RSYSCTL: more router sysctls, FWARGS: fwcheck's matching options (lines ending in \n), e.g.
# RSYSCTL=net.netfilter.nf_conntrack_tcp_loose=0 FWARGS='--tcp-loose\nfalse\n' (that run and
# one with nf_conntrack_tcp_be_liberal=1 / --tcp-be-liberal agreed too; not kept).
cd "$(dirname "$0")"; D=$(pwd)
F0=${FW:-../../../../target/release/fwcheck}; source ../lib/lib.sh; FW=$F0
NSP=${NSP:-te-}; C=${NSP}c; R=${NSP}r; S=${NSP}s
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
# the client: tcp_tw_reuse for its own TIME_WAIT, the server's simultaneous-open SYN dropped, and
# its resets to the SYN/ACKs its raw SYNs (ports 40409, 40609) draw; Fast Open on the server
nsx $C sysctl -qw net.ipv4.tcp_tw_reuse=1
nsx $S sysctl -qw net.ipv4.tcp_fastopen=3
for t in iptables ip6tables; do nsx $C $t -A INPUT -p tcp --dport 7101 --tcp-flags SYN,ACK SYN -j DROP
  nsx $C $t -A OUTPUT -p tcp -m multiport --sports 40409,40609 --tcp-flags RST RST -j DROP; done
nsx $R iptables-restore < rules; nsx $R ip6tables-restore < rules6
nsx $R sysctl -qw net.netfilter.nf_conntrack_tcp_timeout_established=6 $RSYSCTL
nsx $S iptables-restore < srv.rules; nsx $S ip6tables-restore < srv.rules6
hj() { nsx $1 sh -c 'printf "{\"addr\": %s, \"route\": %s, \"maddr\": %s}\n" "$(ip -j addr)" "$(python3 -c "import json,subprocess as s;print(json.dumps(json.loads(s.check_output([\"ip\",\"-j\",\"route\"]))+json.loads(s.check_output([\"ip\",\"-6\",\"-j\",\"route\"]))))")" "$(ip -j maddr)"'; }
hj $R > host.json; hj $S > srv-host.json
nsx $S python3 srv.py > srv.log 2>&1 &
sleep 0.5
start_tcpdump $S any $D/srv.pcap; TD_S=$TD_PID
start_tcpdump $R any $D/capture.pcap; TD_R=$TD_PID; sleep 0.3
nsx $C python3 probes.py ${FAMS:-46} > traffic.log 2>&1
sleep 1
nsx $R iptables-save -c > kernel.save; nsx $R ip6tables-save -c > kernel6.save
nsx $S iptables-save -c > srv.save; nsx $S ip6tables-save -c > srv6.save
stop_tcpdump $D/capture.pcap; TD_PID=$TD_S; stop_tcpdump $D/srv.pcap
delns $C $R $S
A="${FWARGS}--host-config\nhost.json\n--conntrack-start\nempty\n--ct-timeout\ntcp_established=6\n"
printf -- "--router\n$A" > v4.args; printf -- "rules=rules6\nkernel=kernel6.save\n--router\n$A" > v6.args
B='--pcap\nsrv.pcap\n--host-config\nsrv-host.json\n--conntrack-start\nempty\n'
printf -- "rules=srv.rules\nkernel=srv.save\n$B" > srv4.args; printf -- "rules=srv.rules6\nkernel=srv6.save\n$B" > srv6.args
for a in v4.args v6.args srv4.args srv6.args; do
  r=$(sed -n 's/^rules=//p' $a); r=${r:-rules}; s=$(sed -n 's/^kernel=//p' $a); s=${s:-kernel.save}
  opts=$(grep -v '^rules=\|^kernel=' $a | tr '\n' ' '); case "$opts" in *--pcap*) ;; *) opts="--pcap capture.pcap $opts" ;; esac
  $FW $r $opts --format json --fail-on never > fw.$a.json 2> fw.$a.err
  $FW $r $opts --fail-on never --limit 0 > fw.$a.txt 2>&1
  echo "== $a"; python3 ../lib/cmp.py $s fw.$a.json | tee cmp.$a.txt | grep -- "DIFF\|summary\|RESULT\|uncertain"
done
