#!/bin/bash
# The Arch wiki's "Simple stateful firewall" with its port-scan trap (`recent --set` on a
# rejected probe, `--update --seconds 60` in the TCP and UDP chains): a client (10.9.0.2) uses
# ssh/http/dns and pings; a scanner (10.9.0.3) runs nmap SYN, UDP, ACK, FIN and IP-protocol
# scans, is trapped, and its later SYN to the open port 22 is reset; the client is not.
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft), nmap 7.x.
cd "$(dirname "$0")"
cli() { nsx $A python3 -c "
import socket,sys
src,proto,port=sys.argv[1],sys.argv[2],int(sys.argv[3])
if proto=='t':
  s=socket.socket(); s.settimeout(2); s.bind((src,0))
  try: s.connect(('10.9.0.1',port)); s.sendall(b'hello'); print(s.recv(100)); s.close()
  except Exception as e: print('tcp',port,e)
else:
  s=socket.socket(2,2); s.settimeout(1); s.bind((src,0)); s.sendto(b'q',('10.9.0.1',port))
  try: print(s.recvfrom(100))
  except Exception as e: print('udp',port,e)
" "$@"; }
traffic() {
  cli 10.9.0.2 t 22; cli 10.9.0.2 t 80; cli 10.9.0.2 u 53
  nsx $A ping -c 2 -i 0.2 -I 10.9.0.2 10.9.0.1
  # the scanner: a closed port first (trapped), then the open ones (reset by the trap)
  cli 10.9.0.3 t 23; cli 10.9.0.3 t 22
  nsx $A nmap -n -Pn -S 10.9.0.3 -e a0 -sS -p 20-25,80,443,8080 --max-retries 0 10.9.0.1
  nsx $A nmap -n -Pn -S 10.9.0.3 -e a0 -sU -p 53,67,123,161 --max-retries 0 10.9.0.1
  nsx $A nmap -n -Pn -S 10.9.0.3 -e a0 -sA -p 22,80 --max-retries 0 10.9.0.1
  nsx $A nmap -n -Pn -S 10.9.0.3 -e a0 -sF -p 22,81 --max-retries 0 10.9.0.1
  nsx $A nmap -n -Pn -S 10.9.0.3 -e a0 -sO -p 1,6,17,47,132 --max-retries 0 10.9.0.1
  nsx $A ping -c 1 -I 10.9.0.3 10.9.0.1
  # the client is not trapped; a UDP probe of a closed port traps it for UDP only
  cli 10.9.0.2 u 54; cli 10.9.0.2 u 53; cli 10.9.0.2 t 22
}
SETTLE=1
source ../lib/hrun.sh
