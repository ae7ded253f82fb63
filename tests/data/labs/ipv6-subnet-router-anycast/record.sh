#!/bin/bash
# IPv6 router (forwarding=1) on 2001:db8:1::/64: the peer pings the Subnet-Router anycast 2001:db8:1:: (RFC 4291 2.6.1), which the kernel
# joins on every interface of a forwarding host (addrconf_join_anycast, local table "anycast 2001:db8:1:: dev h0"): delivered locally (INPUT), answered
D=$(cd $(dirname $0); pwd); cd $D
L=$D/../lib
source $L/lib.sh; source $L/host.sh; H=${HN:-hk23-h}; P=${PN:-hk23-p}
host_up
nsx $H sysctl -qw net.ipv6.conf.all.forwarding=1
nsx $P ping -6 -c1 -W1 2001:db8:1::1 >/dev/null; sleep 0.3
nsx $H ip6tables-restore < rules
start_tcpdump $H h0 $D/h0.pcap; T2=$TD_PID
sleep 0.3
nsx $P ping -6 -c2 -i0.2 -W1 2001:db8:1:: > traffic.log 2>&1
sleep 0.3
nsx $H ip6tables-save -c > kernel.save
kill -INT $T2; wait $T2 2>/dev/null
host_cfg $H > host.json
nsx $H ip -6 route show table local > route-local.txt
delns $H $P
python3 $L/mergepcapng.py capture.pcapng h0=h0.pcap
F=${FWCHECK:-fwcheck}
for h in host.json; do
echo "$F rules -6 --pcap capture.pcapng --host-config $h --router --conntrack-start empty --format json --fail-on never" >> fwcheck.cmd
$F rules -6 --pcap capture.pcapng --host-config $h --router --conntrack-start empty --format json --fail-on never > fw.$h 2> fw.$h.err
python3 $L/cmp.py kernel.save fw.$h | tee cmp.$h.txt | grep -E "DIFF|summary|uncertain|RESULT"
done
