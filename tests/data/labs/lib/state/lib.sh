# helpers; source me
FW=${FW:-fwcheck}
PY=/usr/bin/python3
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
mkns() { ip netns add "$1"; ip -n "$1" link set lo up; }
delns() { for n in "$@"; do for p in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done; ip netns del "$n" 2>/dev/null; done; }
# start_tcpdump NS IFACE FILE [extra args]; sets TD_PID
start_tcpdump() {
  local ns=$1 ifc=$2 out=$3; shift 3
  ip netns exec "$ns" tcpdump -B 131072 -n -Z root -i "$ifc" "$@" -w "$out" 2>"$out.err" &
  TD_PID=$!
  for i in $(seq 100); do grep -q "listening on" "$out.err" 2>/dev/null && return 0; sleep 0.05; done
  echo "tcpdump did not start"; cat "$out.err"; return 1
}
stop_tcpdump() { kill -INT "$TD_PID"; wait "$TD_PID" 2>/dev/null; cat "$1.err" | tail -3; }
