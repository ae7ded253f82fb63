#!/bin/bash
# policy routing as multi-WAN / VPN setups do it, with MASQUERADE on the second uplink h1:
#  (a) fwmark: mangle OUTPUT marks tcp/8081, `ip rule fwmark 2 table 100` reroutes the connection via h1 (OUTPUT still sees -o h0)
#  (b) wg-quick style destination rule: `ip rule to 198.51.100.4 lookup 100`: the first route lookup already says h1
# --host-config carries `ip -j route` (main table) and no `ip rule`
cd "$(dirname "$0")"
SERVE=scan/srv.py; SRV_H="h:80"
HA=192.0.2.1; LA=203.0.113.1; PA=198.51.100.2
PRE='ip -n $L addr add 198.51.100.3/32 dev l0; ip -n $L addr add 198.51.100.4/32 dev l0; nsx $H ip rule add fwmark 2 table 100; nsx $H ip rule add to 198.51.100.4 table 100; nsx $H ip route add default via 203.0.113.2 dev h1 table 100; nsx $L python3 $D/../lib/scan/srv.py h:8081 h:8082 & LSRV=$!'
POST='kill $LSRV 2>/dev/null'
C=../lib/scan/cli.py
traffic() {
  nsx $H python3 $C web 198.51.100.3 8081 /small,/big?n=5000    # (a) fwmark reroute
  nsx $H python3 $C web 198.51.100.4 8082 /small                # (b) destination rule
  nsx $H ping -c 2 -W 0.3 198.51.100.4                          # (b) icmp
  nsx $H ping -c 1 -W 0.3 $PA                                   # main table, h0
}
source ../lib/scan/run.sh
nsx() { ip netns exec "$@"; }
