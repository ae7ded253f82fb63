#!/usr/bin/env bash
# `fwcheck fleet` on a generated fleet: HOSTS hosts, each guide 000's ruleset with its own
# generated webserver capture (`fwcheck gen webserver --flows FLOWS --seed i`). Times, best of
# RUNS: the hosts one after the other as single `fwcheck RULES --pcap ... --format sarif`
# processes (a shell loop; SARIF has no per-packet output, like the fleet's report), then
# `fwcheck fleet --jobs 1` and `fwcheck fleet` on every core; prints the wall times, the
# speed-up over the loop and the peak resident memory, and checks that the merged JSON report
# is the same with one thread and with all.
#
#   benches/fleet.sh [HOSTS] [FLOWS] [RUNS]     default 8 hosts, 10000 flows, 3 runs
#
# Needs GNU time (`/usr/bin/time`).
set -euo pipefail
cd "$(dirname "$0")/.."
hosts=${1:-8}
flows=${2:-10000}
runs=${3:-3}
cargo build --release --quiet --bin fwcheck
bin=$PWD/target/release/fwcheck
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cp fixtures/guides/guide-000-webserver.rules.v4 "$tmp/rules.v4"
: >"$tmp/fleet.toml"
packets=0
for i in $(seq "$hosts"); do
    "$bin" gen webserver --flows "$flows" --seed "$i" -o "$tmp/h$i.pcap" 2>"$tmp/gen"
    packets=$((packets + $(grep -o 'wrote [0-9]*' "$tmp/gen" | grep -o '[0-9]*')))
    printf '[[host]]\nname = "h%s"\nrules = "rules.v4"\npcap = "h%s.pcap"\noptions = ["--host", "203.0.113.10"]\n\n' \
        "$i" "$i" >>"$tmp/fleet.toml"
done
cat "$tmp"/*.pcap >/dev/null # warm the page cache

# best CMD...: best wall time and peak RSS of $runs runs
source benches/common/best.sh

cat >"$tmp/loop.sh" <<LOOP
for i in \$(seq $hosts); do "$bin" "$tmp/rules.v4" --pcap "$tmp/h\$i.pcap" --host 203.0.113.10 --format sarif >/dev/null; done
LOOP
read -r loop loop_rss < <(best bash "$tmp/loop.sh")
read -r one one_rss < <(best "$bin" fleet "$tmp/fleet.toml" --format json --jobs 1)
read -r all all_rss < <(best "$bin" fleet "$tmp/fleet.toml" --format json)
"$bin" fleet "$tmp/fleet.toml" --format json --jobs 1 >"$tmp/one.json" 2>/dev/null || true
"$bin" fleet "$tmp/fleet.toml" --format json >"$tmp/all.json" 2>/dev/null || true
cmp -s "$tmp/one.json" "$tmp/all.json" && same=yes || same=NO

echo "fleet of $hosts hosts, $packets packets in all, $(nproc) cores, best of $runs"
printf '%-36s %8s s  %7s MiB\n' "one fwcheck per host (shell loop)" "$loop" $((loop_rss / 1024))
printf '%-36s %8s s  %7s MiB  %s× the loop\n' "fwcheck fleet --jobs 1" "$one" $((one_rss / 1024)) \
    "$(awk "BEGIN{printf \"%.2f\", $loop / $one}")"
printf '%-36s %8s s  %7s MiB  %s× the loop\n' "fwcheck fleet (every core)" "$all" $((all_rss / 1024)) \
    "$(awk "BEGIN{printf \"%.2f\", $loop / $all}")"
echo "JSON report identical with 1 thread and with all: $same"
