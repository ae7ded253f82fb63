#!/bin/bash
# Recorded as root on Linux 6.18, iptables 1.8.9 (nft), by a kernel hunt (2026-12-07); replayed with v4.args, v6.args.
# An OpenWrt router's fw3 ruleset. fw3 is not installable here: rules / rules6 were derived by hand from
# firewall3's source (github.com/openwrt/firewall3 at 3a65fde, 2025-10-03: main.c's order — default chains, zone
# chains, default head rules, rules, redirects, forwards, zone rules, tail rules; defaults.c, zones.c, rules.c,
# redirects.c, forwards.c, helpers.c with helpers.conf; iptables.c's rule building: "!fw3" comments, the protocol
# match loaded where a port/flag option first needs it) for firewall.config (OpenWrt's default /etc/config/firewall,
# lan = lan0, wan/wan6 = wan0, plus the port forward Forward-HTTP with its NAT reflection and the rule
# Allow-SSH-WAN). The lan zone's automatic CT helpers are those whose module was loaded on the recording host (all of
# helpers.conf but pptp and rtsp). They are written as iptables-save prints them: restored and saved back they are
# unchanged, and `fwcheck fmt` prints them byte for byte (lab_topo checks both). Router ggor (wan0 198.51.100.1/24
# 2001:db8:a::1/64, lan0 10.9.0.1/24 2001:db8:b::1/64) between ggoc (c0, WAN) and ggos (s0, LAN); probes.py's
# traffic; tcpdump -i any on the router.
cd "$(dirname "$0")"; D=$(pwd); export RLAB=ggo
lab_topo() {
  nsx $R iptables-restore < rules && nsx $R ip6tables-restore < rules6 || echo RESTORE FAILED
  nsx $R iptables-save | grep -v '^#' | cmp - rules; nsx $R ip6tables-save | grep -v '^#' | cmp - rules6
  $FW fmt rules | cmp - rules; $FW fmt rules6 | cmp - rules6
}
source ../lib/rlab.sh
