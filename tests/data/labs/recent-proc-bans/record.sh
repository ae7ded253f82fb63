#!/bin/bash
# fail2ban's iptables-xt_recent-echo action: the jail's chain REJECTs sources in the recent
# list f2b-sshd (`--update --seconds 3600`), which no rule adds to; fail2ban bans by writing
# `+ADDR` to /proc/net/xt_recent/f2b-sshd. 10.9.0.3 is banned that way, 10.9.0.2 is not; both
# connect to 22 and 80. No capture shows the list: fwcheck must not answer "not in the list"
# with certainty. Recorded as root on Linux 6.18, iptables 1.8.9 (nft).
cd "$(dirname "$0")"
cli() { nsx $A python3 -c "
import socket,sys
s=socket.socket(); s.settimeout(2); s.bind((sys.argv[1],0))
try: s.connect(('10.9.0.1',int(sys.argv[2]))); s.sendall(b'hi'); print(s.recv(100)); s.close()
except Exception as e: print(sys.argv[1], sys.argv[2], e)
" "$@"; }
traffic() {
  nsx $HOSTNS sh -c 'echo +10.9.0.3 > /proc/net/xt_recent/f2b-sshd'
  cli 10.9.0.2 22; cli 10.9.0.3 22; cli 10.9.0.3 80; cli 10.9.0.2 80; cli 10.9.0.3 22
}
SETTLE=1
source ../lib/hrun.sh
