#!/bin/bash
# A firewalld host (its ruleset with a forward-port: a DNAT of tcp/8080 to port 80 in the zone's
# nat chain, which only PREROUTING reaches) scans and connects out to port 80 of its peer:
# nmap -sS (raw SYNs; the host's stack resets the SYN/ACKs) and a plain connect. nat OUTPUT
# reaches no DNAT, so the capture shows what the host's sockets addressed.
cd "$(dirname "$0")"; source ../lib/lib.sh; source ../lib/host.sh; H=nmfw-h; P=nmfw-p
host_up
nsx $H iptables-restore < rules
nsx $P python3 ../lib/serve.py t:80 t:8080 & SP=$!; sleep 0.3
start_tcpdump $H h0 capture.pcap
nsx $H nmap -n -Pn -sS -p 79,80,8080 192.0.2.2 > traffic.log 2>&1
nsx $H python3 -c "
import socket
s=socket.create_connection(('192.0.2.2',80)); s.sendall(b'hi'); print(s.recv(100)); s.close()"
sleep 0.5; nsx $H iptables-save -c > kernel.save
stop_tcpdump capture.pcap
host_cfg $H > host.json
kill $SP; delns $H $P
printf -- '--iface\nh0\n--host-config\nhost.json\n--conntrack-start\nempty\n' > args
$FW rules --pcap capture.pcap --host-config host.json --conntrack-start empty --iface h0 --format json --fail-on never > fw.json
python3 ../lib/cmp.py kernel.save fw.json
