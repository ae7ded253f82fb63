#!/bin/bash
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft), by a kernel hunt (2026-12-08); replayed with v4.args, v6.args.
# A router with the raw table's CT targets and connection marks, real sockets both ways (traffic.py): CT --notrack and
# NOTRACK for UDP 5001 (UNTRACKED in raw and filter), CT --zone 7 on both directions of TCP 8080, --zone-orig 9 on TCP
# 8081 (replies without a template), CT --zone 3 on UDP 5002's client side only (the server's replies open a connection
# of their own in zone 0), UDP 5003 in zone 5 or 0 by its TOS (one tuple in two zones); mangle CONNMARK
# --restore-mark/--save-mark with --nfmask/--ctmask, MARK --set-xmark/--set-mark/--or-mark with masks, -m mark and -m
# connmark with masks in FORWARD, CONNMARK --set-xmark in POSTROUTING read back by the next packets; filter's
# --ctstatus SEEN_REPLY/ASSURED, --ctdir, --ctorigdst/--ctrepldst, --ctorigsrcport, --ctrepldstport, --ctexpire.
# router czr (wan0 198.51.100.1/24 2001:db8:a::1/64, lan0 10.9.0.1/24 2001:db8:b::1/64) between czc (c0) and czs (s0);
# tcpdump -i any on the router.
cd "$(dirname "$0")"; D=$(pwd); RLAB=cz; export RLAB RULES=1  # host.json lists `ip -j rule`: no rule routes by mark
lab_topo() {
  for n in $C $S; do nsx $n sysctl -qw net.ipv4.ip_local_port_range="50000 60000"; done
  nsx $S python3 ../lib/serve6.py t:80 t:8080 t:8081 u:53 u:5001 u:5002 u:5003 > /dev/null 2>&1 &
  nsx $C python3 ../lib/serve6.py t:80 u:53 > /dev/null 2>&1 &
  sleep 0.5
}
source ../lib/rlab.sh
