#!/bin/bash
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft), by a kernel hunt (2026-12-07); replayed with v4.args and v6.args.
# Transparent redirection on a router: connections from the client to a host behind it (10.9.0.77, 2001:db8:b::77: not
# on the link, never answered by anyone else) are REDIRECTed / DNATed to the router's own sockets. The router's
# answers are locally generated (OUTPUT) and leave with the original destination as source (un-NATed).
# router kxr (wan0 198.51.100.1/24 2001:db8:a::1/64, lan0 10.9.0.1/24 2001:db8:b::1/64) between kxc (c0) and kxs (s0);
# probes.py opens real sockets from kxc; tcpdump -i any on the router. Driver ../lib/rlab.sh.
cd "$(dirname "$0")"; D=$(pwd)
RLAB=kx
lab_topo() { nsx $R python3 ../lib/serve6.py t:2200 u:5300 & sleep 0.5; }  # dual-stack sockets: IPv4 too
source ../lib/rlab.sh
