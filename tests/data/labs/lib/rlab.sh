# Driver of the router hunt labs (cwd = the lab). Set before sourcing: D (the lab's directory),
# RLAB (the namespaces' prefix: $RLAB"c" client c0 -- $RLAB"r" router wan0/lan0 -- $RLAB"s" server
# s0), FAM (6: ./rules is an ip6tables ruleset; otherwise rules, and rules6 when present), CAPIF
# (the router's capture interface, default any); define lab_topo (after the topology is up),
# lab_capture (after the capture stops) and lab_args (writes the args files) where the lab needs
# them. The client runs ./probes.py; the router's tables, host.json, capture.pcap, kernel.save
# (and kernel6.save) and the args files are written (NEIGH=1: host.json lists `ip -j neigh` too; RULES=1: `ip -j rule` and `ip -6 -j rule` as "rule", "rule6"), and fwcheck is compared with the kernel.
F0=${FW:-../../../../target/release/fwcheck}; source ../lib/lib.sh; FW=$F0
C=${NSP:-$RLAB}c; R=${NSP:-$RLAB}r; S=${NSP:-$RLAB}s
topo_up() {
  delns $C $R $S
  for n in $C $R $S; do mkns $n; nsx $n sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0 net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0 net.ipv6.conf.all.router_solicitations=0 net.ipv6.conf.default.router_solicitations=0; done
  nsx $R sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1 net.ipv6.conf.default.forwarding=1
  ip link add c0 netns $C address 02:00:00:00:0a:02 type veth peer name wan0 netns $R address 02:00:00:00:0a:01
  ip link add lan0 netns $R address 02:00:00:00:0b:01 type veth peer name s0 netns $S address 02:00:00:00:0b:02
  ip -n $C addr add 198.51.100.2/24 dev c0; ip -n $C addr add 2001:db8:a::2/64 dev c0 nodad
  ip -n $R addr add 198.51.100.1/24 dev wan0; ip -n $R addr add 2001:db8:a::1/64 dev wan0 nodad
  ip -n $R addr add 10.9.0.1/24 dev lan0; ip -n $R addr add 2001:db8:b::1/64 dev lan0 nodad
  ip -n $S addr add 10.9.0.2/24 dev s0; ip -n $S addr add 2001:db8:b::2/64 dev s0 nodad
  for x in "$C c0" "$R wan0" "$R lan0" "$S s0"; do set -- $x; ip -n $1 link set $2 up; done
  ip -n $C route add 10.9.0.0/24 via 198.51.100.1; ip -n $C -6 route add 2001:db8:b::/64 via 2001:db8:a::1
  ip -n $S route add default via 10.9.0.1; ip -n $S -6 route add default via 2001:db8:b::1
  for x in "$C c0 198.51.100.1 0a:01" "$C c0 2001:db8:a::1 0a:01" "$R wan0 198.51.100.2 0a:02" "$R wan0 2001:db8:a::2 0a:02" \
           "$R lan0 10.9.0.2 0b:02" "$R lan0 2001:db8:b::2 0b:02" "$S s0 10.9.0.1 0b:01" "$S s0 2001:db8:b::1 0b:01"; do
    set -- $x; ip -n $1 neigh replace $3 lladdr 02:00:00:00:$4 dev $2 nud permanent; done
  sleep 3
}
topo_up
declare -F lab_topo >/dev/null && lab_topo
[ -n "$PRE" ] && eval "$PRE"
case ${FAM:-46} in
  6) nsx $R ip6tables-restore < rules || echo RESTORE FAILED ;;
  *) nsx $R iptables-restore < rules || echo RESTORE FAILED; [ -f rules6 ] && { nsx $R ip6tables-restore < rules6 || echo RESTORE6 FAILED; } ;;
esac
nsx $R sh -c 'printf "{\"addr\": %s, \"route\": %s, \"maddr\": %s%s}\n" "$(ip -j addr)" "$(python3 -c "import json,subprocess as s;print(json.dumps(json.loads(s.check_output([\"ip\",\"-j\",\"route\"]))+json.loads(s.check_output([\"ip\",\"-6\",\"-j\",\"route\"]))))")" "$(ip -j maddr)" "${NEIGH:+, \"neigh\": $(ip -j neigh)}${RULES:+, \"rule\": $(ip -j rule), \"rule6\": $(ip -6 -j rule)}"' > host.json
start_tcpdump $R ${CAPIF:-any} $D/capture.pcap; sleep 0.3
nsx $C python3 probes.py ${STEP:-all} > traffic.log 2>&1
sleep 1
stop_tcpdump $D/capture.pcap
if [ "${FAM:-46}" = 6 ]; then nsx $R ip6tables-save -c > kernel.save; else nsx $R iptables-save -c > kernel.save; [ -f rules6 ] && nsx $R ip6tables-save -c > kernel6.save; fi
nsx $R conntrack -L > conntrack.txt 2>&1; nsx $R conntrack -L -f ipv6 >> conntrack.txt 2>&1
delns $C $R $S
declare -F lab_capture >/dev/null && lab_capture
A='--router\n--host-config\nhost.json\n--conntrack-start\nempty\n'
if declare -F lab_args >/dev/null; then lab_args
elif [ -f rules ] && [ -f rules6 ]; then printf -- "$A" > v4.args; printf -- "rules=rules6\nkernel=kernel6.save\n$A" > v6.args
elif [ "${FAM:-46}" = 6 ]; then printf -- "-6\n$A" > args; else printf -- "$A" > args; fi
cap=capture.pcap; [ -f capture.pcapng ] && cap=capture.pcapng
for a in args v4.args v6.args v4named.args v6named.args; do [ -f $a ] || continue
  r=$(sed -n 's/^rules=//p' $a); r=${r:-rules}; s=$(sed -n 's/^kernel=//p' $a); s=${s:-kernel.save}
  opts=$(grep -v '^rules=\|^kernel=' $a | tr '\n' ' '); case "$opts" in *--pcap*) ;; *) opts="--pcap $cap $opts" ;; esac
  $FW $r $opts --format json --fail-on never > fw.$a.json 2> fw.$a.err
  $FW $r $opts --fail-on never --limit 0 > fw.$a.txt 2>&1
  echo "== $a"; python3 ../lib/cmp.py $s fw.$a.json | tee cmp.$a.txt | grep -- "DIFF\|summary\|RESULT\|uncertain"
done
