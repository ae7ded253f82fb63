#!/bin/bash
# The Arch wiki's "Simple stateful firewall" for IPv6 (ip6tables): link-local ICMPv6 and
# neighbour discovery accepted before conntrack's INVALID drop, DHCPv6 replies, NEW echo
# requests, the TCP/UDP chains with the recent port-scan trap, REJECT icmp6-adm-prohibited
# for other protocols. A peer (2001:db8:1::2, and a second address 2001:db8:1::3 as the
# scanner) uses ssh/http/dns and pings, then scans with nmap -6 (SYN, UDP, ACK, protocols);
# OUTPUT counts INVALID and RELATED ICMPv6. Recorded as root on Linux 6.18, iptables 1.8.9.
cd "$(dirname "$0")"; source ../lib/lib.sh; source ../lib/host.sh; H=ar-h; P=ar-p
host_up
ip -n $P addr add 2001:db8:1::3/64 dev p0 nodad; sleep 0.3
nsx $H python3 ../lib/serve6.py t:22 t:80 t:443 u:53 & SP=$!; sleep 0.5
nsx $H ip6tables-restore < rules6
start_tcpdump $H any capture.pcap; sleep 1
cli() { nsx $P python3 -c "
import socket,sys
src,proto,port=sys.argv[1],sys.argv[2],int(sys.argv[3])
if proto=='t':
  s=socket.socket(10,1); s.settimeout(2); s.bind((src,0))
  try: s.connect(('2001:db8:1::1',port)); s.sendall(b'hello'); print(s.recv(100)); s.close()
  except Exception as e: print('tcp',port,e)
else:
  s=socket.socket(10,2); s.settimeout(1); s.bind((src,0)); s.sendto(b'q',('2001:db8:1::1',port))
  try: print(s.recvfrom(100))
  except Exception as e: print('udp',port,e)
" "$@"; }
cli 2001:db8:1::2 t 22; cli 2001:db8:1::2 t 80; cli 2001:db8:1::2 u 53
nsx $P ping -6 -c 2 -i 0.2 -I 2001:db8:1::2 2001:db8:1::1
nsx $P ping -6 -c 1 fe80::ff:fe00:1%p0 2>/dev/null || nsx $P ping -6 -c 1 -I p0 ff02::1
cli 2001:db8:1::3 t 23; cli 2001:db8:1::3 t 22
nsx $P nmap -6 -n -Pn -S 2001:db8:1::3 -e p0 -sS -p 20-25,80,443 --max-retries 0 2001:db8:1::1
nsx $P nmap -6 -n -Pn -S 2001:db8:1::3 -e p0 -sU -p 53,123,161 --max-retries 0 2001:db8:1::1
nsx $P nmap -6 -n -Pn -S 2001:db8:1::3 -e p0 -sA -p 22,80 --max-retries 0 2001:db8:1::1
nsx $P nmap -6 -n -Pn -S 2001:db8:1::3 -e p0 -sO -p 6,17,47,58,132 --max-retries 0 2001:db8:1::1
cli 2001:db8:1::2 u 54; cli 2001:db8:1::2 u 53; cli 2001:db8:1::2 t 22
sleep 1; nsx $H ip6tables-save -c > kernel6.save
stop_tcpdump capture.pcap
host_cfg $H > host.json
kill $SP; delns $H $P
printf -- 'rules=rules6\nkernel=kernel6.save\n--host-config\nhost.json\n--conntrack-start\nempty\n' > args
$FW rules6 --pcap capture.pcap --host-config host.json --conntrack-start empty --format json --fail-on never > fw.json
python3 ../lib/cmp.py kernel6.save fw.json
