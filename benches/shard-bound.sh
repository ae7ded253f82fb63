#!/usr/bin/env bash
# What sharding the replay by flow could win on this machine, at most (issue 13, item 5): the
# compare capture (`fwcheck gen webserver --flows N`) is split by flow into two captures with
# tcpdump (a flow's two directions land in the same half: the low bit of the XOR of the two
# addresses' last bytes), and two `fwcheck` processes, one a half, run side by side. That is
# a sharding with no cost of its own — no hand-over of frames to the shards, no merging of
# their outcomes back into capture order, no check that flows never meet — so its gain over
# the whole capture in one process bounds any in-process sharding's from above. Rows: the
# default table and `--format json`, through guide 000's ruleset, best wall time of RUNS.
#
#   benches/shard-bound.sh [FLOWS] [RUNS]        default 100000 flows, 3 runs
#
# Needs tcpdump and GNU time (`/usr/bin/time`); `.ci/run` installs tcpdump.
set -euo pipefail
cd "$(dirname "$0")/.."
flows=${1:-100000}
runs=${2:-3}
cargo build --release --quiet --bin fwcheck
bin=$PWD/target/release/fwcheck
rules=fixtures/guides/guide-000-webserver.rules.v4
host=203.0.113.10
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cap=$tmp/web.pcap
"$bin" gen webserver --flows "$flows" -o "$cap" 2>/dev/null
even='(ip and ((ip[15] ^ ip[19]) & 1) = 0) or (ip6 and ((ip6[23] ^ ip6[39]) & 1) = 0)'
even="$even or (not ip and not ip6)"
tcpdump -r "$cap" -w "$tmp/a.pcap" "$even" 2>/dev/null
tcpdump -r "$cap" -w "$tmp/b.pcap" "not ($even)" 2>/dev/null
whole=$(tcpdump -r "$cap" 2>/dev/null | wc -l)
halves=$(($(tcpdump -r "$tmp/a.pcap" 2>/dev/null | wc -l) + $(tcpdump -r "$tmp/b.pcap" 2>/dev/null | wc -l)))
[ "$whole" -eq "$halves" ] || { echo "the halves hold $halves frames, the capture $whole" >&2; exit 1; }

source benches/common/best.sh
cat "$cap" "$tmp/a.pcap" "$tmp/b.pcap" >/dev/null # warm the page cache
# Both halves at once, each in its own process (the bound), its output thrown away.
pair() {
    "$bin" "$rules" --pcap "$tmp/a.pcap" --host "$host" "$@" >/dev/null &
    "$bin" "$rules" --pcap "$tmp/b.pcap" --host "$host" "$@" >/dev/null
    wait
}
export -f pair
export bin rules host tmp
printf 'capture: %s frames (fwcheck gen webserver --flows %s), halves of %s and %s; best of %s\n' \
    "$whole" "$flows" "$(tcpdump -r "$tmp/a.pcap" 2>/dev/null | wc -l)" \
    "$(tcpdump -r "$tmp/b.pcap" 2>/dev/null | wc -l)" "$runs"
printf '%-10s %12s %18s %10s\n' "output" "whole s" "two halves s" "bound"
for fmt in table json; do
    read -r w _ < <(best "$bin" "$rules" --pcap "$cap" --host "$host" --format "$fmt")
    read -r h _ < <(best bash -c 'pair --format '"$fmt")
    printf '%-10s %12s %18s %9.2f×\n' "$fmt" "$w" "$h" "$(awk "BEGIN{print $w/$h}")"
done
