# router lab driver: source from a lab's record.sh after defining traffic(); optional SRV_S, SRV_C (serve.py args), PRE (eval after topo_up), FWARGS
D=$(pwd)
source $D/../lib/lib.sh; LAB=fwlab source $D/../lib/topo_router.sh
topo_up
[ -n "$PRE" ] && eval "$PRE"
[ -n "$SRV_S" ] && { nsx $S python3 $D/../lib/serve.py $SRV_S & SRV1=$!; }
[ -n "$SRV_C" ] && { nsx $C python3 $D/../lib/serve.py $SRV_C & SRV2=$!; }
sleep 0.5
nsx $R iptables-restore < rules || echo RESTORE FAILED
printf '{"addr": %s, "route": %s}\n' "$(nsx $R ip -j addr)" "$(nsx $R ip -j route)" > host.json
start_tcpdump $R any $D/capture.pcap ip; sleep 0.5
traffic > traffic.log 2>&1
sleep 0.5
nsx $R iptables-save -c > kernel.save
nsx $R conntrack -L > conntrack.txt 2>/dev/null
stop_tcpdump $D/capture.pcap
[ -n "$SRV1" ] && kill $SRV1; [ -n "$SRV2" ] && kill $SRV2
topo_down
CMD="$FW rules --pcap capture.pcap --host-config host.json --router --format json --fail-on never $FWARGS"
echo "$CMD" > fwcheck.cmd
$CMD > fw.json 2> fw.err
python3 $D/../lib/cmp.py kernel.save fw.json | tee cmp.txt
echo "uncertain packets: $(grep -c '"certain":false' fw.json)"
