#!/usr/bin/env bash
# The static gate at scale: `fwcheck RULES` (every static analysis: lockout, probes, services,
# shadowing, placement, findings rendered) and `fwcheck lint RULES` on generated rulesets of
# 10,000 / 30,000 / 100,000 rules of three shapes, beside `iptables-restore --test` on the
# same file as the anchor (parse + build the ruleset in the kernel's format, no commit).
# Median wall time of N runs each (default 3).
#
#   benches/gate.sh [RUNS] [SIZES...]        e.g. benches/gate.sh 3 10000 100000
#
# Shapes (`fwcheck debug gen-ruleset --shape`, src/testkit/bench_support.rs): `blocklist` (-s x/32 -j DROP after a stateful head),
# `mixed` (port/protocol/interface/address rules, multiport, ICMP, REJECT), `chains` (many user
# chains of nine rules, each reached by a jump from INPUT). iptables-restore runs in a private
# network namespace (`unshare -n`) so nothing on the host is touched; it needs root. Per-phase
# times of one file: `target/release/fwcheck debug gate-phases FILE`.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
shift || true
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(10000 30000 100000)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ -z "${FWCHECK_IN_NETNS:-}" ]; then
    cargo build --release --quiet --features testkit --bin fwcheck
    if [ "$(id -u)" = 0 ] && unshare -n true 2>/dev/null; then
        FWCHECK_IN_NETNS=1 exec unshare -n "$0" "$runs" "${sizes[@]}"
    fi
fi

median() { # median wall time in seconds of "$@" with stdin from $in, output discarded
    local ts=() t0 t1
    for _ in $(seq "$runs"); do
        t0=$(date +%s%N)
        "$@" <"$in" >/dev/null 2>&1 || true
        t1=$(date +%s%N)
        ts+=($(((t1 - t0) / 1000000)))
    done
    local m
    m=$(printf '%s\n' "${ts[@]}" | sort -n | sed -n "$(((runs + 1) / 2))p")
    printf '%d.%03d s' $((m / 1000)) $((m % 1000))
}

printf '%-10s %7s  %-12s %-12s %-24s\n' shape rules "fwcheck RULES" "fwcheck lint" "iptables-restore --test"
for shape in blocklist mixed chains; do
    for n in "${sizes[@]}"; do
        f=$tmp/$shape-$n.rules
        target/release/fwcheck debug gen-ruleset --shape "$shape" "$n" "$f" 2>/dev/null
        rules=$(grep -c '^-A' "$f")
        in=/dev/null
        g=$(median target/release/fwcheck "$f")
        l=$(median target/release/fwcheck lint "$f")
        if [ -n "${FWCHECK_IN_NETNS:-}" ] && command -v iptables-restore >/dev/null; then
            iptables-restore --test <"$f"
            in=$f
            r=$(median iptables-restore --test)
        else
            r="SKIP (needs root)"
        fi
        printf '%-10s %7s  %-12s %-12s %-24s\n' "$shape" "$rules" "$g" "$l" "$r"
    done
done
