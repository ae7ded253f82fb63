#!/bin/bash
# FTP from a LAN client behind MASQUERADE to a WAN server through a router whose raw table attaches the ftp helper
# (nf_conntrack_ftp + nf_nat_ftp): PASV, EPSV, PORT, EPRT over IPv4 (PORT/EPRT rewritten to the router's address,
# 5 bytes longer: the control connection's sequence numbers adjusted from then on), EPSV, EPRT over IPv6 (NAT66);
# the data connections are RELATED and translated by nf_nat_follow_master (not by the nat table's rules), then a
# SYN to a port no one announced is NEW and dropped.
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft); router far (wan0 198.51.100.1/24 2001:db8:a::1/64, lan0
# 10.9.0.1/24 2001:db8:b::1/64) between fac (c0, the server) and fas (s0, the client); ../lib/ftpnat.py is the FTP
# server and client; tcpdump -i any on the router; replayed with v4.args, v6.args.
cd "$(dirname "$0")"; D=$(pwd); export RLAB=fa
source ../lib/rlab.sh
