# Traffic for the generator host labs (shorewall, ferm, fail2ban; source after lib.sh): the
# peer $A (p0: 192.0.2.2, 2001:db8:1::2, and the extra sources $X4/$X6 when set) and the host
# $HOSTNS (eth0: 192.0.2.1, 2001:db8:1::1, serving tcp 22/80 and udp 5353 with serve.py; the
# peer serves tcp 7000 and udp 7001). SSH- and HTTP-like connections to open and closed ports,
# DNS-like UDP, pings (unicast, broadcast, all-nodes), nmap -sS/-sU/-sA/-sX/-sN of the host,
# and the host's own connections out. gen_topo makes the namespaces, gen_up starts the servers,
# gen_traffic runs the traffic, gen_record records the lab with drv.sh (both families' args).
GEN_PORTS=${GEN_PORTS:-21-25,53,69,80,137,143,161,443,993,5060,8000-8002}
gen_topo() {
  delns $A $HOSTNS; mkns $A; mkns $HOSTNS
  ip link add eth0 netns $HOSTNS address 02:00:00:00:00:01 type veth peer name p0 netns $A address 02:00:00:00:00:02
  for n in $A $HOSTNS; do nsx $n sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0; done
  ip -n $HOSTNS addr add 192.0.2.1/24 dev eth0; ip -n $HOSTNS addr add 2001:db8:1::1/64 dev eth0 nodad
  ip -n $A addr add 192.0.2.2/24 dev p0; ip -n $A addr add 2001:db8:1::2/64 dev p0 nodad
  if [ -n "$X4" ]; then ip -n $A addr add $X4/24 dev p0; fi
  if [ -n "$X6" ]; then ip -n $A addr add $X6/64 dev p0 nodad; fi
  ip -n $HOSTNS link set eth0 up; ip -n $A link set p0 up
  sleep 2
}
teardown() { gen_down; delns $A $HOSTNS; }
traffic() { gen_traffic; }
gen_record() {
  source $LIB/drv.sh
  mv args v4.args; printf 'rules=rules6\nkernel=kernel6.save\n' | cat - v4.args > v6.args
}
gen_up() {
  nsx $HOSTNS python3 $LIB/serve.py t:22 t:80 u:5353 & GEN_SRV1=$!
  nsx $A python3 $LIB/serve.py t:7000 u:7001 & GEN_SRV2=$!
  sleep 0.5
}
gen_down() { kill $GEN_SRV1 $GEN_SRV2 2>/dev/null; }
gen_tcp() { # NS SRC DST PORT...
  local ns=$1 src=$2 dst=$3; shift 3
  nsx $ns python3 - "$src" "$dst" "$@" <<'PY'
import socket, sys
src, dst = sys.argv[1], sys.argv[2]
fam = socket.AF_INET6 if ':' in dst else socket.AF_INET
for port in sys.argv[3:]:
    s = socket.socket(fam); s.settimeout(0.7)
    try:
        s.bind((src, 0)); s.connect((dst, int(port))); s.sendall(b'SSH-2.0-probe\r\n')
        try: s.recv(100)
        except Exception: pass
        print(src, dst, port, 'open')
    except Exception as e: print(src, dst, port, e)
    s.close()
PY
}
gen_udp() { # NS SRC DST PORT...
  local ns=$1 src=$2 dst=$3; shift 3
  nsx $ns python3 - "$src" "$dst" "$@" <<'PY'
import socket, sys, time
src, dst = sys.argv[1], sys.argv[2]
fam = socket.AF_INET6 if ':' in dst else socket.AF_INET
for port in sys.argv[3:]:
    u = socket.socket(fam, socket.SOCK_DGRAM); u.settimeout(0.4); u.bind((src, 0))
    u.sendto(b'\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07example\x03com\x00\x00\x01\x00\x01', (dst, int(port)))
    try: print(src, dst, port, u.recvfrom(200)[0][:10])
    except Exception as e: print(src, dst, port, e)
PY
}
gen_traffic() {
  local h4=192.0.2.1 h6=2001:db8:1::1 p4=192.0.2.2 p6=2001:db8:1::2 s
  for s in $p4 $X4; do
    gen_tcp $A $s $h4 22 80 22 443 23 25 143 8001 8001 8001 8001 8001
    gen_udp $A $s $h4 53 5353 161 137 80 5000
    nsx $A ping -c2 -i0.2 -W1 -I $s $h4
  done
  for s in $p6 $X6; do
    gen_tcp $A $s $h6 22 80 22 443 23 25 143 8001 8001 8001 8001 8001
    gen_udp $A $s $h6 53 5353 161 137 80 5000
    nsx $A ping -6 -c2 -i0.2 -W1 -I $s $h6
  done
  nsx $A ping -c2 -i0.2 -W1 -b 192.0.2.255
  nsx $A ping -6 -c2 -i0.2 -W1 -I p0 ff02::1
  nsx $A nmap -n -Pn -T4 -sS -p $GEN_PORTS $h4
  nsx $A nmap -n -Pn -T4 -sU -p $GEN_PORTS $h4
  nsx $A nmap -n -Pn -T4 -sA -p 22,80,443 $h4
  nsx $A nmap -n -Pn -T4 -sX -p 22,80 $h4
  nsx $A nmap -n -Pn -T4 -sN -p 22,80 $h4
  nsx $A nmap -6 -n -Pn -T4 -sS -p $GEN_PORTS $h6
  nsx $A nmap -6 -n -Pn -T4 -sU -p $GEN_PORTS $h6
  nsx $A nmap -6 -n -Pn -T4 -sA -p 22,80,443 $h6
  gen_tcp $HOSTNS $h4 $p4 7000 7002
  gen_udp $HOSTNS $h4 $p4 7001 53
  nsx $HOSTNS ping -c2 -i0.2 -W1 $p4
  gen_tcp $HOSTNS $h6 $p6 7000 7002
  gen_udp $HOSTNS $h6 $p6 7001 53
  nsx $HOSTNS ping -6 -c2 -i0.2 -W1 $p6
}
