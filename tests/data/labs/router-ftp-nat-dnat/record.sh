#!/bin/bash
# FTP from a WAN client to the router's port 21, DNATed to a LAN server, the raw table attaching the ftp helper
# (nf_conntrack_ftp + nf_nat_ftp): PASV (227 rewritten to the router's address, 5 bytes longer: the control
# connection's sequence numbers adjusted from then on), EPSV, PORT, EPRT over IPv4, EPSV, EPRT over IPv6 (NAT66); the
# data connections are RELATED and translated by nf_nat_follow_master (passive: to the server; active: from the
# router's address), not by the nat table's rules; then a SYN to a port of the router no one announced is dropped.
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft); router far (wan0 198.51.100.1/24 2001:db8:a::1/64, lan0
# 10.9.0.1/24 2001:db8:b::1/64) between fac (c0, the client) and fas (s0, the server); ../lib/ftpnat.py is the FTP
# server and client; tcpdump -i any on the router; replayed with v4.args, v6.args.
cd "$(dirname "$0")"; D=$(pwd); export RLAB=fa
source ../lib/rlab.sh
