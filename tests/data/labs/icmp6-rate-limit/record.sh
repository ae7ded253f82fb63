#!/bin/bash
# ICMPv6 error rate limit (REJECT icmp6-port-unreachable) for UDP probes from peers behind the default route and on the /64 link.
# kernel 6.18.y: net.ipv6.icmp.ratelimit 100 ms, no prefix scaling (upstream 0201eedb69b2). Compare fwcheck (1000 ms >> prefix).
cd "$(dirname "$0")"
FWARGS="-6 --conntrack-start empty"; FAM=6; SERVE=serve6.py; SRV_H=""; SRV_P=""; IFC=h0
PRE='ip -n $P addr add 2001:db8:1::11/128 dev p0 nodad; ip -n $P addr add 2001:db8:77::5/128 dev p0 nodad; ip -n $P addr add 2001:db8:78::5/128 dev p0 nodad; ip -n $H -6 route add default via 2001:db8:1::2 dev h0; sleep 0.3'
traffic() {
  nsx $P python3 rl.py 2001:db8:77::5 40 0.010
  sleep 1
  nsx $P python3 rl.py 2001:db8:78::5 40 0.030
  sleep 1
  nsx $P python3 rl.py 2001:db8:1::11 40 0.010
  sleep 0.5
  nsx $H sysctl net.ipv6.icmp.ratelimit
  nsx $H nstat -az Icmp6OutRateLimitHost Icmp6OutDestUnreachs
}
source ../lib/run.sh
python3 certcheck.py | tee -a cmp.txt; python3 ../lib/xrlim_sim.py fw.json 25 | tee -a cmp.txt
