#!/bin/sh
# A hardening script that sets the policies before its accept rules, with $IPT.
IPT=/sbin/iptables
ADMIN=198.51.100.0/24
$IPT -F
$IPT -P OUTPUT DROP
$IPT -P INPUT DROP
$IPT -A INPUT -i lo -j ACCEPT
$IPT -A OUTPUT -o lo -j ACCEPT
$IPT -A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
$IPT -A OUTPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
$IPT -A INPUT -p tcp -s $ADMIN --dport 22 -m conntrack --ctstate NEW -j ACCEPT
$IPT -A INPUT -p tcp --dport 443 -m conntrack --ctstate NEW -j ACCEPT
