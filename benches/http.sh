#!/usr/bin/env bash
# HTTP benchmark: nanoapi's bench_raw example (io_uring and poll backends) against
# hyper 1.x (tokio current-thread) and may_minihttp, TechEmpower's plaintext and JSON
# routes, one server core, one load core (wrk), loopback.
#
#   bash benches/http.sh [runs=5] [duration=10]
#
# For every run, every server (order rotated per run) and every scenario, a fresh
# server process is started pinned to SERVER_CPU with one worker, warmed up for
# WARMUP seconds with the same wrk load, then measured with
# `wrk -t1 -c64 -d<duration> --latency` pinned to LOAD_CPU. The server's utime and
# stime (/proc/<pid>/stat fields 14 and 15, whole process) are read right before
# and right after the measured wrk run. A run fails if wrk reports any non-2xx
# response or any socket error. Medians of the runs are printed as a markdown
# table on stdout; progress and per-run figures go to stderr.
#
# Scenarios:
#   plaintext      GET /plaintext, one request in flight per connection
#   plaintext-p16  GET /plaintext, 16 requests pipelined per write (benches/pipeline.lua)
#   json           GET /json, one request in flight per connection
#
# Environment knobs (all optional):
#   SERVERS="hyper may_minihttp nanoapi-uring nanoapi-poll"
#   SCENARIOS="plaintext plaintext-p16 json"
#   CONNECTIONS=64 DEPTH=16 WARMUP=2
#   SERVER_CPU=0 LOAD_CPU=1
#   PORT_BASE=19300                one port per server start
#   QUIET_WAIT=120                 before each server start, wait up to this many
#                                  seconds for the machine to be idle (other load
#                                  < QUIET_PCT % of one core over 1 s); 0 = don't wait
#   QUIET_PCT=10
#   BUSY_RETRIES=2                 a measurement whose window saw other load above
#                                  2 x QUIET_PCT % of a core is repeated up to this often
#   NO_BUILD=1                     use already-built binaries
#   RESULTS=path.tsv               also keep the raw per-run figures
#   REPORT_ONLY=path.tsv           measure nothing: print the table for raw figures
#                                  kept earlier with RESULTS=
#
# CLK_TCK is 100 here (10 ms ticks): use duration >= 10 s for real numbers. The
# user/system split is sampled by the scheduler tick, so user ns/req is the noisiest
# column.
set -euo pipefail

RUNS=${1:-5}
DURATION=${2:-10}
WARMUP=${WARMUP:-2}
CONNECTIONS=${CONNECTIONS:-64}
DEPTH=${DEPTH:-16}
SERVER_CPU=${SERVER_CPU:-0}
LOAD_CPU=${LOAD_CPU:-1}
PORT_BASE=${PORT_BASE:-19300}
SERVERS=${SERVERS:-"hyper may_minihttp nanoapi-uring nanoapi-poll"}
SCENARIOS=${SCENARIOS:-"plaintext plaintext-p16 json"}
QUIET_WAIT=${QUIET_WAIT:-120}
QUIET_PCT=${QUIET_PCT:-10}
BUSY_RETRIES=${BUSY_RETRIES:-2}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

die() { echo "http.sh: $*" >&2; exit 1; }
log() { echo "$*" >&2; }

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "runs must be a positive integer (got '$RUNS')"
[[ $DURATION =~ ^[1-9][0-9]*$ ]] || die "duration must be a whole number of seconds (got '$DURATION')"
[[ $WARMUP =~ ^[0-9]+$ ]] || die "WARMUP must be a whole number of seconds (got '$WARMUP')"
command -v taskset >/dev/null || die "taskset not found (util-linux)"
command -v python3 >/dev/null || die "python3 not found"
command -v wrk >/dev/null || die "wrk not found (Debian: apt-get install -y wrk)"
(( $(nproc) >= 2 )) || die "needs at least 2 CPUs (server and load are pinned to different cores)"
CLK_TCK=$(getconf CLK_TCK)
PIPELINE_LUA=$ROOT/benches/pipeline.lua
[[ -f $PIPELINE_LUA ]] || die "missing $PIPELINE_LUA"

# wrk keeps one fd per connection; the servers one per connection too.
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

TMP=$(mktemp -d "${TMPDIR:-/tmp}/nanoapi-http.XXXXXX")
SERVER_PID=""
stop_server() {
    if [[ -n $SERVER_PID ]] && kill -0 "$SERVER_PID" 2>/dev/null; then
        kill -TERM "$SERVER_PID" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$SERVER_PID" 2>/dev/null || break; sleep 0.05; done
        kill -KILL "$SERVER_PID" 2>/dev/null || true
        wait "$SERVER_PID" 2>/dev/null || true
    fi
    SERVER_PID=""
}
LOAD_PID=""
cleanup() {
    if [[ -n $LOAD_PID ]]; then kill -KILL "$LOAD_PID" 2>/dev/null || true; wait "$LOAD_PID" 2>/dev/null || true; fi
    stop_server
    rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

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

# ---- report -------------------------------------------------------------------------
# report TSV: the markdown table of the medians (and best runs) on stdout.
report() {
python3 - "$1" "$CLK_TCK" "$RUNS" "$DURATION" "$CONNECTIONS" "$DEPTH" \
    "${SCENARIO_LIST[*]}" "${SERVER_LIST[@]}" <<'PY'
import csv, math, statistics, sys
path, tck, runs, dur, conns, depth = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5], sys.argv[6]
scenarios = sys.argv[7].split()
servers = sys.argv[8:]
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
            "p99": float(r["p99_us"]) if r["scenario"] != "plaintext-p16" else float("nan"),
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
label = {"plaintext": "plaintext", "plaintext-p16": f"plaintext, pipelined x{depth}", "json": "json"}
print(f"HTTP, wrk -t1 -c{conns}, {dur} s measured per run, median of {runs} run(s); "
      f"server on 1 core with 1 worker, wrk on the other ({model}, loopback).")
print()
print("| scenario | server | req/s | server CPU | req per server CPU-s | vs hyper | vs may_minihttp "
      "| best run: req per CPU-s | vs hyper | vs may_minihttp "
      "| user ns/req | vs hyper | sys ns/req | p99 latency | wrk CPU | other load (max) | runs ok |")
print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for scen in scenarios:
    for name in servers:
        x = med.get((name, scen))
        if not x:
            print(f"| {label[scen]} | {name} | failed | | | | | | | | | | | | | | 0/{runs} |")
            continue
        p99 = f"{x['p99'] / 1000:.2f} ms" if not math.isnan(x["p99"]) else "–"
        print(f"| {label[scen]} | {name} | {x['rps']:,.0f} | {x['cpu_pct']:.0f}% | {x['per_cpu']:,.0f} "
              f"| {ratio(name, scen, 'hyper', 'per_cpu')} | {ratio(name, scen, 'may_minihttp', 'per_cpu')} "
              f"| {best[(name, scen)]['per_cpu']:,.0f} | {ratio(name, scen, 'hyper', 'per_cpu', best)} "
              f"| {ratio(name, scen, 'may_minihttp', 'per_cpu', best)} "
              f"| {x['user_ns']:.0f} | {ratio(name, scen, 'hyper', 'user_ns')} | {x['sys_ns']:.0f} "
              f"| {p99} | {x['wrk_pct']:.0f}% | {max(r['other'] for r in rows[(name, scen)]):.0f}% "
              f"| {len(rows[(name, scen)])}/{runs} |")
print()
print("req per server CPU-s = requests / (utime+stime delta of the server process); vs X = server median / X median "
      "(higher is better for req per CPU-s, lower is better for user ns/req). A server CPU well under 100% "
      "means wrk, not the server, was the limit. 'best run' = the run with the most requests per server "
      "CPU-s (this VM's slow phases only ever add cost, so the best run is the least disturbed one). wrk CPU is wrk's own user+system time; other load = busy time "
      "of all CPUs minus the server's and wrk's, in % of one core (another job on the machine, or kernel work "
      "not charged to either). wrk's latency histogram is not meaningful with pipelining, so no p99 there.")
PY
}

if [[ -n ${REPORT_ONLY:-} ]]; then
    [[ -f $REPORT_ONLY ]] || die "REPORT_ONLY: no such file '$REPORT_ONLY'"
    read -r -a SCENARIO_LIST <<< "$(python3 - "$REPORT_ONLY" $SCENARIOS <<'PY'
import csv, sys
want = sys.argv[2:]
seen = {r["scenario"] for r in csv.DictReader(open(sys.argv[1]), delimiter="\t")}
print(" ".join(s for s in want if s in seen))
PY
)"
    # Servers in the order of the file, restricted to SERVERS.
    read -r -a SERVER_LIST <<< "$(python3 - "$REPORT_ONLY" $SERVERS <<'PY'
import csv, sys
want, seen = sys.argv[2:], []
for r in csv.DictReader(open(sys.argv[1]), delimiter="\t"):
    if r["server"] in want and r["server"] not in seen:
        seen.append(r["server"])
print(" ".join(sorted(seen, key=want.index)))
PY
)"
    RUNS=$(python3 -c 'import csv,sys,collections; c=collections.Counter((r["server"],r["scenario"]) for r in csv.DictReader(open(sys.argv[1]),delimiter="\t")); print(max(c.values()) if c else 0)' "$REPORT_ONLY")
    report "$REPORT_ONLY"
    exit 0
fi

# ---- build ------------------------------------------------------------------
want_nanoapi=0
for s in $SERVERS; do
    case $s in
        hyper|may_minihttp) ;;
        nanoapi-uring|nanoapi-poll) want_nanoapi=1 ;;
        *) die "unknown server '$s' in SERVERS (known: hyper may_minihttp nanoapi-uring nanoapi-poll)" ;;
    esac
done
for s in $SCENARIOS; do
    case $s in
        plaintext|plaintext-p16|json) ;;
        *) die "unknown scenario '$s' in SCENARIOS (known: plaintext plaintext-p16 json)" ;;
    esac
done

PEERS_MANIFEST=benches/peers/Cargo.toml
HYPER=""; MAY=""
if [[ -z ${NO_BUILD:-} ]]; then
    log "building peers (hyper_raw, may_minihttp_raw) ..."
    cargo build --release --manifest-path "$PEERS_MANIFEST" --bin hyper_raw \
        --message-format=json-render-diagnostics > "$TMP/peers.json" || die "building hyper_raw failed"
    HYPER=$(artifact hyper_raw < "$TMP/peers.json")
    # may_minihttp is optional: if it does not build, run without it.
    if cargo build --release --manifest-path "$PEERS_MANIFEST" --bin may_minihttp_raw \
        --message-format=json-render-diagnostics > "$TMP/may.json"; then
        MAY=$(artifact may_minihttp_raw < "$TMP/may.json")
    fi
else
    PEERS_BIN=${CARGO_TARGET_DIR:-benches/peers/target}/release
    HYPER=$PEERS_BIN/hyper_raw
    MAY=$PEERS_BIN/may_minihttp_raw
fi
drop_server() {   # drop_server NAME: remove it from SERVERS
    local kept="" s
    for s in $SERVERS; do [[ $s == "$1" ]] || kept="$kept $s"; done
    SERVERS=$kept
}
[[ -n $HYPER && -x $HYPER ]] || { log "*** hyper_raw not available: skipping hyper (no 'vs hyper' ratios)."; drop_server hyper; }
[[ -n $MAY && -x $MAY ]] || { log "*** may_minihttp_raw not available (build failed?): skipping may_minihttp."; drop_server may_minihttp; }

NANOAPI=""
if (( want_nanoapi )); then
    if [[ -z ${NO_BUILD:-} ]]; then
        log "building nanoapi example bench_raw ..."
        if cargo build --release --example bench_raw \
            --message-format=json-render-diagnostics > "$TMP/nanoapi.json"; then
            NANOAPI=$(artifact bench_raw < "$TMP/nanoapi.json")
        fi
    else
        NANOAPI=${CARGO_TARGET_DIR:-target}/release/examples/bench_raw
    fi
    if [[ -z $NANOAPI || ! -x $NANOAPI ]]; then
        log "*** nanoapi bench_raw example not available: skipping nanoapi-uring and nanoapi-poll."
        NANOAPI=""
        drop_server nanoapi-uring; drop_server nanoapi-poll
    fi
fi
read -r -a SERVER_LIST <<< "$SERVERS"
read -r -a SCENARIO_LIST <<< "$SCENARIOS"
(( ${#SERVER_LIST[@]} > 0 )) || die "no server left to benchmark"

# ---- one measurement -----------------------------------------------------------
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

# start_server NAME PORT: starts it pinned to SERVER_CPU with one worker, waits
# (at most 10 s) until it listens.
start_server() {
    local name=$1 port=$2 addr="127.0.0.1:$2"
    : > "$TMP/server.out"; : > "$TMP/server.err"
    case $name in
        hyper)         taskset -c "$SERVER_CPU" "$HYPER" "$addr" > "$TMP/server.out" 2> "$TMP/server.err" & ;;
        may_minihttp)  taskset -c "$SERVER_CPU" "$MAY" "$addr" > "$TMP/server.out" 2> "$TMP/server.err" & ;;
        nanoapi-uring|nanoapi-poll)
            NANOAPI_HOST=127.0.0.1 NANOAPI_PORT=$port NANOAPI_WORKERS=1 NANOAPI_BACKEND=${name#nanoapi-} \
                taskset -c "$SERVER_CPU" "$NANOAPI" > "$TMP/server.out" 2> "$TMP/server.err" & ;;
    esac
    SERVER_PID=$!   # taskset execs the server, so this is the server's pid
    for _ in $(seq 200); do
        case $name in
            hyper|may_minihttp) grep -q '^listening' "$TMP/server.out" 2>/dev/null && return 0 ;;
            *) port_listening "$port" && return 0 ;;
        esac
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

# cpu_ticks PID: "utime stime" of the whole process, in CLK_TCK ticks.
cpu_ticks() {
    local rest
    rest=$(< "/proc/$1/stat") || return 1
    rest=${rest##*) }                 # drop "pid (comm) "
    set -- $rest                      # $1 = state (field 3), so utime = $12, stime = $13
    echo "${12} ${13}"
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
# so a signal to this script runs the cleanup trap at once.
run_wrk() {
    local scenario=$1 port=$2 secs=$3 out=$4 path=/plaintext
    local -a extra=()
    case $scenario in
        plaintext-p16) extra=(-s "$PIPELINE_LUA") ;;
        json) path=/json ;;
    esac
    # TechEmpower's request headers.
    local accept='text/plain,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7'
    [[ $scenario == json ]] && accept='application/json,text/html;q=0.9,application/xhtml+xml;q=0.9,application/xml;q=0.8,*/*;q=0.7'
    local -a args=(-t1 "-c$CONNECTIONS" "-d${secs}s" --latency --timeout 8
        -H 'Host: tfb-server' -H "Accept: $accept" -H 'Connection: keep-alive'
        "${extra[@]}" "http://127.0.0.1:$port$path")
    [[ $scenario == plaintext-p16 ]] && args+=(-- "$DEPTH")
    taskset -c "$LOAD_CPU" wrk "${args[@]}" > "$out" 2>&1 &
    LOAD_PID=$!
    local rc=0
    wait "$LOAD_PID" || rc=$?
    LOAD_PID=""
    return $rc
}

# measure NAME SCENARIO RUN PORT: one fresh server, warmup, measured wrk run. Appends
# the row to $TMP/row.tsv (and its "other load" to $TMP/row.other). Returns non-zero
# on failure.
measure() {
    local name=$1 scenario=$2 run=$3 port=$4 ok=1 before after busy0 total0 busy1 total1 wrk_cpu0 wrk_cpu1
    : > "$TMP/row.tsv"
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
print(f"run {run} {name:14s} {scenario:14s} {reqs / secs:12,.0f} req/s  server cpu {100 * cpu / secs:5.1f}%  "
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

printf 'server\tscenario\trun\trequests\tseconds\tutime_ticks\tstime_ticks\tp50_us\tp99_us\twrk_cpu_pct\tother_cpu_pct\n' > "$TMP/results.tsv"
failures=0
n=${#SERVER_LIST[@]}
start=0
log "http: runs=$RUNS duration=${DURATION}s warmup=${WARMUP}s connections=$CONNECTIONS depth=$DEPTH server_cpu=$SERVER_CPU load_cpu=$LOAD_CPU servers=${SERVER_LIST[*]} scenarios=${SCENARIO_LIST[*]}"
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
                    failures=$((failures + 1)); break
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

[[ -n ${RESULTS:-} ]] && cp "$TMP/results.tsv" "$RESULTS" && log "raw results: $RESULTS"

report "$TMP/results.tsv"

if (( failures > 0 )); then
    log "http.sh: $failures measurement(s) failed"
    exit 1
fi
