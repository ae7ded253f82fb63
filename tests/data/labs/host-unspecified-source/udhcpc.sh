#!/bin/sh
# udhcpc's script: set the leased address on the interface
case "$1" in
  deconfig) ip -4 addr flush dev "$interface" ;;
  bound|renew) ip addr replace "$ip/${mask:-24}" dev "$interface" ;;
esac
exit 0
