#!/bin/bash
# hashlimit above 100/s burst 5 -j DROP; six bursts of 12 UDP datagrams about 2 ms apart, each
# from a new socket; the server echoes every datagram it receives, so a datagram was accepted
# exactly when its echo is in the capture (kernel HZ=250, fwcheck's default)
cd "$(dirname "$0")"; source ../lib/lib.sh; source ../lib/host.sh; H=hunt4-h; P=hunt4-p
host_up
nsx $H python3 ../lib/serve.py u:6101 & SP=$!; sleep 0.5
nsx $H iptables-restore < rules
start_tcpdump $H any capture.pcap; sleep 1
for r in 1 2 3 4 5 6; do
  nsx $P python3 -c '
import socket, time
socks = []
for i in range(12):
    s = socket.socket(2, 2); s.setblocking(False); socks.append(s)
    s.sendto(b"x" * (10 + i), ("192.0.2.1", 6101)); time.sleep(0.002)
time.sleep(0.05)
def echoed(s):
    try: return s.recv(2000) and "1"
    except BlockingIOError: return "0"
print("replies", "".join(echoed(s) for s in socks))'
  sleep 0.3
done
sleep 0.5; nsx $H iptables-save -c > kernel.save
stop_tcpdump capture.pcap
host_cfg $H > host.json
kill $SP; delns $H $P
$FW rules --pcap capture.pcap --host-config host.json --format json --fail-on never > fw.json
python3 ../lib/cmp.py kernel.save fw.json
