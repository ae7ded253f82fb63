# source from a lab's record.sh after defining traffic(); optional SRV_H (serve.py args on host), FAM (4/6), PRE, FWARGS
D=$(pwd)
source $D/../lib/ifaces/lib.sh; source $D/../lib/scan/topo.sh
FAM=${FAM:-4}
topo_up
[ -n "$PRE" ] && eval "$PRE"
nsx $H python3 $D/../lib/${SERVE:-serve.py} $SRV_H & SRV1=$!
sleep 0.5
if [ $FAM = 6 ]; then nsx $H ip6tables-restore < rules; else nsx $H iptables-restore < rules; fi
nsx $H conntrack -F 2>/dev/null
start_tcpdump $H h0 $D/h0.pcap; TA=$TD_PID; start_tcpdump $H h1 $D/h1.pcap; TB=$TD_PID; sleep 0.5
traffic > traffic.log 2>&1
sleep 0.5
T0=$(date +%s.%N); if [ $FAM = 6 ]; then nsx $H ip6tables-save -c > kernel.save; else nsx $H iptables-save -c > kernel.save; fi; T1=$(date +%s.%N)
sleep 1.5; TD_PID=$TA; stop_tcpdump $D/h0.pcap; TD_PID=$TB; stop_tcpdump $D/h1.pcap
python3 $D/../lib/scan/trim.py h0.pcap $T0 $T1; python3 $D/../lib/scan/trim.py h1.pcap $T0 $T1
python3 $D/../lib/mergepcapng.py capture.pcapng h0=h0.pcap h1=h1.pcap
host_cfg $H > host.json
nsx $H conntrack -L > ct.txt 2>/dev/null
kill $SRV1 2>/dev/null; [ -n "$POST" ] && eval "$POST"
delns $H $P $M $L
for CS in unknown empty; do
CMD="$FW rules --pcap capture.pcapng --host-config host.json --format json --fail-on never --conntrack-start $CS $FWARGS"
echo "$CMD" > fwcheck-$CS.cmd
eval "$CMD" > fw-$CS.json 2> fw-$CS.err
echo "== conntrack-start $CS"; python3 $D/../lib/cmp.py kernel.save fw-$CS.json | tee cmp-$CS.txt | grep -E 'DIFF|RESULT|summary|uncertain'
python3 $D/../lib/scan/pk.py fw-$CS.json > pk-$CS.txt
done
