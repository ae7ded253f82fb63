#!/bin/bash
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft), sshguard 2.4.2 (Debian), by a kernel hunt (2026-12-07);
# replayed with v4.args, v6.args. sshguard's netfilter/iptables backend: the ruleset is the sample sshguard-setup(7)
# gives ("iptables -N sshguard", "iptables -A INPUT -j sshguard", ACCEPT tcp 22, udp 53, tcp 80, tcp 443, "iptables -P
# INPUT DROP"; for IPv6 the page gives "ip6tables -N sshguard" and "ip6tables -A INPUT -j sshguard", and the same
# ACCEPTs and policy are applied with ip6tables here: nothing lets ICMPv6, neighbour discovery included, in). The bans
# are sshguard's own: sshd "Failed password" lines from 192.0.2.3 and 2001:db8:1::3 go through its pipeline
# (sshg-parser | sshg-blocker -a 30 -p 120 -s 1800 -N 128 -n 32 | sshg-fw-iptables, as /usr/sbin/sshguard runs it
# with THRESHOLD=30 and the default subnets), whose fw_block runs "iptables -w -I sshguard -s ADDR/32 -j DROP"
# (ip6tables, /128); the tables are then saved as rules / rules6 (`fwcheck fmt` prints them back byte for byte).
# Host glsh (eth0 192.0.2.1, 2001:db8:1::1), peer glsp (192.0.2.2 and 2001:db8:1::2 unbanned, 192.0.2.3 and
# 2001:db8:1::3 banned): lib/gentraffic.sh's traffic from both (SSH-like sessions, HTTP, DNS-like UDP, pings, nmap
# scans from the unbanned address), scans from the banned ones, the host's own connections out (their answers meet
# INPUT's policy: the sample has no ESTABLISHED rule); tcpdump -i any.
cd "$(dirname "$0")"
HOSTNS=glsh; A=glsp; CAPIF=any; X4=192.0.2.3; X6=2001:db8:1::3
SG=/usr/libexec/sshguard
setup_topo() {
  gen_topo
  nsx $A sysctl -qw net.ipv6.conf.p0.router_solicitations=0
  if [ -z "$KEEP_RULES" ]; then
    for ipt in iptables ip6tables; do
      nsx $HOSTNS $ipt -N sshguard; nsx $HOSTNS $ipt -A INPUT -j sshguard
      nsx $HOSTNS $ipt -A INPUT -p tcp --dport 22 -j ACCEPT; nsx $HOSTNS $ipt -A INPUT -p udp --dport 53 -j ACCEPT
      nsx $HOSTNS $ipt -A INPUT -p tcp --dport 80 -j ACCEPT; nsx $HOSTNS $ipt -A INPUT -p tcp --dport 443 -j ACCEPT
      nsx $HOSTNS $ipt -P INPUT DROP
    done
    ( for i in 1 2 3 4; do
        echo "Dec  7 19:30:0$i glsh sshd[12$i]: Failed password for root from $X4 port 4242$i ssh2"
        echo "Dec  7 19:30:0$i glsh sshd[13$i]: Failed password for invalid user admin from $X6 port 4243$i ssh2"
      done; sleep 2 ) | nsx $HOSTNS sh -c "$SG/sshg-parser | $SG/sshg-blocker -a 30 -p 120 -s 1800 -N 128 -n 32 | tee $D/sshguard.cmds | $SG/sshg-fw-iptables" >/dev/null &
    SGP=$!; sleep 1.5
    nsx $HOSTNS iptables-save | grep -v '^#' > rules; nsx $HOSTNS ip6tables-save | grep -v '^#' > rules6
    wait $SGP   # the pipeline ends: sshguard's flushonexit empties the chain; drv.sh loads rules / rules6 again
    $FW fmt rules | cmp - rules; $FW fmt rules6 | cmp - rules6
  fi
  gen_up
}
traffic() {
  gen_traffic
  nsx $A nmap -n -Pn -T4 -sS -p 22,80,443 -S $X4 -e p0 192.0.2.1
  nsx $A nmap -6 -n -Pn -T4 -sS -p 22,80 -S $X6 -e p0 2001:db8:1::1
}
source ../lib/lib.sh; LIB=$(cd ../lib && pwd); source $LIB/gentraffic.sh
gen_record
