#!/usr/bin/env bash
# `fwcheck steps` over long scripts: a blocklist written as N commands
# (`iptables -A INPUT -s ADDR/32 -p tcp --dport PORT -j DROP`), then the SSH accept and the
# DROP policy. Every step is checked against its whole ruleset (the admin's live session and a
# new one), so the time grows with steps × rules; the memory holds one step's ruleset at a
# time. Prints the best wall time and peak memory of RUNS runs for each size.
#
#   benches/steps.sh [RUNS] [SIZES...]     default 3 runs; 1000 2000 4000 8000 commands
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
shift || true
sizes=${*:-1000 2000 4000 8000}
cargo build --release --quiet --bin fwcheck
bin=target/release/fwcheck
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
source benches/common/best.sh
printf 'fwcheck steps over a blocklist script; best of %s\n' "$runs"
printf '%-10s %9s %12s %10s\n' "commands" "wall s" "µs/step" "peak MiB"
for n in $sizes; do
    {
        echo 'iptables -P INPUT ACCEPT'
        for i in $(seq 0 $((n - 1))); do
            echo "iptables -A INPUT -s 192.0.2.$((i % 250))/32 -p tcp --dport $((1000 + i)) -j DROP"
        done
        echo 'iptables -A INPUT -p tcp --dport 22 -j ACCEPT'
        echo 'iptables -P INPUT DROP'
    } >"$tmp/s$n.sh"
    read -r t r < <(best "$bin" steps "$tmp/s$n.sh")
    printf '%-10s %9s %12.1f %10.1f\n' "$n" "$t" \
        "$(awk "BEGIN{print $t*1e6/($n+3)}")" "$(awk "BEGIN{print $r/1024}")"
done
