#!/bin/bash
# A UDP flood (hping3, 2000/s) into a hashlimit, whose answers near each refill depend on the
# kernel's clock phase (uncertain), then 15 held TCP connections from the same address into a
# `-p tcp` connlimit of 10: the kernel resets the last 5, and the UDP doubt cannot reach the
# connlimit's lists (only TCP packets do)
cd "$(dirname "$0")"; source ../lib/lib.sh; source ../lib/host.sh; H=fl-h; P=fl-p
host_up
nsx $H python3 ../lib/serve.py t:80 & SP=$!; sleep 0.5
nsx $H iptables-restore < rules
start_tcpdump $H any capture.pcap; sleep 1
nsx $P hping3 -q --udp -p 9999 -i u500 -c 400 192.0.2.1 2>/dev/null; sleep 0.5
nsx $P python3 -c '
import socket, time
ss = []
for i in range(15):
    s = socket.socket(); s.settimeout(1)
    try: s.connect(("192.0.2.1", 80)); ss.append(s)
    except OSError as e: print("conn", i, e)
    time.sleep(0.03)
time.sleep(1)
for s in ss: s.close()
print("held", len(ss))'
sleep 1; nsx $H iptables-save -c > kernel.save
stop_tcpdump capture.pcap
host_cfg $H > host.json
kill $SP; delns $H $P
printf -- '--host-config\nhost.json\n--conntrack-start\nempty\n' > args
$FW rules --pcap capture.pcap --host-config host.json --conntrack-start empty --format json --fail-on never > fw.json
python3 ../lib/cmp.py kernel.save fw.json
