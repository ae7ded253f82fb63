# Driver of the NAT-router hunt labs (cwd = the lab; topology ../lib/topo_nat.sh, whose NOROUTE,
# WANMTU, D0MTU and NSP are read before sourcing): brings the topology up, runs lab_topo (when the
# lab defines it: its own routes), starts the WAN host's servers (traffic.py csrv), loads rules
# (and rules6), writes host.json, captures wan0 and lan0 while traffic.py runs the roles s then c,
# saves the kernel's counters, merges capture.pcapng, writes v4.args (and v6.args) and compares
# fwcheck with the kernel (lib/cmp.py).
D=$(pwd)
F0=${FW:-../../../../target/release/fwcheck}; source ../lib/lib.sh; FW=$F0
source ../lib/topo_nat.sh
topo_up
declare -F lab_topo >/dev/null && lab_topo
nsx $C python3 traffic.py csrv > csrv.log 2>&1 & CS=$!
sleep 0.5
nsx $R iptables-restore < rules || echo RESTORE FAILED
[ -f rules6 ] && { nsx $R ip6tables-restore < rules6 || echo RESTORE6 FAILED; }
nsx $R sh -c 'printf "{\"addr\": %s, \"route\": %s, \"maddr\": %s}\n" "$(ip -j addr)" "$(python3 -c "import json,subprocess as s;print(json.dumps(json.loads(s.check_output([\"ip\",\"-j\",\"route\"]))+json.loads(s.check_output([\"ip\",\"-6\",\"-j\",\"route\"]))))")" "$(ip -j maddr)"' > host.json
start_tcpdump $R wan0 $D/wan.pcap; T1=$TD_PID
start_tcpdump $R lan0 $D/lan.pcap; T2=$TD_PID
sleep 0.3
nsx $S python3 traffic.py s > traffic.log 2>&1
nsx $C python3 traffic.py c >> traffic.log 2>&1
sleep 1
kill -INT $T1 $T2; wait $T1 $T2 2>/dev/null
nsx $R iptables-save -c > kernel.save; [ -f rules6 ] && nsx $R ip6tables-save -c > kernel6.save
nsx $R conntrack -L > conntrack.txt 2>&1; nsx $R conntrack -L -f ipv6 >> conntrack.txt 2>&1
kill $CS 2>/dev/null
delns $C $R $S
python3 ../lib/mergepcapng.py capture.pcapng wan0=wan.pcap lan0=lan.pcap; rm -f wan.pcap lan.pcap wan.pcap.err lan.pcap.err
A='--router\n--host-config\nhost.json\n--conntrack-start\nempty\n'
printf -- "$A" > v4.args; [ -f rules6 ] && printf -- "rules=rules6\nkernel=kernel6.save\n-6\n$A" > v6.args
for a in v4.args v6.args; do
  r=rules; s=kernel.save; case $a in v6*) r=rules6; s=kernel6.save ;; esac; [ -f $r ] || continue
  opts="--pcap capture.pcapng $(grep -v '^rules=\|^kernel=' $a | tr '\n' ' ')"
  $FW $r $opts --format json --fail-on never > fw.$a.json 2> fw.$a.err
  $FW $r $opts --fail-on never --limit 0 > fw.$a.txt 2>&1
  echo "== $a"; python3 ../lib/cmp.py $s fw.$a.json | tee cmp.$a.txt | grep -- "DIFF\|summary\|RESULT\|uncertain"
done
