#!/bin/bash
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft), by a kernel hunt (2026-12-07); replayed with v4.args, v6.args.
# TEE's clone of the router's own packets (lab tee-clone's rules, and mangle OUTPUT clones the router's echo replies to
# the LAN neighbour): the clone is sent while the reply is in OUTPUT, so the capture shows it leaving lan0 before the
# reply leaves wan0 (the rule counts both: the clone crosses it too, making no clone). fwcheck judges the first frame
# as the reply and recognises the second as the clone: the counts are the same but for the device each left by, so
# OUTPUT's and POSTROUTING's counters are bounds (tests/recorded_labs.rs checks the kernel's lie within them).
# router tlr (wan0 198.51.100.1/24 2001:db8:a::1/64, lan0 10.9.0.1/24 2001:db8:b::1/64) between tlc (c0) and tls (s0);
# probes.py sends raw frames from tlc; tcpdump -i any on the router.
cd "$(dirname "$0")"; D=$(pwd); RLAB=tl
lab_topo() {
  ip -n $R neigh replace 10.9.0.7 lladdr 02:00:00:00:0b:07 dev lan0 nud permanent
  ip -n $R neigh replace 2001:db8:b::7 lladdr 02:00:00:00:0b:07 dev lan0 nud permanent
}
source ../lib/rlab.sh
