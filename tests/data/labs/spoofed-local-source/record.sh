#!/bin/bash
# A packet ARRIVING with the host's own address as source (spoofed): the kernel's raw
# PREROUTING sees it (and, had it passed, the input route would refuse it as martian).
# Recorded as root; needs lib.sh and inject.py beside it.
cd "$(dirname "$0")"; source ../lib/lib.sh
A=hunt2-m3a; B=hunt2-m3b; delns $A $B; mkns $A; mkns $B
for n in $A $B; do nsx $n sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1; done
ip link add a0 netns $A type veth peer name eth0 netns $B
ip -n $A addr add 192.0.2.1/24 dev a0; ip -n $B addr add 192.0.2.2/24 dev eth0
ip -n $A link set a0 up; ip -n $B link set eth0 up; sleep 0.3
MB=$(ip -n $B -j link show eth0 | python3 -c 'import json,sys;print(json.load(sys.stdin)[0]["address"])')
printf '{"addr": %s, "route": %s}\n' "$(ip -n $B -j addr)" "$(ip -n $B -j route)" > host.json
nsx $B iptables-restore < rules
start_tcpdump $B eth0 b.pcap -Q in
nsx $A python3 inject.py a0 $MB 4,192.0.2.2,192.0.2.2,9 4,192.0.2.2,192.0.2.1,9 4,192.0.2.2,192.0.2.2,10
sleep 0.3; nsx $B iptables-save -c > kernel.save; stop_tcpdump b.pcap
delns $A $B
python3 ../lib/mergepcapng.py capture.pcapng eth0=b.pcap
rm -f b.pcap b.pcap.err
