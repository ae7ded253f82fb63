# tailscaled's iptables calls (util/linuxfw/iptables_runner.go, called from
# wgengine/router/osrouter/router_linux.go, tailscale de9ec7e, 2026-08-22), in the order a subnet router with
# netfilter mode "on", magicsock port 41641, the addresses 100.101.102.103 and fd7a:115c:a1e0::1, advertised routes
# with --snat-subnet-routes (the default), stateful filtering off (the default) and the CGNAT drop rule makes them:
# setNetfilterModeLocked(on): AddChains, DelBase (nothing yet), AddHooks (Insert 1), AddBase (addBase4, addBase6),
# AddMagicsockPortRule (udp4, udp6); addAddress -> AddLoopbackRule (Insert 1); AddSNATRule; AddConnmarkSaveRule
# (Insert 1); setCGNATDropModeLocked(CGNATModeDrop) -> AddExternalCGNATRules. Run in the host namespace.
T=tailscale0; M=0x40000/0xff0000
for ipt in iptables ip6tables; do
  $ipt -t filter -N ts-input; $ipt -t filter -N ts-forward; $ipt -t nat -N ts-postrouting
  $ipt -t filter -I INPUT 1 -j ts-input; $ipt -t filter -I FORWARD 1 -j ts-forward; $ipt -t nat -I POSTROUTING 1 -j ts-postrouting
done
iptables -A ts-input -i $T -j ACCEPT
iptables -A ts-forward -i $T -j MARK --set-mark $M
iptables -A ts-forward -m mark --mark $M -j ACCEPT
iptables -A ts-forward -o $T -s 100.64.0.0/10 -j DROP
iptables -A ts-forward -o $T -j ACCEPT
ip6tables -A ts-input -i $T -j ACCEPT
ip6tables -A ts-forward -i $T -j MARK --set-mark $M
ip6tables -A ts-forward -m mark --mark $M -j ACCEPT
ip6tables -A ts-forward -o $T -j ACCEPT
iptables -A ts-input -p udp --dport 41641 -j ACCEPT
ip6tables -A ts-input -p udp --dport 41641 -j ACCEPT
iptables -I ts-input 1 -i lo -s 100.101.102.103 -j ACCEPT
ip6tables -I ts-input 1 -i lo -s fd7a:115c:a1e0::1 -j ACCEPT
iptables -t nat -A ts-postrouting -m mark --mark $M -j MASQUERADE
ip6tables -t nat -A ts-postrouting -m mark --mark $M -j MASQUERADE
for ipt in iptables ip6tables; do
  $ipt -t mangle -I PREROUTING 1 -m conntrack --ctstate ESTABLISHED,RELATED -m connmark ! --mark 0x0/0xff0000 -j CONNMARK --restore-mark --nfmask 0xff0000 --ctmask 0xff0000
done
for ipt in iptables ip6tables; do
  $ipt -t mangle -I OUTPUT 1 -m conntrack --ctstate NEW -m mark ! --mark 0x0/0xff0000 -j CONNMARK --save-mark --nfmask 0xff0000 --ctmask 0xff0000
done
iptables -A ts-input ! -i $T -s 100.115.92.0/23 -j RETURN
iptables -A ts-input ! -i $T -s 100.64.0.0/10 -j DROP
