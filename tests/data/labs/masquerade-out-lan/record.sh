#!/bin/bash
# minimal: router MASQUERADE (plain vs --random-fully); one UDP exchange + one TCP connection client->server; tcpdump -i any on router
D=$(cd $(dirname $0); pwd); cd $D
source "$(dirname "$0")"/../lib/lib.sh; LAB=hunt3 source "$D"/../lib/topo_router.sh
rm -f fwcheck.cmd
for v in plain randomfully; do
topo_up
nsx $S python3 $D/../lib/serve.py t:8080 u:53 & S1=$!
sleep 0.3
nsx $R iptables-restore < rules-$v.v4
printf '{"addr": %s, "route": %s}\n' "$(nsx $R ip -j addr)" "$(nsx $R ip -j route)" > host.json
start_tcpdump $R any $D/cap-$v.pcap ip
nsx $C python3 -c "
import socket
u=socket.socket(2,2); u.settimeout(1); u.sendto(b'q',('10.9.0.2',53)); print(u.recvfrom(10))
s=socket.create_connection(('10.9.0.2',8080),timeout=1); s.sendall(b'GET'); print(s.recv(100)); s.close()"
sleep 0.3
stop_tcpdump $D/cap-$v.pcap
nsx $R iptables-save -c > kernel-$v.save
kill $S1
CMD="$FW rules-$v.v4 --pcap cap-$v.pcap --host-config host.json --router --format json --fail-on never"
echo "$CMD" >> fwcheck.cmd
$CMD > fw-$v.json 2> fw-$v.err
echo "=== $v"; python3 "$(dirname "$0")"/../lib/cmp.py kernel-$v.save fw-$v.json | grep -- "DIFF\|summary\|RESULT\|uncertain"
topo_down
done
