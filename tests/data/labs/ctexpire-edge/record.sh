#!/bin/bash
# --ctexpire of RELATED ICMP errors crafted 0.990..1.010 s after the host's unreplied UDP (timeout 30 s): 29 or 28 by jiffies
cd "$(dirname "$0")"
# (recorded with the hunt lib of the time; ../lib/run.sh here is the same but for namespace names)
DS=0.990,0.994,0.996,0.997,0.998,0.999,1.000,1.001,1.002,1.003,1.004,1.006,1.010
traffic() {
  T=$(python3 -c 'import time;print(time.time()+0.8)')
  nsx $P python3 p.py $T $DS & A=$!
  nsx $H python3 h.py $T 13
  wait $A
}
source ../lib/run.sh
