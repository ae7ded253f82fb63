iptables -t raw -A PREROUTING -p tcp --dport 22 -j NOTRACK
iptables -t raw -A OUTPUT -p tcp --sport 22 -j NOTRACK
iptables -t raw -F
