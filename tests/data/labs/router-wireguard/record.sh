#!/bin/bash
# a WireGuard gateway (wireguard-go: wg0 is a tun device, MTU 1420): the WAN client c reaches
# the LAN server s through wg0 (10.66.0.2 -> 10.66.0.1, UDP 51820 on wan0); the router MASQUERADEs
# the LAN into the tunnel, DNATs lan0's port 8080 to the client's port 80 through it, clamps
# the MSS of SYNs leaving by wg0, and answers its own services on wg0. Bulk TCP both ways:
# GRO on lan0 merges the server's segments into super-packets longer than wg0's MTU, which
# the router forwards whole and cuts on wg0 (a tun device without TSO); a DF datagram longer
# than wg0's MTU gets "fragmentation needed". Captured with -i any (capture.pcap) and on each
# interface (ifaces.pcapng, wg0's frames raw IP).
D=$(cd $(dirname $0); pwd); cd $D
L=$D/../lib
source $L/lib.sh; source $L/wg.sh; LAB=${LAB:-tcwg} source $L/topo_router.sh
topo_up
wg_up $R wg0 10.66.0.1/24 1420 51820 -- $C wgc0 10.66.0.2/24 1420 198.51.100.1:51820 10.66.0.0/24,10.9.0.0/24
ip -n $C route replace 10.9.0.0/24 dev wgc0
nsx $S python3 $L/bulk_srv.py h > srvs.log 2>&1 & S1=$!
nsx $R python3 $L/serve.py t:22 u:53 > srvr.log 2>&1 & S2=$!
nsx $C python3 $L/bulk_srv.py h > srvc.log 2>&1 & S3=$!
sleep 0.5
nsx $R iptables-restore < rules
printf '{"addr": %s, "route": %s}\n' "$(nsx $R ip -d -j addr)" "$(nsx $R ip -j route)" > host.json
start_tcpdump $R any $D/capture.pcap; T1=$TD_PID
start_tcpdump $R wan0 $D/wan0.pcap; T2=$TD_PID
start_tcpdump $R lan0 $D/lan0.pcap; T3=$TD_PID
start_tcpdump $R wg0 $D/wg0.pcap; T4=$TD_PID
sleep 0.3
cli() { nsx $1 python3 -c "
exec(open('$L/bulk_cli.py').read().split(\"if role=='p':\")[0])
$3" $2 c; }
{
nsx $C ping -c2 -i0.2 -W1 10.66.0.1; nsx $C ping -c2 -i0.2 -W1 10.9.0.2
cli $C 10.66.0.1 "tcpc(22); tcpc(23); udp(53, 2); udp(54)"
cli $C 10.9.0.2 "dl(80, 200000); ul(22, 100000); udp(53, 2); tcpc(25)"
cli $S 10.9.0.1 "dl(8080, 150000); ul(8080, 50000)"
nsx $S ping -c1 -W1 10.66.0.2
# DF datagrams from the LAN to the tunnel: 1468 bytes (longer than wg0's MTU), then 1028
nsx $S python3 -c "
import socket, time; u=socket.socket(2,2); u.setsockopt(0,10,2); u.bind(('',4444))
u.sendto(b'z'*1440,('10.66.0.2',9)); time.sleep(0.2); u.sendto(b'z'*1000,('10.66.0.2',9))"
nsx $R ping -c1 -W1 10.66.0.2
} > traffic.log 2>&1
sleep 0.5
nsx $R iptables-save -c > kernel.save
kill -INT $T1 $T2 $T3 $T4; wait $T1 $T2 $T3 $T4 2>/dev/null
grep -h dropped *.pcap.err
kill $S1 $S2 $S3
topo_down
python3 $L/mergepcapng.py ifaces.pcapng wan0=wan0.pcap lan0=lan0.pcap wg0=wg0.pcap
rm -f wan0.pcap lan0.pcap wg0.pcap
printf -- '--router\n--host-config\nhost.json\n--conntrack-start\nempty\n' > args
printf -- '--pcap\nifaces.pcapng\n--router\n--host-config\nhost.json\n--conntrack-start\nempty\n' > ifaces.args
F=${FWCHECK:-fwcheck}
for c in capture.pcap ifaces.pcapng; do
$F rules --pcap $c --host-config host.json --router --conntrack-start empty --format json --fail-on never > fw.$c.json 2> fw.$c.err
python3 $L/cmp.py kernel.save fw.$c.json > cmp.$c.txt; echo "== $c"; grep -E "DIFF|summary|uncertain|RESULT" cmp.$c.txt
done
