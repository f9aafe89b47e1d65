# Shared machinery of the benchmarks (benches/http.sh and benches/app.sh use all of it;
# benches/echo.sh and benches/idle_rss.sh use the server lifecycle: bench_setup,
# start_server with its hooks, stop_server, artifact; echo.sh also bench_chart). Sourced, not run. The sourcing script sets, before `bench_init`:
#
#   BENCH_NAME   script name for messages (e.g. http.sh)
#   RUNS DURATION WARMUP CONNECTIONS SERVER_CPU LOAD_CPU PORT_BASE QUIET_WAIT QUIET_PCT
#   BUSY_RETRIES SERVERS SCENARIOS
#
# and defines these hooks:
#
#   start_server_cmd NAME PORT   start the server in the background (pinned with
#                                `taskset -c "$SERVER_CPU"`, stdout to $TMP/server.out,
#                                stderr to $TMP/server.err) so that $! is its pid; during
#                                `bench_run_all`, BENCH_SCENARIO names the scenario the
#                                server is started for
#   server_ready NAME PORT       true once it accepts connections (see server_ready_* below)
#   wrk_args SCENARIO PORT       fill the array WRK_ARGS with wrk's arguments after the
#                                common ones (-t1 -c -d --latency --timeout)
#
# and, for the report, REPORT_TITLE (first line), REPORT_BASELINES (servers the "vs X"
# columns of requests per CPU-s refer to), REPORT_USER_BASELINES (same for user ns/req),
# REPORT_LABELS ("scenario=label;..." for the table), REPORT_NO_P99 (scenarios whose
# latency histogram is meaningless, e.g. pipelined ones).
#
# `bench_run_all` then measures every run x server (order rotated per run) x scenario
# with a fresh server each time, and `report FILE` prints the markdown table and draws
# the chart (`bench_chart`, benches/chart.py; CHART, CHART_NOTE).

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

die() { echo "$BENCH_NAME: $*" >&2; exit 1; }
log() { echo "$*" >&2; }

# bench_init: argument checks, tools, CLK_TCK, fd limit, $TMP and the cleanup trap.
bench_init() {
    [[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "runs must be a positive integer (got '$RUNS')"
    [[ $DURATION =~ ^[1-9][0-9]*$ ]] || die "duration must be a whole number of seconds (got '$DURATION')"
    [[ $WARMUP =~ ^[0-9]+$ ]] || die "WARMUP must be a whole number of seconds (got '$WARMUP')"
    command -v taskset >/dev/null || die "taskset not found (util-linux)"
    command -v python3 >/dev/null || die "python3 not found"
    command -v wrk >/dev/null || die "wrk not found (Debian: apt-get install -y wrk)"
    (( $(nproc) >= 2 )) || die "needs at least 2 CPUs (server and load are pinned to different cores)"
    CLK_TCK=$(getconf CLK_TCK)
    # wrk keeps one fd per connection; the servers one per connection too.
    ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
    bench_setup
}

# bench_setup: $TMP, the server and load pids, and the trap that stops both and removes $TMP.
bench_setup() {
    TMP=$(mktemp -d "${TMPDIR:-/tmp}/nanoapi-${BENCH_NAME%.sh}.XXXXXX")
    SERVER_PID=""
    LOAD_PID=""
    trap cleanup EXIT
    trap 'exit 130' INT TERM
}

stop_server() {
    if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.05; done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
}
cleanup() {
    if [[ -n $LOAD_PID ]]; then kill -KILL "$LOAD_PID" 2>/dev/null || true; wait "$LOAD_PID" 2>/dev/null || true; fi
    stop_server
    rm -rf "$TMP"
}

# Path of the executable named $1 from `cargo build --message-format=json` output on stdin.
artifact() {
    python3 -c '
import json, sys
name, path = sys.argv[1], ""
for line in sys.stdin:
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("reason") == "compiler-artifact" and m.get("target", {}).get("name") == name and m.get("executable"):
        path = m["executable"]
print(path)' "$1"
}

# drop_server NAME: remove it from SERVERS.
drop_server() {
    local kept="" s
    for s in $SERVERS; do [[ $s == "$1" ]] || kept="$kept $s"; done
    SERVERS=$kept
}

# port_listening PORT: true once something listens on 127.0.0.1:PORT (or the
# wildcard address), read from /proc/net/tcp{,6} so no connection is made.
port_listening() {
    python3 - "$1" <<'PY'
import sys
port = "%04X" % int(sys.argv[1])
for f in ("/proc/net/tcp", "/proc/net/tcp6"):
    try:
        for line in open(f).readlines()[1:]:
            p = line.split()
            if p[1].rsplit(":", 1)[1] == port and p[3] == "0A":
                sys.exit(0)
    except OSError:
        pass
sys.exit(1)
PY
}
# For server_ready: the peers print `listening <addr>` once bound; nanoapi's examples
# print nothing, so their port is looked up in /proc/net/tcp.
server_ready_stdout() { grep -q '^listening' "$TMP/server.out" 2>/dev/null; }
server_ready_port() { port_listening "$1"; }

# start_server NAME PORT: starts it (start_server_cmd), waits (at most 10 s) until it
# is ready (server_ready). Sets SERVER_PID.
start_server() {
    local name=$1 port=$2
    : > "$TMP/server.out"; : > "$TMP/server.err"
    start_server_cmd "$name" "$port"
    SERVER_PID=$!   # taskset execs the server, so this is the server's pid
    for _ in $(seq 200); do
        server_ready "$name" "$port" && return 0
        if ! kill -0 "$SERVER_PID" 2>/dev/null; then
            log "server $name exited before listening; stderr:"; cat "$TMP/server.err" >&2
            SERVER_PID=""
            return 1
        fi
        sleep 0.05
    done
    log "server $name was not listening on port $port within 10 s"
    stop_server
    return 1
}

# cpu_ticks PID: "utime stime" of the process and its live descendants (a server that runs
# its workers as child processes, e.g. granian), in CLK_TCK ticks.
cpu_ticks() {
    local rest utime=0 stime=0 pid child
    local -a pids=("$1")
    [[ -e /proc/$1/stat ]] || return 1
    while ((${#pids[@]})); do
        pid=${pids[0]}
        pids=("${pids[@]:1}")
        read -r rest 2>/dev/null < "/proc/$pid/stat" || continue
        rest=${rest##*) }             # drop "pid (comm) "
        set -- $rest                  # $1 = state (field 3), so utime = $12, stime = $13
        utime=$((utime + ${12}))
        stime=$((stime + ${13}))
        for child in $(cat /proc/"$pid"/task/*/children 2>/dev/null); do
            pids+=("$child")
        done
    done
    echo "$utime $stime"
}

# busy_ticks: "busy total" jiffies summed over all CPUs (/proc/stat, busy = all but
# idle and iowait).
busy_ticks() {
    local cpu user nice sys idle iowait irq softirq steal rest
    read -r cpu user nice sys idle iowait irq softirq steal rest < /proc/stat
    echo "$((user + nice + sys + irq + softirq)) $((user + nice + sys + idle + iowait + irq + softirq))"
}

# wait_quiet: wait (at most QUIET_WAIT s) until the whole machine was busy less than
# QUIET_PCT % of one core over one second. Nothing of ours runs at that point.
wait_quiet() {
    (( QUIET_WAIT > 0 )) || return 0
    local waited=0 b0 t0 b1 t1 pct
    while :; do
        read -r b0 t0 < <(busy_ticks); sleep 1; read -r b1 t1 < <(busy_ticks)
        pct=$(( (b1 - b0) * 100 * $(nproc) / (t1 - t0 > 0 ? t1 - t0 : 1) ))
        (( pct < QUIET_PCT )) && break
        if (( waited == 0 )); then log "machine busy (${pct}% of a core by other processes): waiting up to ${QUIET_WAIT}s"; fi
        waited=$((waited + 1))
        if (( waited >= QUIET_WAIT )); then log "still busy (${pct}%) after ${QUIET_WAIT}s: measuring anyway"; break; fi
    done
}

# children_cpu FILE: user+system seconds of this shell's reaped children, from bash's
# `times` (run in this shell: a $(...) subshell would count its own children only).
children_cpu() {
    times > "$1"
}
cpu_of_times() {   # cpu_of_times FILE -> seconds (second line of `times`: children)
    python3 - "$1" <<'PY'
import re, sys
u, s = open(sys.argv[1]).read().splitlines()[1].split()
def sec(x):
    m = re.fullmatch(r"(\d+)m([\d.]+)s", x)
    return int(m.group(1)) * 60 + float(m.group(2))
print(f"{sec(u) + sec(s):.6f}")
PY
}

# run_wrk SCENARIO PORT SECONDS OUT: wrk pinned to LOAD_CPU, in the background + wait
# so a signal to the script runs the cleanup trap at once.
# A script may set H2LOAD_ARGS (from wrk_args) instead of WRK_ARGS: the load is then h2load's
# (HTTP/2), and its summary is rewritten into the lines of wrk's that `measure` reads.
run_wrk() {
    local scenario=$1 port=$2 secs=$3 out=$4
    WRK_ARGS=() H2LOAD_ARGS=()
    wrk_args "$scenario" "$port"
    if (( ${#H2LOAD_ARGS[@]} > 0 )); then
        run_h2load "$secs" "$out"
        return
    fi
    taskset -c "$LOAD_CPU" wrk -t1 "-c$CONNECTIONS" "-d${secs}s" --latency --timeout 8 \
        "${WRK_ARGS[@]}" > "$out" 2>&1 &
    LOAD_PID=$!
    local rc=0
    wait "$LOAD_PID" || rc=$?
    LOAD_PID=""
    return $rc
}

# run_h2load SECONDS OUT: h2load pinned to LOAD_CPU with H2LOAD_ARGS for SECONDS; OUT gets its
# output with wrk's "N requests in Xs" line (succeeded requests) and, if any request failed,
# a "Socket errors" line, which `measure` reads.
run_h2load() {
    local secs=$1 out=$2 rc=0
    taskset -c "$LOAD_CPU" h2load -t1 "-c$CONNECTIONS" -D "$secs" "${H2LOAD_ARGS[@]}" \
        > "$out.h2load" 2>&1 &
    LOAD_PID=$!
    wait "$LOAD_PID" || rc=$?
    LOAD_PID=""
    python3 - "$out.h2load" > "$out" <<'PY' || rc=1
import re, sys
text = open(sys.argv[1]).read()
print(text)
done = re.search(r"finished in ([\d.]+)s", text)
counts = re.search(r"requests: \d+ total, \d+ started, \d+ done, (\d+) succeeded, (\d+) failed, (\d+) errored", text)
if not (done and counts):
    sys.exit("cannot parse h2load's output")
print(f"{counts.group(1)} requests in {done.group(1)}s")
if int(counts.group(2)) or int(counts.group(3)):
    print(f"Socket errors: {counts.group(2)} failed, {counts.group(3)} errored")
PY
    return $rc
}

# measure NAME SCENARIO RUN PORT: one fresh server, warmup, measured wrk run. Appends
# the row to $TMP/row.tsv (and its "other load" to $TMP/row.other). Returns non-zero
# on failure.
measure() {
    local name=$1 scenario=$2 run=$3 port=$4 ok=1 before after busy0 total0 busy1 total1 wrk_cpu0 wrk_cpu1
    : > "$TMP/row.tsv"
    BENCH_SCENARIO=$scenario
    start_server "$name" "$port" || return 1
    if (( WARMUP > 0 )) && ! run_wrk "$scenario" "$port" "$WARMUP" "$TMP/warmup.out"; then
        log "run $run $name $scenario: warmup wrk failed:"; cat "$TMP/warmup.out" >&2; ok=0
    fi
    if (( ok )); then
        children_cpu "$TMP/times0"
        read -r busy0 total0 < <(busy_ticks)
        before=$(cpu_ticks "$SERVER_PID") || ok=0
    fi
    if (( ok )) && ! run_wrk "$scenario" "$port" "$DURATION" "$TMP/wrk.out"; then
        log "run $run $name $scenario: wrk failed:"; cat "$TMP/wrk.out" >&2; ok=0
    fi
    if (( ok )); then
        after=$(cpu_ticks "$SERVER_PID") || { log "run $run $name $scenario: server died during the run"; ok=0; }
        read -r busy1 total1 < <(busy_ticks)
        children_cpu "$TMP/times1"
    fi
    if (( ok )); then
        wrk_cpu0=$(cpu_of_times "$TMP/times0"); wrk_cpu1=$(cpu_of_times "$TMP/times1")
        python3 - "$name" "$scenario" "$run" "$CLK_TCK" "$TMP/wrk.out" $before $after \
            "$wrk_cpu0" "$wrk_cpu1" $busy0 $total0 $busy1 $total1 "$(nproc)" "$TMP/row.other" \
            > "$TMP/row.tsv" 2> "$TMP/row.err" <<'PY' || ok=0
import re, sys
name, scenario, run, tck, path = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]
u0, s0, u1, s1 = map(int, sys.argv[6:10])
wrk_cpu = float(sys.argv[11]) - float(sys.argv[10])
busy0, total0, busy1, total1, ncpu = map(int, sys.argv[12:17])
out = open(path).read()
m = re.search(r"(\d+) requests in ([\d.]+)(us|ms|s|m)\b", out)
if not m:
    sys.exit(f"run {run} {name} {scenario}: cannot parse wrk output:\n{out}")
reqs = int(m.group(1))
secs = float(m.group(2)) * {"us": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0}[m.group(3)]
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
if bad:
    sys.exit(f"run {run} {name} {scenario}: {bad.group(1)} non-2xx responses (of {reqs})")
err = re.search(r"Socket errors: .*", out)
if err:
    sys.exit(f"run {run} {name} {scenario}: wrk {err.group(0)}")
if reqs == 0:
    sys.exit(f"run {run} {name} {scenario}: no requests completed")
def lat(p):
    m = re.search(rf"^\s*{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.M)
    return float(m.group(1)) * {"us": 1, "ms": 1e3, "s": 1e6}[m.group(2)] if m else float("nan")
u, st = u1 - u0, s1 - s0
cpu = (u + st) / tck
# CPU used by everything else on the machine in the window, in % of one core:
# all CPUs' busy time minus the server's and wrk's.
window = (total1 - total0) / ncpu / tck
other = 100 * ((busy1 - busy0) / tck - cpu - wrk_cpu) / window if window > 0 else float("nan")
open(sys.argv[17], "w").write(f"{other:.0f}\n")
print(f"{name}\t{scenario}\t{run}\t{reqs}\t{secs}\t{u}\t{st}\t{lat(50):.1f}\t{lat(99):.1f}\t{100 * wrk_cpu / secs:.1f}\t{other:.1f}")
print(f"run {run} {name:17s} {scenario:14s} {reqs / secs:12,.0f} req/s  server cpu {100 * cpu / secs:5.1f}%  "
      f"{reqs / cpu if cpu else float('nan'):12,.0f} req/cpu-s  {u / tck * 1e9 / reqs:7.1f} user ns/req  "
      f"{st / tck * 1e9 / reqs:7.1f} sys ns/req  wrk cpu {100 * wrk_cpu / secs:5.1f}%  other {other:5.1f}%",
      file=sys.stderr)
PY
        cat "$TMP/row.err" >&2
    fi
    if [[ -s $TMP/server.err ]]; then
        log "run $run $name $scenario: server stderr:"; head -n 20 "$TMP/server.err" >&2
    fi
    stop_server
    (( ok ))
}

# bench_run_all: every run x server (order rotated per run) x scenario into
# $TMP/results.tsv; sets FAILURES.
bench_run_all() {
    local n k run name scenario attempt port other start=0
    printf 'server\tscenario\trun\trequests\tseconds\tutime_ticks\tstime_ticks\tp50_us\tp99_us\twrk_cpu_pct\tother_cpu_pct\n' > "$TMP/results.tsv"
    FAILURES=0
    n=${#SERVER_LIST[@]}
    for ((run = 1; run <= RUNS; run++)); do
        for ((k = 0; k < n; k++)); do
            name=${SERVER_LIST[$(( (k + run - 1) % n ))]}   # rotate the order per run
            for scenario in "${SCENARIO_LIST[@]}"; do
                # A measurement during which other processes used more than 2 x QUIET_PCT %
                # of a core is repeated (at most BUSY_RETRIES times), then kept as is.
                for ((attempt = 0; ; attempt++)); do
                    port=$(( PORT_BASE + start % 600 )); start=$((start + 1))
                    wait_quiet
                    if ! measure "$name" "$scenario" "$run" "$port"; then
                        FAILURES=$((FAILURES + 1)); break
                    fi
                    other=$(cat "$TMP/row.other" 2>/dev/null || echo 0)
                    if (( QUIET_WAIT > 0 && other > 2 * QUIET_PCT && attempt < BUSY_RETRIES )); then
                        log "run $run $name $scenario: other processes used ${other}% of a core during the window: repeating"
                        continue
                    fi
                    cat "$TMP/row.tsv" >> "$TMP/results.tsv"
                    break
                done
            done
        done
    done
}

# bench_report_only FILE: set SERVER_LIST, SCENARIO_LIST and RUNS from kept raw figures
# (restricted to SERVERS and SCENARIOS, in their order) and print the table.
bench_report_only() {
    [[ -f $1 ]] || die "REPORT_ONLY: no such file '$1'"
    read -r -a SCENARIO_LIST <<< "$(python3 - "$1" $SCENARIOS <<'PY'
import csv, sys
want = sys.argv[2:]
seen = {r["scenario"] for r in csv.DictReader(open(sys.argv[1]), delimiter="\t")}
print(" ".join(s for s in want if s in seen))
PY
)"
    # Servers in the order of the file, restricted to SERVERS.
    read -r -a SERVER_LIST <<< "$(python3 - "$1" $SERVERS <<'PY'
import csv, sys
want, seen = sys.argv[2:], []
for r in csv.DictReader(open(sys.argv[1]), delimiter="\t"):
    if r["server"] in want and r["server"] not in seen:
        seen.append(r["server"])
print(" ".join(sorted(seen, key=want.index)))
PY
)"
    RUNS=$(python3 -c 'import csv,sys,collections; c=collections.Counter((r["server"],r["scenario"]) for r in csv.DictReader(open(sys.argv[1]),delimiter="\t")); print(max(c.values()) if c else 0)' "$1")
    report "$1"
}

# report TSV: the markdown table of the medians (and best runs) on stdout, and the chart
# of the same medians (bench_chart).
report() {
python3 - "$1" "$CLK_TCK" "$RUNS" "$DURATION" "$CONNECTIONS" "$REPORT_TITLE" "$REPORT_BASELINES" \
    "$REPORT_USER_BASELINES" "$REPORT_LABELS" "$REPORT_NO_P99" "$TMP/medians.tsv" \
    "${SCENARIO_LIST[*]}" "${SERVER_LIST[@]}" <<'PY'
import csv, math, statistics, sys
path, tck, runs, dur, conns, title = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
bases, user_bases = sys.argv[7].split(), sys.argv[8].split()
label = dict(kv.split("=", 1) for kv in sys.argv[9].split(";") if kv)
no_p99 = set(sys.argv[10].split())
medians_path = sys.argv[11]
scenarios = sys.argv[12].split()
servers = sys.argv[13:]
rows = {}
with open(path) as f:
    for r in csv.DictReader(f, delimiter="\t"):
        n, s = int(r["requests"]), float(r["seconds"])
        u, st = int(r["utime_ticks"]), int(r["stime_ticks"])
        cpu = (u + st) / tck
        rows.setdefault((r["server"], r["scenario"]), []).append({
            "rps": n / s,
            "cpu_pct": 100 * cpu / s,
            "per_cpu": n / cpu if cpu else float("nan"),
            "user_ns": u / tck * 1e9 / n,
            "sys_ns": st / tck * 1e9 / n,
            "p99": float(r["p99_us"]) if r["scenario"] not in no_p99 else float("nan"),
            "wrk_pct": float(r["wrk_cpu_pct"]),
            "other": float(r["other_cpu_pct"]),
        })
med = {k: {f: statistics.median(x[f] for x in v) for f in v[0]} for k, v in rows.items()}
best = {k: {"per_cpu": max(x["per_cpu"] for x in v)} for k, v in rows.items()}
def ratio(name, scen, base, field, table=med):
    a, b = table.get((name, scen)), table.get((base, scen))
    if not a or not b or not b[field]:
        return "–"
    return f"{a[field] / b[field]:.2f}"
model = "unknown CPU"
try:
    for line in open("/proc/cpuinfo"):
        if line.startswith("model name"):
            model = line.split(":", 1)[1].strip(); break
except OSError:
    pass
headline = (f"{title}, wrk -t1 -c{conns}, {dur} s measured per run, median of {runs} run(s); "
            f"server on 1 core with 1 worker, wrk on the other ({model}, loopback).")
print(headline)
print()
# The same medians for benches/chart.py: a failed measurement is an empty cell.
with open(medians_path, "w") as f:
    f.write(f"# {headline}\n")
    f.write("scenario\tserver\treq per server CPU-s (higher is better)\tuser ns/req (lower is better)\n")
    for scen in scenarios:
        for name in servers:
            x = med.get((name, scen))
            f.write(f"{label.get(scen, scen)}\t{name}\t" + (f"{x['per_cpu']:.0f}\t{x['user_ns']:.1f}\n" if x else "\t\n"))
vs = "".join(f" | vs {b}" for b in bases)
uvs = "".join(f" | vs {b}" for b in user_bases)
print(f"| scenario | server | req/s | server CPU | req per server CPU-s{vs} | best run: req per CPU-s{vs} "
      f"| user ns/req{uvs} | sys ns/req | p99 latency | wrk CPU | other load (max) | runs ok |")
ncols = 12 + 2 * len(bases) + len(user_bases)
print("|---|---|" + "---:|" * (ncols - 2))
for scen in scenarios:
    for name in servers:
        x = med.get((name, scen))
        if not x:
            print(f"| {label.get(scen, scen)} | {name} | failed |" + " |" * (ncols - 4) + f" 0/{runs} |")
            continue
        p99 = f"{x['p99'] / 1000:.2f} ms" if not math.isnan(x["p99"]) else "–"
        print(f"| {label.get(scen, scen)} | {name} | {x['rps']:,.0f} | {x['cpu_pct']:.0f}% | {x['per_cpu']:,.0f} "
              + "".join(f"| {ratio(name, scen, b, 'per_cpu')} " for b in bases)
              + f"| {best[(name, scen)]['per_cpu']:,.0f} "
              + "".join(f"| {ratio(name, scen, b, 'per_cpu', best)} " for b in bases)
              + f"| {x['user_ns']:.0f} "
              + "".join(f"| {ratio(name, scen, b, 'user_ns')} " for b in user_bases)
              + f"| {x['sys_ns']:.0f} | {p99} | {x['wrk_pct']:.0f}% "
              f"| {max(r['other'] for r in rows[(name, scen)]):.0f}% | {len(rows[(name, scen)])}/{runs} |")
print()
print("req per server CPU-s = requests / (utime+stime delta of the server process); vs X = server median / X median "
      "(higher is better for req per CPU-s, lower is better for user ns/req). A server CPU well under 100% "
      "means wrk, not the server, was the limit. 'best run' = the run with the most requests per server "
      "CPU-s (this VM's slow phases only ever add cost, so the best run is the least disturbed one). wrk CPU is wrk's own user+system time; other load = busy time "
      "of all CPUs minus the server's and wrk's, in % of one core (another job on the machine, or kernel work "
      "not charged to either)." + (" wrk's latency histogram is not meaningful with pipelining, so no p99 there." if no_p99 & set(scenarios) else ""))
PY
bench_chart "$TMP/medians.tsv"
}

# bench_chart MEDIANS_TSV: draw the medians (benches/chart.py: requests or messages per
# server CPU-s and user ns, a panel per scenario, a bar per server) into CHART, by default
# benches/charts/<script>.svg; CHART= (empty) draws none. CHART_NOTE replaces the line
# under the title (by default when and at which commit the figures were measured).
bench_chart() {
    local out=${CHART-$BENCH_DIR/charts/${BENCH_NAME%.sh}.svg} note
    [[ -n $out ]] || return 0
    if [[ -n ${CHART_NOTE:-} ]]; then
        note=$CHART_NOTE
    elif [[ -n ${REPORT_ONLY:-} ]]; then
        note="figures kept in $(basename "$REPORT_ONLY"); drawn $(date -u '+%Y-%m-%d %H:%M') UTC"
    else
        note="measured $(date -u '+%Y-%m-%d %H:%M') UTC, nanoapi at $(git -C "$BENCH_DIR" describe --always --dirty 2>/dev/null || echo '?')"
    fi
    mkdir -p "$(dirname "$out")" &&
        python3 "$BENCH_DIR/chart.py" --subtitle "$note" "$1" "$out" &&
        log "chart: $out" || log "chart: could not write $out"
}

# bench_check_measure_report LABEL: for scripts with a `verify_server NAME` hook (app.sh,
# compression.sh): checks every server's answers (a server that answers wrong is dropped,
# not measured; VERIFY_ONLY=1 stops there), measures the rest (bench_run_all), keeps the
# raw figures (RESULTS) and prints the report. Exits non-zero if a check or a run failed.
bench_check_measure_report() {
    local label=$1 name verify_failures=0
    log "checking every server's answers ..."
    for name in "${SERVER_LIST[@]}"; do
        if ! verify_server "$name"; then
            log "*** $name answered wrong (above): not measured."
            drop_server "$name"; verify_failures=$((verify_failures + 1))
        fi
    done
    read -r -a SERVER_LIST <<< "$SERVERS"
    if [[ -n ${VERIFY_ONLY:-} ]]; then
        (( verify_failures == 0 )) && log "all answers right"
        exit $(( verify_failures > 0 ))
    fi
    (( ${#SERVER_LIST[@]} > 0 )) || die "no server left to benchmark"
    log "$label: runs=$RUNS duration=${DURATION}s warmup=${WARMUP}s connections=$CONNECTIONS server_cpu=$SERVER_CPU load_cpu=$LOAD_CPU servers=${SERVER_LIST[*]} scenarios=${SCENARIO_LIST[*]}"
    bench_run_all
    FAILURES=$((FAILURES + verify_failures))
    [[ -n ${RESULTS:-} ]] && cp "$TMP/results.tsv" "$RESULTS" && log "raw results: $RESULTS"
    report "$TMP/results.tsv"
    if (( FAILURES > 0 )); then
        log "$BENCH_NAME: $FAILURES measurement(s) or answer check(s) failed"
        exit 1
    fi
}
