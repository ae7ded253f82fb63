iptables -N SSH
iptables -A SSH -p tcp --dport 22 -j ACCEPT
iptables -A INPUT -j SSH
iptables -P INPUT DROP
iptables -F SSH
iptables -X SSH
iptables -D INPUT -j SSH
iptables -X SSH
iptables -I INPUT -p tcp --dport 22 -j ACCEPT
iptables -D INPUT -p tcp --dport 22 -j ACCEPT
iptables -A INPUT -m conntrack --ctstate ESTABLISHED -j ACCEPT
iptables -I INPUT -p tcp --dport 22 -j ACCEPT
