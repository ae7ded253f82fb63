#!/bin/bash
# named match state across a reload: hashlimit 'hl' reloaded with another rate and mode, hashlimit 'hb' from packet to byte mode,
# limit (fresh bucket), recent 'rc' (hitcount 3 -> 2 and 5: 5 needs a bigger stamp ring -> list flushed in the kernel)
cd "$(dirname "$0")"
SRV_H="s:6000 s:6001 s:6002 s:6003 s:6004 s:6005"; SRV_P=""; RELOAD_AFTER=2.3
PRE='ip -n $P addr add 192.0.2.3/24 dev p0'
x() { nsx $P python3 send.py "$@"; }
traffic() {
  x 192.0.2.2 6000 5 0.05; x 192.0.2.2 6001 5 0.05; x 192.0.2.2 6002 4 0.05; x 192.0.2.3 6002 2 0.05
  x 192.0.2.2 6004 6 0.05 100; x 192.0.2.3 6003 2 0.05
  sleep 1.2
  x 192.0.2.2 6000 8 0.05; x 192.0.2.3 6000 8 0.05; x 192.0.2.2 6001 5 0.05
  x 192.0.2.2 6003 2 0.05; x 192.0.2.3 6003 2 0.05; x 192.0.2.2 6005 2 0.05
  x 192.0.2.2 6004 8 0.05 100; x 192.0.2.3 6004 8 0.05 400
}
source ../lib/reload.sh
