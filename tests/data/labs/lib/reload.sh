# reload lab driver: source from a lab dir's record.sh after defining traffic() (runs in background)
# vars: RELOAD_AFTER (s after tcpdump start), SRV_H, SRV_P, IFC (h0), FWARGS, RULES_A=rulesA RULES_B=rulesB
D=$(pwd)
source $D/../lib/lib.sh; source $D/../lib/host.sh; H=fwlab-h; P=fwlab-p
IFC=${IFC:-h0}; RULES_A=${RULES_A:-rulesA}; RULES_B=${RULES_B:-rulesB}
host_up
[ -n "$PRE" ] && eval "$PRE"
nsx $H python3 $D/../lib/sess.py srv $SRV_H & SRV1=$!
nsx $P python3 $D/../lib/sess.py srv $SRV_P & SRV2=$!
sleep 0.5
nsx $H iptables-restore < $RULES_A
start_tcpdump $H $IFC $D/capture.pcap $TDARGS; sleep 0.5
traffic > traffic.log 2>&1 &
TR=$!
sleep $RELOAD_AFTER
date +%s.%N > reload.t0
nsx $H iptables-restore < $RULES_B
date +%s.%N > reload.t1
[ -n "$POST" ] && eval "$POST"
wait $TR
sleep 0.5
nsx $H iptables-save -c > kernel.save
nsx $H conntrack -L > conntrack.end 2>&1
stop_tcpdump $D/capture.pcap
host_cfg $H > host.json
kill $SRV1 $SRV2
delns $H $P
T0=$(cat reload.t0); T1=$(cat reload.t1)
N=$(tcpdump -r capture.pcap -tt -n 2>/dev/null | awk -v t0=$T0 -v t1=$T1 '{n++; if ($1>t0 && $1<t1) print "WARN frame in reload window", n > "/dev/stderr"; if ($1>=t1 && !f) {print n; f=1}}')
echo "reload before frame $N"
CMD="$FW $RULES_A --pcap capture.pcap --reload-at frame:$N $RULES_B --host-config host.json --format json --fail-on never --conntrack-start empty $FWARGS"
echo "$CMD" > fwcheck.cmd
$CMD > fw.json 2> fw.err
python3 $D/../lib/cmp.py kernel.save fw.json | tee cmp.txt
grep -c '"certain":false' fw.json
