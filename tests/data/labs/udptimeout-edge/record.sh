#!/bin/bash
# udp timeout 5 s: crafted replies 4.990..5.010 s after the host's UDP: ESTABLISHED or (expired) NEW by jiffies
cd "$(dirname "$0")"
# (recorded with the hunt lib of the time; ../lib/run.sh here is the same but for namespace names)
PRE='nsx $H sysctl -qw net.netfilter.nf_conntrack_udp_timeout=5'
FWARGS="--conntrack-start empty --ct-timeout udp=5"
DS=4.9960,4.9963,4.9967,4.9970,4.9973,4.9977,4.9980,4.9983,4.9986,4.9990,4.9993,4.9996,5.0000,5.0003,5.0006,5.0010,5.0013,5.0016,5.0019,5.0023,5.0026,5.0029,5.0033,5.0036,5.0039
traffic() {
  T=$(python3 -c 'import time;print(time.time()+0.8)')
  nsx $P python3 p.py $T $DS & A=$!
  nsx $H python3 h.py $T 25
  wait $A
}
source ../lib/run.sh
