#!/bin/sh
# fail2ban's iptables actions (action.d/iptables*.conf, fail2ban 1.0), expanded by hand: actionstart then actionban
set -e  # run in the host namespace; 192.0.2.66 and 2001:db8:1::66 are banned by every action
for T in iptables ip6tables; do
  I="$T -w"
  if [ $T = iptables ]; then R="REJECT --reject-with icmp-port-unreachable"; B=192.0.2.66; S=""; FAM=""; else R="REJECT --reject-with icmp6-port-unreachable"; B=2001:db8:1::66; S=6; FAM="family inet6"; fi
  # a base host policy: INPUT DROP, established, lo, ssh/http/smtp/imap open, ping
  $I -P INPUT DROP
  $I -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
  $I -A INPUT -i lo -j ACCEPT
  if [ $T = iptables ]; then $I -A INPUT -p icmp -j ACCEPT; else $I -A INPUT -p ipv6-icmp -j ACCEPT; fi
  $I -A INPUT -p tcp -m multiport --dports 22,80,25,143 -j ACCEPT
  $I -A INPUT -p udp --dport 53 -j ACCEPT
  # iptables-multiport (sshd, port=ssh protocol=tcp)
  { $I -C f2b-sshd -j RETURN >/dev/null 2>&1; } || { $I -N f2b-sshd || true; $I -A f2b-sshd -j RETURN; }
  for proto in tcp; do { $I -C INPUT -p $proto -m multiport --dports ssh -j f2b-sshd >/dev/null 2>&1; } || { $I -I INPUT -p $proto -m multiport --dports ssh -j f2b-sshd; }; done
  $I -I f2b-sshd 1 -s $B -j $R
  # iptables-allports (recidive)
  { $I -C f2b-recidive -j RETURN >/dev/null 2>&1; } || { $I -N f2b-recidive || true; $I -A f2b-recidive -j RETURN; }
  for proto in tcp; do { $I -C INPUT -p $proto -j f2b-recidive >/dev/null 2>&1; } || { $I -I INPUT -p $proto -j f2b-recidive; }; done
  $I -I f2b-recidive 1 -s $B -j $R
  # iptables-new (nginx-http-auth, port=http,https protocol=tcp,udp: type oneport per proto... port=http)
  { $I -C f2b-nginx -j RETURN >/dev/null 2>&1; } || { $I -N f2b-nginx || true; $I -A f2b-nginx -j RETURN; }
  for proto in tcp udp; do { $I -C INPUT -m state --state NEW -p $proto --dport http -j f2b-nginx >/dev/null 2>&1; } || { $I -I INPUT -m state --state NEW -p $proto --dport http -j f2b-nginx; }; done
  $I -I f2b-nginx 1 -s $B -j $R
  # iptables-multiport-log (dovecot, port=imap,imaps)
  $I -N f2b-dovecot
  $I -A f2b-dovecot -j RETURN
  $I -I INPUT 1 -p tcp -m multiport --dports imap,imaps -j f2b-dovecot
  $I -N f2b-dovecot-log
  $I -I f2b-dovecot-log -j LOG --log-prefix "$(expr f2b-dovecot : '\(.\{1,23\}\)'):DROP " --log-level warning -m limit --limit 6/m --limit-burst 2
  $I -A f2b-dovecot-log -j $R
  $I -I f2b-dovecot 1 -s $B -j f2b-dovecot-log
  # (iptables-xt_recent-echo is left out: its bans are written to /proc/net/xt_recent, which
  # fwcheck cannot read offline; README, Not yet modelled)
  # iptables-ipset (proto6 in older releases; smtp)
  ipset -exist create f2b-exim$S hash:ip timeout 0 $FAM
  for proto in tcp; do { $I -C INPUT -p $proto -m multiport --dports smtp -m set --match-set f2b-exim$S src -j $R >/dev/null 2>&1; } || { $I -I INPUT -p $proto -m multiport --dports smtp -m set --match-set f2b-exim$S src -j $R; }; done
  ipset -exist add f2b-exim$S $B timeout 0
done
