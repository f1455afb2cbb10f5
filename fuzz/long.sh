#!/bin/bash
# Long fuzzing runs, one target after another on one core, nice'd
# (docs/fuzzing.md).  Each run goes on from the corpus the previous runs
# kept (build/fuzz/corpus-<target>, build/recorder/fuzz/corpus-<target>)
# and appends one line to build/fuzz/long.tsv; the totals per target over
# every run recorded there are printed at the end.
#
#     fuzz/long.sh [SECONDS] [TARGET...]
#
# SECONDS per target (default 900); TARGET names as in `make -C fuzz
# list` or recorder/fuzz_<name> for the recorder's; default: all of them.
# The binaries are built first.

set -u

top=$(cd "$(dirname "$0")/.." && pwd)
secs=${1:-900}
shift || true

ledger=$top/build/fuzz/long.tsv

make -s -C "$top" module || exit 1
make -s -C "$top/fuzz" OBJS="$top/build/objs" all || exit 1
make -s -C "$top/src/recorder" fuzz-build || exit 1

if [ $# -eq 0 ]; then
    set -- $(make -s -C "$top/fuzz" list) \
           $(cd "$top/fuzz/recorder" && ls fuzz_*.c | sed 's/\.c$//;s/^/recorder\//')
fi

mkdir -p "$top/build/fuzz"
[ -f "$ledger" ] || printf 'date\tcommit\ttarget\tseconds\texecs\tcov\tft\tcorpus\tfailed\n' > "$ledger"

commit=$(git -C "$top" rev-parse --short HEAD 2>/dev/null || echo -)
fail=0

for t in "$@"; do
    case $t in
    recorder/*)
        name=${t#recorder/}
        bin=$top/build/recorder/fuzz/$name
        seeds=$top/fuzz/recorder/seeds-$name
        corpus=$top/build/recorder/fuzz/corpus-$name
        flags="-max_len=8192"
        ;;
    *)
        name=$t
        bin=$top/build/fuzz/$name
        seeds=$top/fuzz/corpus/$name
        corpus=$top/build/fuzz/corpus-$name
        flags="-max_len=4096"
        [ -f "$top/fuzz/$name.dict" ] && flags="$flags -dict=$top/fuzz/$name.dict"
        ;;
    esac

    mkdir -p "$corpus"
    log=$top/build/fuzz/long-${t//\//-}.log
    echo "$t: $secs s (log: $log)"

    nice -n 19 "$bin" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 -artifact_prefix="$top/build/fuzz/$name-" \
        $flags "$corpus" "$seeds" > "$log" 2>&1
    rc=$?

    execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1)
    cov=$(sed -n 's/.*cov: \([0-9]*\).*/\1/p' <<< "$last")
    ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<< "$last")
    corp=$(sed -n 's/.* corp: \([^ ]*\).*/\1/p' <<< "$last")

    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" \
        "$commit" "$t" "$secs" "${execs:-0}" "${cov:--}" "${ft:--}" \
        "${corp:--}" "$([ $rc -eq 0 ] && echo no || echo yes)" >> "$ledger"

    if [ $rc -ne 0 ]; then
        fail=1
        echo "$t: FAILED ($rc)"
        grep -E 'ERROR|SUMMARY|Test unit written|runtime error' "$log" | head
    else
        echo "$t: ${execs:-0} executions, cov $cov, ft $ft, corpus $corp"
    fi
done

echo
echo "totals over $ledger:"
awk -F'\t' 'NR > 1 { n[$3] += $5; s[$3] += $4; c[$3] = $6; f[$3] = $7 }
    END { for (t in n) printf "  %-24s %12d executions in %6d s (last cov %s, ft %s)\n",
                              t, n[t], s[t], c[t], f[t] }' "$ledger" | sort

exit $fail
