#!/bin/bash
# minimal: a unicast frame to the host's MAC whose IP destination is not the host (host is not a router)
D=$(cd $(dirname $0); pwd); cd $D
source "$(dirname "$0")"/../lib/lib.sh; source "$D"/../lib/host.sh
host_up
nsx $H iptables-restore < rules.v4
host_cfg > host.json
start_tcpdump $H any $D/capture.pcap; TD1=$TD_PID
start_tcpdump $H h0 $D/h0.pcap -Q in; TD2=$TD_PID
nsx $P python3 -c "
import sys; sys.path.insert(0,'"$D"/../lib'); import craft
craft.send('p0','02:00:00:00:00:01',[craft.pkt4('192.0.2.2','203.0.113.9',17,sport=5555,dport=80,pay=b'notlocal')])"
sleep 0.5
TD_PID=$TD1 stop_tcpdump $D/capture.pcap; TD_PID=$TD2 stop_tcpdump $D/h0.pcap
nsx $H iptables-save -c > kernel.save
python3 "$(dirname "$0")"/../lib/mergepcapng.py h0.pcapng h0=h0.pcap
for c in capture.pcap h0.pcapng; do
 CMD="$FW rules.v4 --pcap $c --host-config host.json --format json --fail-on never"; echo "$CMD" >> fwcheck.cmd
 $CMD > fw-$c.json 2> fw-$c.err; echo "== $c"; python3 "$(dirname "$0")"/../lib/cmp.py kernel.save fw-$c.json | grep -v policy; grep '"packet"' fw-$c.json
done
delns $H $P
