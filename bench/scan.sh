#!/usr/bin/env bash
# Benchmark: `synccheck scan --json` against `synccheck sim`, side by side with the
# libimobiledevice commands that read the same facts, and 8 simulated phones against 1.
# Rerun with `bash bench/scan.sh`. Writes bench/results/ (hyperfine JSON and markdown, and
# summary.md, the table docs/benchmarks.md quotes).
#
# Environment knobs (optional): BENCH_RUNS (minimum runs per command, default 50),
# BENCH_WARMUP (default 3), BENCH_SIM_TIMEOUT (seconds to wait for a simulator, default 60).
set -euo pipefail
cd "$(dirname "$0")/.."

RUNS=${BENCH_RUNS:-50}
WARMUP=${BENCH_WARMUP:-3}
SIM_TIMEOUT=${BENCH_SIM_TIMEOUT:-60}
OUT=bench/results
SNAP=fixtures/healthy.plist

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# 1. Tools, then the profiling build (release code with line tables, for perf).
need=()
command -v hyperfine >/dev/null 2>&1 || need+=(hyperfine)
command -v ideviceinfo >/dev/null 2>&1 || need+=(libimobiledevice-utils)
command -v idevicediagnostics >/dev/null 2>&1 || need+=(libimobiledevice-utils)
if [ ${#need[@]} -gt 0 ]; then
  echo "bench: installing ${need[*]}" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v python3 >/dev/null 2>&1 || { echo "bench: python3 is needed for the summary" >&2; exit 2; }

cargo build --profile profiling --locked >&2

TMP=$(mktemp -d "${TMPDIR:-/tmp}/synccheck-bench.XXXXXX")
PIDS=()
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do
    kill "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# Benchmark a private copy, so a rebuild in the working tree cannot swap the binary mid-run.
BIN="$TMP/synccheck"
cp target/profiling/synccheck "$BIN"

# 2. Two simulators: one phone, and eight (the same snapshot; the simulator gives each its own UDID).
# start_sim NAME SNAPSHOT_COUNT -> sets ADDR_<NAME> to the printed USBMUXD_SOCKET_ADDRESS value.
start_sim() {
  local name=$1 count=$2 args=() i line pid
  shift 2
  for ((i = 0; i < count; i++)); do args+=(--snapshot "$SNAP"); done
  args+=("$@")
  "$BIN" sim "${args[@]}" --socket "$TMP/$name.sock" >"$TMP/$name.out" 2>"$TMP/$name.err" &
  pid=$!
  PIDS+=("$pid")
  printf -v "PID_$name" '%s' "$pid"
  local deadline=$((SECONDS + SIM_TIMEOUT))
  while :; do
    line=$(head -n 1 "$TMP/$name.out" 2>/dev/null || true)
    if [[ $line == USBMUXD_SOCKET_ADDRESS=* ]]; then
      printf -v "ADDR_$name" '%s' "${line#USBMUXD_SOCKET_ADDRESS=}"
      echo "bench: sim $name ($count phone(s)) pid $pid at ${line#USBMUXD_SOCKET_ADDRESS=}" >&2
      return 0
    fi
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "bench: sim $name exited before printing its address:" >&2
      cat "$TMP/$name.err" >&2
      exit 1
    fi
    if ((SECONDS >= deadline)); then
      echo "bench: sim $name printed no address within ${SIM_TIMEOUT}s" >&2
      exit 1
    fi
    sleep 0.05
  done
}
start_sim one 1
start_sim eight 8
# The same pair with a per-reply delay, a stand-in for a phone's own round trip over USB (a real
# phone does its TLS work on its own CPU; a simulated one competes with the client for ours).
LATENCY_MS=${BENCH_LATENCY_MS:-3}
start_sim one_lat 1 --fault "latency=$LATENCY_MS"
start_sim eight_lat 8 --fault "latency=$LATENCY_MS"

# Sanity: both answer, and the scan sees 1 and 8 phones, before anything is timed.
for pair in "one:1" "eight:8"; do
  name=${pair%%:*} want=${pair##*:}
  addr_var="ADDR_$name"
  got=$({ USBMUXD_SOCKET_ADDRESS=${!addr_var} "$BIN" scan --json || [ $? -eq 1 ]; } |
    python3 -c 'import json,sys; print(len(json.load(sys.stdin)["devices"]))') || {
    echo "bench: synccheck scan --json against sim $name failed (exit code above 1)" >&2
    exit 1
  }
  if [ "$got" != "$want" ]; then
    echo "bench: scan against sim $name saw $got phone(s), expected $want" >&2
    exit 1
  fi
done
USBMUXD_SOCKET_ADDRESS=$ADDR_one ideviceinfo -k ProductVersion >/dev/null

# 3. hyperfine. Other work on the machine (a build, tests) skews the figures: the load average
# is recorded in the summary.
load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
mkdir -p "$OUT"
E1="USBMUXD_SOCKET_ADDRESS=$ADDR_one"
E8="USBMUXD_SOCKET_ADDRESS=$ADDR_eight"
DU="$E1 ideviceinfo -q com.apple.disk_usage >/dev/null"
BA="$E1 ideviceinfo -q com.apple.mobile.battery >/dev/null"
PV="$E1 ideviceinfo -k ProductVersion >/dev/null"
IO="$E1 idevicediagnostics ioregentry AppleSmartBattery >/dev/null"
# `scan` exits 1 when a check warns or fails (a finding, not an error); 2 and up is a failure.
SCAN_OK='|| [ $? -eq 1 ]'
HF=(hyperfine --warmup "$WARMUP" --min-runs "$RUNS" --style basic)

"${HF[@]}" \
  --export-json "$OUT/vs-libimobiledevice.json" \
  --export-markdown "$OUT/vs-libimobiledevice.md" \
  -n "synccheck scan --json" "$E1 $BIN scan --json >/dev/null $SCAN_OK" \
  -n "libimobiledevice set (4 commands)" "$DU; $BA; $PV; $IO" \
  -n "ideviceinfo -q com.apple.disk_usage" "$DU" \
  -n "ideviceinfo -q com.apple.mobile.battery" "$BA" \
  -n "ideviceinfo -k ProductVersion" "$PV" \
  -n "idevicediagnostics ioregentry AppleSmartBattery" "$IO"

# CPU time the simulators spend (clock ticks from /proc), to show where the time goes: the
# simulated phones run on this machine's cores, unlike real phones.
sim_ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
t1=$(sim_ticks "$PID_one") t8=$(sim_ticks "$PID_eight")
"${HF[@]}" \
  --export-json "$OUT/devices.json" \
  --export-markdown "$OUT/devices.md" \
  -n "synccheck scan --json, 1 device" "$E1 $BIN scan --json >/dev/null $SCAN_OK" \
  -n "synccheck scan --json, 8 devices" "$E8 $BIN scan --json >/dev/null $SCAN_OK"

echo "$(($(sim_ticks "$PID_one") - t1)) $(($(sim_ticks "$PID_eight") - t8)) $(getconf CLK_TCK)" >"$OUT/sim-cpu.txt"

"${HF[@]}" \
  --export-json "$OUT/devices-latency.json" \
  --export-markdown "$OUT/devices-latency.md" \
  -n "synccheck scan --json, 1 device, latency" "USBMUXD_SOCKET_ADDRESS=$ADDR_one_lat $BIN scan --json >/dev/null $SCAN_OK" \
  -n "synccheck scan --json, 8 devices, latency" "USBMUXD_SOCKET_ADDRESS=$ADDR_eight_lat $BIN scan --json >/dev/null $SCAN_OK"

# 4. The summary: ratios of means measured in the same hyperfine run, and the machine.
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- src Cargo.toml Cargo.lock 2>/dev/null || commit="$commit + uncommitted changes"
export BENCH_COMMIT=$commit BENCH_RUNS_MIN=$RUNS BENCH_WARMUP_N=$WARMUP BENCH_LOAD=$load BENCH_LATENCY_MS=$LATENCY_MS
python3 - "$OUT" >"$OUT/summary.md" <<'PY'
import json, os, platform, sys, datetime, re

out = sys.argv[1]
def load(name):
    with open(os.path.join(out, name)) as f:
        return {r["command"]: r for r in json.load(f)["results"]}

vs = load("vs-libimobiledevice.json")
dev = load("devices.json")

def ms(r):
    return f'{r["mean"] * 1000:.1f} ± {r["stddev"] * 1000:.1f} ms'

def cpu():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"

def os_name():
    try:
        with open("/etc/os-release") as f:
            m = re.search(r'^PRETTY_NAME="?([^"\n]*)', f.read(), re.M)
            if m:
                return m.group(1)
    except OSError:
        pass
    return platform.system()

scan = vs["synccheck scan --json"]
libset = vs["libimobiledevice set (4 commands)"]
one = dev["synccheck scan --json, 1 device"]
eight = dev["synccheck scan --json, 8 devices"]
r_lib = libset["mean"] / scan["mean"]
r_dev = eight["mean"] / one["mean"]
ok = lambda b: "met" if b else "**missed**"
runs = lambda r: len(r["times"])

print("| ratio (mean times, same hyperfine run) | value | target | |")
print("|---|---|---|---|")
print(f"| libimobiledevice set / `synccheck scan --json` | **{r_lib:.1f}×** | ≥ 5× | {ok(r_lib >= 5)} |")
print(f"| 8 devices / 1 device (`synccheck scan --json`), CPU-bound: phones share the 2 CPUs | **{r_dev:.2f}×** | < 2× | {ok(r_dev < 2)} |")
lat = load("devices-latency.json")
l1 = lat["synccheck scan --json, 1 device, latency"]
l8 = lat["synccheck scan --json, 8 devices, latency"]
r_lat = l8["mean"] / l1["mean"]
lat_ms = os.environ.get("BENCH_LATENCY_MS", "3")
print(f"| 8 devices / 1 device, each phone reply delayed {lat_ms} ms (`--fault latency={lat_ms}`) | **{r_lat:.2f}×** | < 2× | {ok(r_lat < 2)} |")
print()
print("| command (against `synccheck sim`) | mean ± σ | runs | × `synccheck scan` |")
print("|---|---|---|---|")
for name, r in vs.items():
    print(f"| {name} | {ms(r)} | {runs(r)} | {r['mean'] / scan['mean']:.1f}× |")
print()
print("| `synccheck scan --json` (separate run) | mean ± σ | runs | × 1 device |")
print("|---|---|---|---|")
for name, r in dev.items():
    print(f"| {name.split(', ', 1)[1]} | {ms(r)} | {runs(r)} | {r['mean'] / one['mean']:.2f}× |")
for name, r in lat.items():
    print(f"| {name.split(', ', 1)[1]} | {ms(r)} | {runs(r)} | {r['mean'] / l1['mean']:.2f}× |")
try:
    with open(os.path.join(out, "sim-cpu.txt")) as f:
        s1, s8, hz = (int(x) for x in f.read().split())
    per = lambda ticks, r: ticks / hz / (runs(r) + int(os.environ.get("BENCH_WARMUP_N", "0"))) * 1000
    cli = lambda r: (r["user"] + r["system"]) * 1000
    print()
    print("CPU per scan (client user+system from hyperfine; simulator from /proc): "
          f"1 device: client {cli(one):.1f} ms, simulator {per(s1, one):.1f} ms; "
          f"8 devices: client {cli(eight):.1f} ms, simulator {per(s8, eight):.1f} ms.")
except (OSError, ValueError):
    pass
print()
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
print(f"Machine: {os.cpu_count()} CPUs (nproc {len(os.sched_getaffinity(0))}), {cpu()}, "
      f"{os_name()}, kernel {platform.release()}. "
      f"Date: {now}. synccheck {os.environ.get('BENCH_COMMIT', 'unknown')}. "
      f"hyperfine, {os.environ.get('BENCH_WARMUP_N')} warmup runs, at least "
      f"{os.environ.get('BENCH_RUNS_MIN')} timed runs per command; the simulator runs on the same machine. "
      f"Load average when timing began: {os.environ.get('BENCH_LOAD')}.")
PY

echo >&2
cat "$OUT/summary.md"
