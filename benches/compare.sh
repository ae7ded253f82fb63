#!/usr/bin/env bash
# fwcheck beside tcpdump on the same capture, end to end (the binary, as a user runs it): a
# webserver capture is generated (`fwcheck gen webserver --flows N`, about 11 packets per
# flow), then each command runs RUNS times with its output to /dev/null; the best wall time and
# the peak resident memory are printed, with the ratio to `tcpdump -r FILE -w /dev/null` (read
# every record, write nothing). Rows: the default table, `--format json`, `--limit 0` (every
# row, streamed), `--limit 200000` (a table of 200,000 rows) and `--flows`, through guide
# 000's ruleset.
#
#   benches/compare.sh [FLOWS] [RUNS]        default 100000 flows, 3 runs
#
# Needs tcpdump and GNU time (`/usr/bin/time`); `.ci/run` installs tcpdump.
set -euo pipefail
cd "$(dirname "$0")/.."
flows=${1:-100000}
runs=${2:-3}
cargo build --release --quiet --bin fwcheck
bin=target/release/fwcheck
rules=fixtures/guides/guide-000-webserver.rules.v4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cap=$tmp/web.pcap
"$bin" gen webserver --flows "$flows" -o "$cap" 2>"$tmp/gen"
packets=$(grep -o 'wrote [0-9]*' "$tmp/gen" | grep -o '[0-9]*')
bytes=$(stat -c %s "$cap")
host=203.0.113.10

# best CMD...: best wall time and peak RSS of $runs runs
source benches/common/best.sh

cat "$cap" >/dev/null # warm the page cache
read -r td td_rss < <(best tcpdump -r "$cap" -w /dev/null)
printf 'capture: %s packets, %.1f MB (fwcheck gen webserver --flows %s); best of %s runs\n' \
    "$packets" "$(awk "BEGIN{print $bytes/1e6}")" "$flows" "$runs"
printf '%-44s %9s %8s %10s\n' "command" "wall s" "ratio" "peak MiB"
row() {
    local name=$1
    shift
    local t r
    read -r t r < <(best "$@")
    printf '%-44s %9s %7.2f× %10.1f\n' "$name" "$t" "$(awk "BEGIN{print $t/$td}")" \
        "$(awk "BEGIN{print $r/1024}")"
}
printf '%-44s %9s %7.2f× %10.1f\n' "tcpdump -r FILE -w /dev/null" "$td" 1 "$(awk "BEGIN{print $td_rss/1024}")"
row "fwcheck RULES --pcap FILE (table)" "$bin" "$rules" --pcap "$cap" --host "$host"
row "fwcheck ... --format json" "$bin" "$rules" --pcap "$cap" --host "$host" --format json
row "fwcheck ... --limit 0 (every row)" "$bin" "$rules" --pcap "$cap" --host "$host" --limit 0
row "fwcheck ... --limit 200000" "$bin" "$rules" --pcap "$cap" --host "$host" --limit 200000
row "fwcheck ... --flows" "$bin" "$rules" --pcap "$cap" --host "$host" --flows
