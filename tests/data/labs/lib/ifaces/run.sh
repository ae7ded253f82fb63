# source from a lab's record.sh after defining traffic() and CAPS ("file:iface[:tcpdump args]" ...); rules in ./rules
# (IPT=ip6tables: an ip6tables ruleset and its counters; SERVE=serve6.py: the servers listen on IPv6 too)
D=$(pwd)
source $D/../lib/ifaces/lib.sh; source $D/../lib/ifaces/topo.sh
${TOPO_UP:-host_up}  # a lab may bring up its own topology (TOPO_UP: a function it defines; XNS: its further namespaces)
[ -n "$PRE" ] && eval "$PRE"
nsx $H python3 $D/../lib/${SERVE:-serve.py} ${SRV_H:-u:5000 t:80} & SRV1=$!
[ -n "$SRV_P" ] && { nsx $P python3 $D/../lib/${SERVE:-serve.py} $SRV_P & SRV2=$!; }
sleep 0.3
nsx $H ${IPT:-iptables}-restore < rules || echo "RULES DID NOT LOAD" >&2
TDS=()
for c in ${CAPS:-h0.pcap:h0}; do
  f=${c%%:*}; rest=${c#*:}; ifc=${rest%%:*}; args=""; [ "$rest" != "$ifc" ] && args=${rest#*:}
  start_tcpdump $H $ifc $D/$f ${args//,/ }; TDS+=("$TD_PID:$f")
done
sleep 0.5
traffic > traffic.log 2>&1
sleep 0.5
date +%s.%N > save.time; nsx $H ${IPT:-iptables}-save -c > kernel.save; sleep 1.5
for t in "${TDS[@]}"; do TD_PID=${t%%:*}; stop_tcpdump $D/${t#*:}; done
[ -n "$CUT" ] && for t in "${TDS[@]}"; do python3 $D/../lib/pcapcut.py $(cat save.time) $D/${t#*:}; done  # CUT=1: no frame after the counters were read
host_cfg $H > host.json
nsx $H ip -s link > links.txt; nsx $H nstat -az 2>/dev/null | grep -iE "InNoRoutes|InAddrErrors|InDiscards|InReceives" >> links.txt
kill $SRV1 $SRV2 2>/dev/null
delns $H $P $V $XNS
# check NAME PCAP [fwcheck args...]
check() {
  local name=$1 pcap=$2; shift 2
  local cmd="$FW rules --pcap $pcap --format json --fail-on never $*"
  echo "$cmd" > $name.cmd
  $cmd > $name.json 2> $name.err
  { echo "== $name: $cmd"; cat $name.err; python3 $D/../lib/cmp.py kernel.save $name.json; } > $name.cmp.txt
  grep -E "^fwcheck|RESULT|DIFF" $name.cmp.txt | sed "s/^/[$name] /"
}
