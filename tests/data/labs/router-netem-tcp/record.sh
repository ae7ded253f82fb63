#!/bin/bash
# router (MASQUERADE out lan0) between a client and a server over impaired links (lib/impair.py,
# a userspace netem, both ways: before the router's capture and after its netfilter): UDP,
# pings, short connections, zero windows, keepalives, a peer restarting on its old tuple, aborts
# racing data (lib/tcpstress.py), both families. IMPAIR overrides the impairment; SYSCTL is run
# in the router; FWARGS (lines) are added to args; NOBULK= adds bulk_cli's transfers; SCALE.
export SCALE=${SCALE:-0.1} IPV6=${IPV6-1} NOBULK=${NOBULK-1}
IMPAIR=${IMPAIR:-loss=5 reorder=30 dup=5 delay=4 jitter=4 corrupt=1 hdr=5 seed=51}
CAPFILTER=${CAPFILTER:-ip or ip6}; TARGETS=${TARGETS:-10.9.0.2 198.51.100.1 2001:db8:b::2 2001:db8:a::1}
D=$(cd $(dirname $0); pwd); cd $D
L=$D/../lib
source $L/lib.sh; source $L/topo_impair.sh
topo_up
[ -n "$SYSCTL" ] && nsx $R sysctl -qw $SYSCTL
nsx $S python3 $L/bulk_srv.py h > srvs.log 2>&1 & S1=$!
nsx $S python3 $L/tcpstress.py srv >> srvs.log 2>&1 & S2=$!
nsx $R python3 $L/bulk_srv.py h > srvr.log 2>&1 & S3=$!
nsx $R python3 $L/tcpstress.py srv >> srvr.log 2>&1 & S4=$!
sleep 0.5
nsx $R iptables-restore < rules; [ -f rules6 ] && nsx $R ip6tables-restore < rules6
nsx $R sh -c 'printf "{\"addr\": %s, \"route\": %s}\n" "$(ip -j addr)" "$(python3 -c "import json,subprocess as s;print(json.dumps(json.loads(s.check_output([\"ip\",\"-j\",\"route\"]))+json.loads(s.check_output([\"ip\",\"-6\",\"-j\",\"route\"]))))")"' > host.json
rm -f traffic.log
start_tcpdump $R any $D/capture.pcap ${CAPFILTER:-ip}; T1=$TD_PID
sleep 0.5
for t in ${TARGETS:-10.9.0.2 198.51.100.1}; do   # through the router, and to the router itself
  [ -z "$NOBULK" ] && [ "${t#*:}" = "$t" ] && nsx $C python3 $L/bulk_cli.py $t p >> traffic.log 2>&1
  nsx $C python3 $L/tcpstress.py cli $t >> traffic.log 2>&1
done
for t in $TARGETS; do nsx $C ping -c 10 -i 0.05 -W 1 $t >> traffic.log 2>&1; done
sleep 1
nsx $R iptables-save -c > kernel.save; [ -f rules6 ] && nsx $R ip6tables-save -c > kernel6.save
nsx $R conntrack -L > conntrack.txt 2>&1
kill -INT $T1; wait $T1 2>/dev/null
kill $S1 $S2 $S3 $S4
topo_down
printf -- '--router\n--host-config\nhost.json\n--conntrack-start\nempty\n%s' "$FWARGS" > args
F=${FWCHECK:-fwcheck}
[ -f rules6 ] && printf -- 'rules=rules6\nkernel=kernel6.save\n' | cat - args > v6.args
for a in args v6.args; do [ -f $a ] || continue
  r=$(sed -n 's/^rules=//p' $a); r=${r:-rules}; k=$(sed -n 's/^kernel=//p' $a); k=${k:-kernel.save}
  $F $r --pcap capture.pcap $(grep -v '^rules=\|^kernel=' $a) --format json --fail-on never > fw.$a.json 2> fw.$a.err
  python3 $L/cmp.py $k fw.$a.json | tee cmp.$a.txt | grep -E "DIFF|summary|uncertain|RESULT"
done
