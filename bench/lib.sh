# Shell helpers of the benchmark scripts (sourced by bench/run.sh and
# bench/redis_bench.sh); they expect $LOG to be set.

say() { echo "$@" | tee -a "$LOG"; }

# free_port: a loopback TCP port nobody uses now
free_port() {
    local p i
    for i in $(seq 1 200); do
        p=$(( 20000 + RANDOM % 12000 ))
        if [ -z "$(ss -Htan "( sport = :$p or dport = :$p )")" ]; then
            echo "$p"
            return 0
        fi
    done
    return 1
}

# wait_for SECONDS COMMAND...: poll a condition with a deadline
wait_for() {
    local deadline=$(( $(date +%s%N) + $1 * 1000000000 ))
    shift
    until "$@" >/dev/null 2>&1; do
        if [ "$(date +%s%N)" -ge "$deadline" ]; then
            return 1
        fi
        sleep 0.05
    done
}
