# Sourced by the benchmark scripts (benches/compare.sh, benches/fleet.sh).
# best CMD...: the best wall time (s) and the peak resident memory (KiB) of $runs runs of CMD,
# its output thrown away; needs GNU time (/usr/bin/time) and a scratch directory in $tmp.
best() {
    local b="" m=0 t r
    for _ in $(seq "$runs"); do
        /usr/bin/time -f "%e %M" -o "$tmp/t" "$@" >/dev/null 2>&1 || true
        read -r t r <"$tmp/t"
        if [ -z "$b" ] || awk "BEGIN{exit !($t < $b)}"; then b=$t; fi
        [ "$r" -gt "$m" ] && m=$r
    done
    echo "$b $m"
}
