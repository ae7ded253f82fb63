# Lab driver (cwd = the lab): define setup_topo (with HOSTNS and CAPIF set), teardown and traffic(), then source this; rules in ./rules (v4), ./rules6 (optional). It loads the rules before any traffic, records host.json, the capture, kernel.save and args, and compares fwcheck with the kernel (lib/cmp.py).
D=$(pwd)
LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source $LIB/lib.sh; FW=${FW:-../../../../target/release/fwcheck}
setup_topo
sleep 1
[ -f rules ] && { nsx $HOSTNS iptables-restore < rules || echo RESTORE FAILED; }
[ -f rules6 ] && { nsx $HOSTNS ip6tables-restore < rules6 || echo RESTORE6 FAILED; }
printf '{"addr": %s, "route": %s, "maddr": %s}\n' "$(nsx $HOSTNS ip -j addr)" "$(nsx $HOSTNS python3 -c 'import json,subprocess as s;print(json.dumps(json.loads(s.check_output(["ip","-j","route"]))+json.loads(s.check_output(["ip","-6","-j","route"]))))')" "$(nsx $HOSTNS ip -j maddr)" > host.json
start_tcpdump $HOSTNS $CAPIF $D/capture.pcap -s 0 $TDARGS; sleep 0.3
traffic > traffic.log 2>&1
sleep ${SETTLE:-1}
stop_tcpdump $D/capture.pcap
[ -f rules ] && nsx $HOSTNS iptables-save -c > kernel.save
[ -f rules6 ] && nsx $HOSTNS ip6tables-save -c > kernel6.save
nsx $HOSTNS conntrack -L > conntrack.txt 2>/dev/null
teardown
printf -- '--host-config\nhost.json\n--conntrack-start\nempty\n' > args; for a in $FWARGS; do echo $a >> args; done
for r in rules rules6; do [ -f $r ] || continue
  CMD="$FW $r --pcap capture.pcap --host-config host.json --conntrack-start empty $FWARGS --format json --fail-on never"
  echo "$CMD" > fwcheck.$r.cmd
  $CMD > fw.$r.json 2> fw.$r.err
  $FW $r --pcap capture.pcap --host-config host.json --conntrack-start empty $FWARGS --fail-on never > fw.$r.txt 2>&1
  s=kernel.save; [ $r = rules6 ] && s=kernel6.save
  python3 $LIB/cmp.py $s fw.$r.json | tee cmp.$r.txt
  echo "uncertain packets: $(grep -c '"certain":false' fw.$r.json)"
done
