#!/usr/bin/env bash
# Runs one fuzz target: fuzz/run.sh TARGET [SECONDS] [libFuzzer options...]
#
# Needs cargo-fuzz (`cargo install cargo-fuzz`) and a nightly compiler: `cargo +nightly`, or
# stable with RUSTC_BOOTSTRAP=1 (FUZZ_TOOLCHAIN=stable). libFuzzer grows its corpus in
# fuzz/work/TARGET (ignored by git); the committed seeds in fuzz/corpus/TARGET are read only.
# A crash is written to fuzz/artifacts/TARGET/; keep it as a regression by copying it to
# fuzz/regressions/TARGET/, where tests/fuzz_corpus.rs replays it on every CI run.
set -euo pipefail
cd "$(dirname "$0")"

target=${1:?usage: fuzz/run.sh TARGET [SECONDS] [libFuzzer options...]}
seconds=${2:-60}
shift $(( $# < 2 ? $# : 2 ))

# The main crate's lock file, so the fuzzers build the same dependency versions as synccheck.
[ -f Cargo.lock ] || cp ../Cargo.lock Cargo.lock

toolchain=${FUZZ_TOOLCHAIN:-nightly}
if [ "$toolchain" = stable ]; then
  export RUSTC_BOOTSTRAP=1
  cargo=(cargo)
else
  cargo=(cargo "+$toolchain")
fi

extra=()
# The snapshot parser also starts from every fixture the repo has.
if [ "$target" = snapshot ]; then
  extra=(../fixtures ../fixtures/photos ../fixtures/import ../fixtures/bad ../data)
fi

mkdir -p "work/$target"
exec "${cargo[@]}" fuzz run -O "$target" "work/$target" "corpus/$target" "${extra[@]}" -- \
  -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -malloc_limit_mb=256 "$@"
