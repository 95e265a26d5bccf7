#!/usr/bin/env bash
# Benchmark: the photo library at real scale over a modelled USB link (issue 16).
#
# For libraries of 1k, 20k and 100k assets at realistic size (`synccheck sim --library-profile
# realistic`: about 7.5 KB an asset, 0.75 GB at 100k, asset rows interleaved with the media-
# analysis tables, the newest assets in the -wal) behind a 30 MB/s, 1 ms link (`--fault
# link=30,1`), side by side in one run per size:
#   (a) `synccheck scan --json`, as this build reads the library (in place, if it has that);
#   (b) `synccheck scan --json --photo-read copy`, the full copy, when the build has that hidden
#       flag (without it, the default is the full copy and (b) is not run);
#   (c) `pymobiledevice3 afc pull` of Photos.sqlite, then of Photos.sqlite-wal (the peer).
# Reported per command: wall time (hyperfine mean ± σ), the library bytes the phone sent and the
# AFC requests and round trips it answered (the simulator's per-connection counters, from its
# debug log line "AFC connection closed"), and peak memory (`/usr/bin/time` max RSS, the largest
# process). Ratios compare each command with the peer measured in the same run.
#
# Rerun with `bash bench/photos.sh`. Writes bench/results/photos-*.{json,md,log,txt} and
# photos-summary.md, which docs/benchmarks.md quotes. The simulator builds each library in a temp
# directory (0.75 GB of disk for 100k assets, while it builds), then serves it from memory.
#
# Knobs: BENCH_SIZES (default "1000 20000 100000"), BENCH_RUNS (timed hyperfine runs per command,
# default 3; as many again are run for the byte and memory counts), BENCH_LINK (MBPS,RTT_MS,
# default 30,1), BENCH_SIM_TIMEOUT (seconds for the simulator to build a library, default 1200),
# PMD3 (pymobiledevice3; default .venv-pmd3/bin/pymobiledevice3, made as .ci/run makes it).
set -euo pipefail
cd "$(dirname "$0")/.."

SIZES=${BENCH_SIZES:-1000 20000 100000}
RUNS=${BENCH_RUNS:-3}
LINK=${BENCH_LINK:-30,1}
SIM_TIMEOUT=${BENCH_SIM_TIMEOUT:-1200}
OUT=bench/results
BASE=fixtures/photos/synced.plist
PMD3_VERSION=11.45.0
PMD3=${PMD3:-$PWD/.venv-pmd3/bin/pymobiledevice3}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# 1. Tools and the profiling build (release code with line tables).
command -v python3 >/dev/null 2>&1 || { echo "bench: python3 is needed" >&2; exit 2; }
[ -x /usr/bin/time ] || { as_root apt-get update -qq; as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null; }
if ! command -v hyperfine >/dev/null 2>&1; then
  echo "bench: installing hyperfine" >&2
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq hyperfine >/dev/null
fi
if ! "$PMD3" version >/dev/null 2>&1; then
  echo "bench: installing pymobiledevice3 $PMD3_VERSION into .venv-pmd3" >&2
  rm -rf .venv-pmd3
  python3 -m venv .venv-pmd3
  .venv-pmd3/bin/pip install -q --disable-pip-version-check "pymobiledevice3==$PMD3_VERSION" >&2
  PMD3=$PWD/.venv-pmd3/bin/pymobiledevice3
fi
cargo build --profile profiling --locked >&2
mkdir -p "$OUT"

TMP=$(mktemp -d "${TMPDIR:-/tmp}/synccheck-bench-photos.XXXXXX")
SIM_PID=
stop_sim() {
  if [ -n "$SIM_PID" ]; then
    kill "$SIM_PID" 2>/dev/null || true
    wait "$SIM_PID" 2>/dev/null || true
    SIM_PID=
  fi
}
cleanup() {
  stop_sim
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A private copy, so a rebuild in the working tree cannot swap the binary mid-run.
BIN="$TMP/synccheck"
cp target/profiling/synccheck "$BIN"
mkdir -p "$TMP/home" "$TMP/pull" "$TMP/db"

# The full copy stays selectable with a hidden flag once the in-place reading lands; a build
# without the flag only copies.
if "$BIN" scan --photo-read copy --help >/dev/null 2>&1; then
  HAVE_COPY_FLAG=1
  OURS_LABEL="synccheck scan (in place)"
else
  HAVE_COPY_FLAG=0
  OURS_LABEL="synccheck scan (full copy; no --photo-read in this build)"
fi
COPY_LABEL="synccheck scan --photo-read copy"
PULL_LABEL="pymobiledevice3 afc pull (Photos.sqlite, -wal)"

PMD3_ENV=(env -u PYMOBILEDEVICE3_USBMUX -u USBMUXD_SOCKET_ADDRESS "HOME=$TMP/home" NO_COLOR=1)
# Each scan records into a throwaway history; `scan` exits 1 when a check warns (a finding).
SCAN_ENV=(env "SYNCCHECK_DB=$TMP/db/history.sqlite")
load=$(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo unknown)
: >"$OUT/photos-runs.txt"
: >"$OUT/photos-sizes.txt"

for n in $SIZES; do
  # 2. The snapshot: the synced fixture with a library of n assets (a tenth waiting at 2.5 MB
  # each, a fiftieth after failed attempts, a thousandth failed, 3 quarantined, half with
  # originals only in iCloud).
  snap="$TMP/photos-$n.plist"
  udid=$(python3 - "$BASE" "$snap" "$n" <<'PY'
import datetime, plistlib, sys
src, dst, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
with open(src, "rb") as f:
    p = plistlib.load(f)
db = p["PhotoLibrary"]["Database"]
db.update(
    Assets=n, Waiting=n // 10, WaitingBytes=n // 10 * 2_500_000, WaitingWithFailedAttempts=n // 50,
    Failed=n // 1000, Quarantined=3, CloudOnlyOriginals=n // 2,
    OldestWaitingAdded=datetime.datetime(2024, 7, 3, 9, 46, 40),
)
with open(dst, "wb") as f:
    plistlib.dump(p, f)
print(p["Lockdown"]["UniqueDeviceID"])
PY
)

  sock="$TMP/photos-$n.sock"
  log="$OUT/photos-sim-$n.log"
  SYNCCHECK_LOG="warn,synccheck_sim=info,synccheck_sim::afc=debug" NO_COLOR=1 \
    "$BIN" sim --snapshot "$snap" --socket "$sock" --library-profile realistic --fault "link=$LINK" \
    >"$TMP/sim-$n.out" 2>"$log" &
  SIM_PID=$!
  started=$SECONDS
  until grep -q "realistic Photos.sqlite ready" "$log" 2>/dev/null; do
    kill -0 "$SIM_PID" 2>/dev/null || { cat "$log" >&2; echo "bench: sim for $n assets exited" >&2; exit 1; }
    ((SECONDS - started < SIM_TIMEOUT)) || { echo "bench: sim for $n assets not ready in ${SIM_TIMEOUT}s" >&2; exit 1; }
    sleep 0.5
  done
  addr=$(sed -n 's/^USBMUXD_SOCKET_ADDRESS=//p' "$TMP/sim-$n.out")
  echo "bench: sim with $n assets ready at $addr after $((SECONDS - started))s" >&2
  E="USBMUXD_SOCKET_ADDRESS=$addr"

  OURS="${SCAN_ENV[*]} $E $BIN scan --json"
  COPY="$OURS --photo-read copy"
  PULL=("${PMD3_ENV[@]}" "$PMD3" afc pull --usbmux "$sock" --udid "$udid")
  PULL_SH=$(printf '%q ' "${PULL[@]}")
  PULLS="$PULL_SH /PhotoData/Photos.sqlite $TMP/pull/main && $PULL_SH /PhotoData/Photos.sqlite-wal $TMP/pull/wal"

  # Every scan must count the whole library; this is also each command's warm-up run.
  check_scan() {
    local got
    got=$({ sh -c "$1" 2>/dev/null || [ $? -eq 1 ]; } | python3 -c '
import json, sys
lib = json.load(sys.stdin)["devices"][0]["facts"]["photos"].get("library") or {}
print(lib.get("assets", "none"))' 2>/dev/null || echo error)
    [ "$got" = "$n" ] || { echo "bench: '$1' counted $got assets, not $n" >&2; exit 1; }
  }
  check_scan "$OURS"
  [ "$HAVE_COPY_FLAG" = 1 ] && check_scan "$COPY"
  sh -c "$PULLS" >/dev/null 2>"$TMP/pull.err" || { cat "$TMP/pull.err" >&2; exit 1; }
  echo "$n $(stat -c %s "$TMP/pull/main") $(stat -c %s "$TMP/pull/wal")" >>"$OUT/photos-sizes.txt"

  # 3. Time: hyperfine, the commands side by side.
  cmds=(-n "$OURS_LABEL" "$OURS >/dev/null || [ \$? -eq 1 ]")
  [ "$HAVE_COPY_FLAG" = 1 ] && cmds+=(-n "$COPY_LABEL" "$COPY >/dev/null || [ \$? -eq 1 ]")
  cmds+=(-n "$PULL_LABEL" "{ $PULLS; } >/dev/null 2>&1")
  hyperfine --warmup 0 --runs "$RUNS" --style basic \
    --export-json "$OUT/photos-$n.json" --export-markdown "$OUT/photos-$n.md" "${cmds[@]}"

  # 4. Bytes, round trips and memory: the same commands again, each under /usr/bin/time, with
  # the simulator's counter lines that each run added to its log.
  measure() { # label, command
    local from to
    for ((i = 0; i < RUNS; i++)); do
      from=$(wc -l <"$log")
      /usr/bin/time -f "%e %M" -o "$TMP/time" sh -c "{ $2; } >/dev/null 2>&1 || [ \$? -eq 1 ]"
      sleep 0.5 # the simulator logs a connection's counters once it has seen it close
      to=$(wc -l <"$log")
      printf '%s\t%s\t%s\t%s\t%s\n' "$n" "$1" "$(cat "$TMP/time")" "$from" "$to" >>"$OUT/photos-runs.txt"
    done
  }
  measure "$OURS_LABEL" "$OURS"
  [ "$HAVE_COPY_FLAG" = 1 ] && measure "$COPY_LABEL" "$COPY"
  measure "$PULL_LABEL" "$PULLS"
  stop_sim
done

# 5. The summary.
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
git diff --quiet HEAD -- src crates Cargo.toml Cargo.lock 2>/dev/null || commit="$commit + uncommitted changes"
export BENCH_COMMIT=$commit BENCH_LOAD=$load BENCH_SIZES_RUN="$SIZES" BENCH_LINK_RUN="$LINK" \
  BENCH_PULL_LABEL="$PULL_LABEL" BENCH_RUNS_N="$RUNS"
python3 - "$OUT" >"$OUT/photos-summary.md" <<'PY'
import datetime, json, os, platform, re, statistics, sys

out = sys.argv[1]
sizes = [int(s) for s in os.environ["BENCH_SIZES_RUN"].split()]
peer = os.environ["BENCH_PULL_LABEL"]
CLOSED = re.compile(r"AFC connection closed (.*)$")

def counters(n, first, last):
    """Summed counters of the AFC connections logged in lines first+1..last."""
    total = {}
    with open(os.path.join(out, f"photos-sim-{n}.log")) as f:
        for i, line in enumerate(f, 1):
            if first < i <= last:
                m = CLOSED.search(line)
                if m:
                    for k, v in re.findall(r"(\w+)=(\d+)", m.group(1)):
                        if k not in ("device", "connection"):
                            total[k] = total.get(k, 0) + int(v)
    return total

runs = {}
with open(os.path.join(out, "photos-runs.txt")) as f:
    for line in f:
        n, label, times, a, b = line.rstrip("\n").split("\t")
        secs, rss = times.split()
        runs.setdefault((int(n), label), []).append(
            (float(secs), int(rss) * 1024, counters(int(n), int(a), int(b))))

size = {}
with open(os.path.join(out, "photos-sizes.txt")) as f:
    for line in f:
        n, m, w = (int(x) for x in line.split())
        size[n] = (m, w)

mb = lambda b: f"{b / 1e6:,.1f} MB"
print(f"| assets | library (Photos.sqlite + -wal) | command | time (mean ± σ) | time / peer's | "
      f"library bytes sent | of the library | bytes / peer's | AFC requests (round trips) | peak memory | memory / peer's |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for n in sizes:
    m, w = size[n]
    lib = m + w
    with open(os.path.join(out, f"photos-{n}.json")) as f:
        hf = {r["command"]: r for r in json.load(f)["results"]}
    def stats(label):
        rs = runs[(n, label)]
        b = statistics.median(r[2].get("library_bytes", 0) for r in rs)
        req = statistics.median(r[2].get("requests", 0) for r in rs)
        rt = statistics.median(r[2].get("round_trips", 0) for r in rs)
        rss = max(r[1] for r in rs)
        return hf[label]["mean"], hf[label]["stddev"], b, req, rt, rss
    p = stats(peer)
    for label in hf:
        t, sd, b, req, rt, rss = stats(label)
        print(f"| {n:,} | {mb(lib)} ({mb(m)} + {mb(w)}) | {label} | {t:.2f} ± {sd:.2f} s | "
              f"**{t / p[0]:.2f}×** | {mb(b)} | {100 * b / lib:.1f} % | {b / p[2]:.2f}× | "
              f"{req:,.0f} ({rt:,.0f}) | {rss / 1e6:,.0f} MB | {rss / p[5]:.2f}× |")
print()
now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
print(f"Link: `--fault link={os.environ['BENCH_LINK_RUN']}` (MB/s, ms round trip). "
      f"{os.environ['BENCH_RUNS_N']} hyperfine runs per command after one warm-up run, then as many "
      "under /usr/bin/time for the counters and memory (medians; memory the largest run). "
      "Library bytes are what the simulator sent of Photos.sqlite and its -wal; MB is 10^6 bytes. "
      f"Machine: {os.cpu_count()} CPUs, {platform.system()} {platform.release()}, date {now}, "
      f"synccheck {os.environ['BENCH_COMMIT']}, load average at the start {os.environ['BENCH_LOAD']}; "
      "the simulator runs on the same machine.")
PY

echo >&2
cat "$OUT/photos-summary.md"
