#!/usr/bin/env bash
# `-m string` rules at scale: a router whose FORWARD chain holds N `-m string` rules (none
# matches, so every packet is searched by all of them), over a generated webserver capture
# forwarded through it (`--router`, the host 192.0.2.1 is neither end). Prints the best wall
# time and peak memory of RUNS runs, for case-sensitive (`--algo bm`) and `--icase` rules, and
# the time per packet and rule.
#
#   benches/strings.sh [RULES] [FLOWS] [RUNS]     default 200 rules, 20000 flows, 3 runs
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-200}
flows=${2:-20000}
runs=${3:-3}
cargo build --release --quiet --bin fwcheck
bin=target/release/fwcheck
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cap=$tmp/web.pcap
"$bin" gen webserver --flows "$flows" -o "$cap" 2>"$tmp/gen"
packets=$(grep -o 'wrote [0-9]*' "$tmp/gen" | grep -o '[0-9]*')
ruleset() {
    printf '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n'
    for i in $(seq 1 "$n"); do
        printf -- '-A FORWARD -p tcp -m string --string "blocked-%d" %s -j DROP\n' "$i" "$1"
    done
    printf 'COMMIT\n'
}
ruleset "--algo bm" >"$tmp/bm.v4"
ruleset "--algo kmp --icase" >"$tmp/icase.v4"
source benches/common/best.sh
printf 'capture: %s packets (fwcheck gen webserver --flows %s), %s string rules; best of %s\n' \
    "$packets" "$flows" "$n" "$runs"
printf '%-24s %9s %12s %10s\n' "rules" "wall s" "ns/pkt/rule" "peak MiB"
for kind in bm icase; do
    read -r t r < <(best "$bin" "$tmp/$kind.v4" --pcap "$cap" --host 192.0.2.1 --router)
    printf '%-24s %9s %12.1f %10.1f\n' "$kind" "$t" \
        "$(awk "BEGIN{print $t*1e9/$packets/$n}")" "$(awk "BEGIN{print $r/1024}")"
done
