#!/bin/bash
# TFTP through a router whose raw table attaches the tftp helper (nf_conntrack_tftp + nf_nat_tftp): a LAN client
# behind MASQUERADE reads and writes on a WAN server, a WAN client reads and writes on the router's port 69 DNATed to a
# LAN server, IPv4 and IPv6 (NAT66). Each server answers from a new port: RELATED, translated by nf_nat_follow_master
# (to the client's own port; from the router's address for the DNATed server), not by the nat table's rules.
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft); router far (wan0 198.51.100.1/24 2001:db8:a::1/64, lan0
# 10.9.0.1/24 2001:db8:b::1/64) between fac (c0) and fas (s0); ../lib/ftpnat.py is the TFTP server and client;
# tcpdump -i any on the router; replayed with v4.args, v6.args.
cd "$(dirname "$0")"; D=$(pwd); export RLAB=fa
source ../lib/rlab.sh
