#!/usr/bin/env bash
# `fwcheck gen` streams what it writes: sorted runs of frames are spilled to temporary files
# and merged as the capture is written, so its memory does not grow with the number of flows.
# Writes the webserver profile with FLOWS flows and with 10× FLOWS, best of RUNS each; prints
# the wall time, the packets written and the peak resident memory, and checks that two runs
# write the same bytes.
#
#   benches/gen.sh [FLOWS] [RUNS]     default 30000 flows, 3 runs
#
# Needs GNU time (`/usr/bin/time`).
set -euo pipefail
cd "$(dirname "$0")/.."
flows=${1:-30000}
runs=${2:-3}
cargo build --release --quiet --bin fwcheck
bin=$PWD/target/release/fwcheck
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# best CMD...: best wall time and peak RSS of $runs runs
source benches/common/best.sh

printf '%-10s %12s %10s %14s\n' flows packets wall peak_rss
for n in "$flows" $((flows * 10)); do
    read -r wall rss < <(best "$bin" gen webserver --flows "$n" -o "$tmp/g.pcap")
    "$bin" gen webserver --flows "$n" -o "$tmp/g.pcap" 2>"$tmp/said"
    packets=$(grep -o 'wrote [0-9]*' "$tmp/said" | grep -o '[0-9]*')
    sum=$(sha256sum <"$tmp/g.pcap")
    "$bin" gen webserver --flows "$n" >"$tmp/h.pcap"
    [ "$sum" = "$(sha256sum <"$tmp/h.pcap")" ] || { echo "gen --flows $n: -o and stdout differ" >&2; exit 1; }
    printf '%-10s %12s %9ss %11s MiB\n' "$n" "$packets" "$wall" $((rss / 1024))
done
