iptables -P INPUT DROP
iptables -I INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT
iptables -A INPUT -p tcp --dport 22 -j ACCEPT
iptables -I INPUT -s 203.0.113.0/24 -j DROP
iptables -D INPUT 1
