#!/bin/bash
# IPv6 datagrams whose extension header chain ends before its headers do (nmap -6 -sO sends every
# extension header's number with no payload): a cut hop-by-hop header is dropped by
# ipv6_parse_hopopts before PREROUTING; a chain ipv6_skip_exthdr cannot read is INVALID to
# conntrack (get_l4proto: no protocol, no tuple). One source address per case (probes.py).
cd "$(dirname "$0")"; source ../lib/lib.sh; source ../lib/host.sh; H=nmx6-h; P=nmx6-p
host_up
nsx $H ip6tables-restore < rules
start_tcpdump $H h0 capture.pcap
nsx $P python3 probes.py
sleep 0.5; nsx $H ip6tables-save -c > kernel.save
stop_tcpdump capture.pcap
host_cfg $H > host.json
delns $H $P
printf -- '-6\n--host-config\nhost.json\n--conntrack-start\nempty\n' > args
$FW rules -6 --pcap capture.pcap --host-config host.json --conntrack-start empty --format json --fail-on never > fw.json
python3 ../lib/cmp.py kernel.save fw.json
