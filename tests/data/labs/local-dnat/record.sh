#!/bin/bash
# minimal: local DNAT 8080->80 (three spellings), one TCP connection, tcpdump -i any on the host
D=$(cd $(dirname $0); pwd); cd $D
source "$(dirname "$0")"/../lib/lib.sh; source "$D"/../lib/host.sh
rm -f fwcheck.cmd
for v in portonly withaddr redirect; do
host_up
nsx $H python3 $D/../lib/serve.py t:80 & SRV1=$!
sleep 0.3
nsx $H iptables-restore < rules-$v.v4
host_cfg > "$D"/../lib/host-h0.json
start_tcpdump $H any $D/cap-$v.pcap tcp
nsx $P python3 -c "
import socket; s=socket.create_connection(('192.0.2.1',8080),timeout=1); s.sendall(b'hello'); print(s.recv(100)); s.close()"
sleep 0.3
stop_tcpdump $D/cap-$v.pcap
nsx $H iptables-save -c > kernel-$v.save
kill $SRV1
CMD="$FW rules-$v.v4 --pcap cap-$v.pcap --host-config ../lib/host-h0.json --format json --fail-on never"
echo "$CMD" >> fwcheck.cmd
$CMD > fw-$v.json 2> fw-$v.err
echo "=== $v"; python3 "$(dirname "$0")"/../lib/cmp.py kernel-$v.save fw-$v.json | grep -- "DIFF\|summary\|RESULT\|uncertain"
delns $H $P
done
