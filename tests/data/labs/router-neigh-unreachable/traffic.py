import os, sys, subprocess
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'lib'))
from nattraffic import *
if role == 's':
    # 198.51.100.99 and 2001:db8:a::99 are on the router's WAN link, where no neighbour answers: the
    # MASQUERADEd datagrams and pings wait in the neighbour queue (their connections confirmed at
    # POSTROUTING) and the router's host / address unreachable (arp_error_report, ndisc_error_report)
    # goes back translated, RELATED
    log('v4 udp', udp('198.51.100.99', 9, sport=33000))
    log('v6 udp', udp('2001:db8:a::99', 9, sport=33000))
    log(subprocess.run(['ping', '-c', '2', '-i', '0.2', '-W', '5', '198.51.100.98'], capture_output=True, text=True).stdout)
    log(subprocess.run(['ping', '-6', '-c', '2', '-i', '0.2', '-W', '5', '2001:db8:a::98'], capture_output=True, text=True).stdout)
    time.sleep(4)
    log('v4 routed', udp(WC, 5353, sport=33001))
