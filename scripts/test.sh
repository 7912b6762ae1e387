#!/usr/bin/env bash
# The project's test command (README): formatting, lints, the contract build with its
# size table, and every test (the dev node's tests run the built contracts). CI
# (.ci/run) runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "toolchain: wasm32 target (idempotent)"
rustup target add wasm32-unknown-unknown

step "format"
cargo fmt --all -- --check

step "lint"
cargo clippy --workspace --all-targets --locked -- -D warnings

# Before the tests: the dev node's tests run the built programs from
# $CARGO_TARGET_DIR/contracts (or target/contracts).
step "contracts: build for Stylus, check, compress, size table"
cargo contracts build

step "tests"
cargo test --workspace --locked
