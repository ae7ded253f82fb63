#!/usr/bin/env bash
# Parse-time comparison with iptables itself: `iptables-restore --test` (parse + build the
# ruleset in the kernel's format without committing it) against `fwcheck lint` (parse + chain
# graph + checks) on the same files, best of N runs each (default 5).
#
#   benches/restore-compare.sh [RUNS]
#
# Files: the benchmark's generated 10,000-rule ruleset (the same text `cargo bench --bench parse`
# times) and the real fail2ban ruleset in fixtures/real. Everything runs in a private network
# namespace (`unshare -n`), so nothing on the host is touched; iptables-restore needs root. The
# in-process figure without process start-up and file I/O is `cargo bench --bench parse`.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ -z "${FWCHECK_IN_NETNS:-}" ]; then
    cargo build --release --quiet --features testkit --bin fwcheck
    # Measure inside one private network namespace when possible.
    if [ "$(id -u)" = 0 ] && unshare -n true 2>/dev/null; then
        FWCHECK_IN_NETNS=1 exec unshare -n "$0" "$@"
    fi
fi
target/release/fwcheck debug gen-ruleset 10000 "$tmp/gen-10000.rules.v4" 2>/dev/null

best() { # best wall time in ms of "$@" with stdin from $in
    local b=999999999 t0 t1 d
    for _ in $(seq "$runs"); do
        t0=$(date +%s%N)
        "$@" <"$in" >/dev/null 2>&1 || true
        t1=$(date +%s%N)
        d=$(((t1 - t0) / 1000))
        ((d < b)) && b=$d
    done
    printf '%d.%03d ms' $((b / 1000)) $((b % 1000))
}

printf '%-44s %8s  %-22s %-22s\n' file rules "iptables-restore --test" "fwcheck lint"
for f in "$tmp/gen-10000.rules.v4" fixtures/real/fail2ban.rules.v4; do
    [ -f "$f" ] || continue
    in=$f
    rules=$(grep -c '^-A' "$f")
    if [ -n "${FWCHECK_IN_NETNS:-}" ] && command -v iptables-restore >/dev/null; then
        # Check it loads at all (a failure would make the timing meaningless).
        iptables-restore --test <"$f"
        r=$(best iptables-restore --test)
    else
        r="SKIP (needs root + iptables)"
    fi
    in=/dev/null
    l=$(best target/release/fwcheck lint "$f")
    printf '%-44s %8s  %-22s %-22s\n' "$(basename "$f")" "$rules" "$r" "$l"
done
