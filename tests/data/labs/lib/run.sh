# source from a lab's record.sh after defining traffic(); optional SRV_H, SRV_P, FAM (4/6), IFC
D=$(pwd)
source $D/../lib/lib.sh; source $D/../lib/host.sh; H=fwlab-h; P=fwlab-p
FAM=${FAM:-4}; IFC=${IFC:-any}
host_up
[ -n "$PRE" ] && eval "$PRE"
nsx $H python3 $D/../lib/${SERVE:-serve.py} $SRV_H & SRV1=$!
nsx $P python3 $D/../lib/${SERVE:-serve.py} $SRV_P & SRV2=$!
sleep 0.5
if [ $FAM = 6 ]; then nsx $H ip6tables-restore < rules; else nsx $H iptables-restore < rules; fi
start_tcpdump $H $IFC $D/capture.pcap $TDARGS; sleep 1
traffic > traffic.log 2>&1
sleep 0.5
if [ $FAM = 6 ]; then nsx $H ip6tables-save -c > kernel.save; else nsx $H iptables-save -c > kernel.save; fi
stop_tcpdump $D/capture.pcap
host_cfg $H > host.json
kill $SRV1 $SRV2
delns $H $P
CMD="$FW rules --pcap capture.pcap --host-config host.json --format json --fail-on never $FWARGS"
echo "$CMD" > fwcheck.cmd
$CMD > fw.json 2> fw.err
python3 $D/../lib/cmp.py kernel.save fw.json | tee cmp.txt
grep -c '"certain":false' fw.json
