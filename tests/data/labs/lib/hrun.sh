# host-firewall scan lab driver: source from a lab's record.sh (cwd = lab dir) after defining traffic(); rules in ./rules
# topology: tsA (a0 10.9.0.2/24, 10.9.0.3/24) -- veth -- tsT (t0 10.9.0.1/24); servers in tsT: tcp 22 80 443, udp 53
D=$(pwd)
LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")/../lib" && pwd)

source $LIB/lib.sh; FW=${FW:-../../../../target/release/fwcheck}
A=tsA; T=tsT
delns $A $T
mkns $A; mkns $T
ip link add t0 netns $T address 02:00:00:00:09:01 type veth peer name a0 netns $A address 02:00:00:00:09:02
for n in $A $T; do nsx $n sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1; done
ip -n $T addr add 10.9.0.1/24 dev t0; ip -n $A addr add 10.9.0.2/24 dev a0; ip -n $A addr add 10.9.0.3/24 dev a0
ip -n $T link set t0 up; ip -n $A link set a0 up
sleep 1
nsx $T python3 $LIB/serve.py t:22 t:80 t:443 u:53 & SRV1=$!
sleep 0.5
nsx $T iptables-restore < rules || echo RESTORE FAILED
printf '{"addr": %s, "route": %s}\n' "$(nsx $T ip -j addr)" "$(nsx $T ip -j route)" > host.json
start_tcpdump $T t0 $D/capture.pcap -s 0; sleep 0.3
traffic > traffic.log 2>&1
sleep ${SETTLE:-1}
stop_tcpdump $D/capture.pcap
nsx $T iptables-save -c > kernel.save
nsx $T conntrack -L > conntrack.txt 2>/dev/null
kill $SRV1
delns $A $T
printf -- '--host-config\nhost.json\n--conntrack-start\nempty\n' > args
CMD="$FW rules --pcap capture.pcap --host-config host.json --conntrack-start empty --format json --fail-on never"
echo "$CMD" > fwcheck.cmd
$CMD > fw.json 2> fw.err
$FW rules --pcap capture.pcap --host-config host.json --conntrack-start empty --fail-on never > fw.txt 2>&1
python3 $LIB/cmp.py kernel.save fw.json | tee cmp.txt
echo "uncertain packets: $(grep -c '"certain":false' fw.json)"
