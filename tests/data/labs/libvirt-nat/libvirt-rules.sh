# libvirtd's iptables calls for its default NAT network (network "default": bridge virbr0, ip 192.168.122.1/24 with a
# DHCP range, <forward mode='nat'/> with no dev; here also an IPv6 address 2001:db8:7a::1/64, which a NAT network
# routes, unmasqueraded), derived from libvirt's src/network/network_iptables.c (github.com/libvirt/libvirt at 01fd85f):
# iptablesSetupPrivateChains (both layers: for filter INPUT/LIBVIRT_INP, OUTPUT/LIBVIRT_OUT, FORWARD/LIBVIRT_FWO,
# FORWARD/LIBVIRT_FWI, FORWARD/LIBVIRT_FWX, nat and mangle POSTROUTING/LIBVIRT_PRT: --new-chain, then --insert PARENT
# --jump CHILD), then iptablesAddFirewallRules: iptablesAddGeneralIPv4FirewallRules (DHCP 67/68 and DNS 53 in and out
# on the bridge, the REJECTs out of and into the bridge, the cross-bridge ACCEPT), iptablesAddGeneralIPv6FirewallRules
# (the same REJECTs and ACCEPT, DNS 53 and DHCPv6 547/546), iptablesAddIPSpecificFirewallRules: for IPv4
# iptablesAddMasqueradingFirewallRules (FWO -s NET -i virbr0 ACCEPT, FWI -d NET -o virbr0 --ctstate ESTABLISHED,RELATED
# ACCEPT, LIBVIRT_PRT: MASQUERADE, udp then tcp MASQUERADE --to-ports 1024-65535, RETURN for 255.255.255.255/32 and
# 224.0.0.0/24), for IPv6 iptablesAddRoutingFirewallRules (FWO -s NET -i virbr0, FWI -d NET -o virbr0 ACCEPT); then
# iptablesAddChecksumFirewallRules (mangle CHECKSUM --checksum-fill for bootpc: a DHCP range is defined). Every rule
# is --insert'ed at the head of its chain, so each chain ends up in the reverse order of the calls. Argument order as
# virFirewallAddRule passes them (iptables -w). Run in the host namespace.
B=virbr0; N4=192.168.122.0/24; N6=2001:db8:7a::/64
for ipt in iptables ip6tables; do
  for c in INPUT:LIBVIRT_INP OUTPUT:LIBVIRT_OUT FORWARD:LIBVIRT_FWO FORWARD:LIBVIRT_FWI FORWARD:LIBVIRT_FWX; do
    $ipt -w --table filter --new-chain ${c#*:}; $ipt -w --table filter --insert ${c%:*} --jump ${c#*:}
  done
  for t in nat mangle; do $ipt -w --table $t --new-chain LIBVIRT_PRT; $ipt -w --table $t --insert POSTROUTING --jump LIBVIRT_PRT; done
done
inp() { $1 -w --table filter --insert LIBVIRT_INP --in-interface $B --protocol $2 --destination-port $3 --jump ACCEPT; }
out() { $1 -w --table filter --insert LIBVIRT_OUT --out-interface $B --protocol $2 --destination-port $3 --jump ACCEPT; }
general() { # IPT
  $1 -w --table filter --insert LIBVIRT_FWO --in-interface $B --jump REJECT
  $1 -w --table filter --insert LIBVIRT_FWI --out-interface $B --jump REJECT
  $1 -w --table filter --insert LIBVIRT_FWX --in-interface $B --out-interface $B --jump ACCEPT
}
# iptablesAddGeneralIPv4FirewallRules
inp iptables tcp 67; inp iptables udp 67; out iptables tcp 68; out iptables udp 68
inp iptables tcp 53; inp iptables udp 53; out iptables tcp 53; out iptables udp 53
general iptables
# iptablesAddGeneralIPv6FirewallRules
general ip6tables
inp ip6tables tcp 53; inp ip6tables udp 53; out ip6tables tcp 53; out ip6tables udp 53
inp ip6tables udp 547; out ip6tables udp 546
# iptablesAddMasqueradingFirewallRules (IPv4)
iptables -w --table filter --insert LIBVIRT_FWO --source $N4 --in-interface $B --jump ACCEPT
iptables -w --table filter --insert LIBVIRT_FWI --destination $N4 --out-interface $B --match conntrack --ctstate ESTABLISHED,RELATED --jump ACCEPT
iptables -w --table nat --insert LIBVIRT_PRT --source $N4 ! --destination $N4 --jump MASQUERADE
iptables -w --table nat --insert LIBVIRT_PRT --source $N4 -p udp ! --destination $N4 --jump MASQUERADE --to-ports 1024-65535
iptables -w --table nat --insert LIBVIRT_PRT --source $N4 -p tcp ! --destination $N4 --jump MASQUERADE --to-ports 1024-65535
iptables -w --table nat --insert LIBVIRT_PRT --source $N4 --destination 255.255.255.255/32 --jump RETURN
iptables -w --table nat --insert LIBVIRT_PRT --source $N4 --destination 224.0.0.0/24 --jump RETURN
# iptablesAddRoutingFirewallRules (IPv6)
ip6tables -w --table filter --insert LIBVIRT_FWO --source $N6 --in-interface $B --jump ACCEPT
ip6tables -w --table filter --insert LIBVIRT_FWI --destination $N6 --out-interface $B --jump ACCEPT
# iptablesAddChecksumFirewallRules (errors ignored)
iptables -w --table mangle --insert LIBVIRT_PRT --out-interface $B --protocol udp --destination-port 68 --jump CHECKSUM --checksum-fill
