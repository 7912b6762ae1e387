#!/usr/bin/env bash
# The project's test command (README): formatting, lints, every test, and the contract
# build with its size table. CI (.ci/run) runs exactly this.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

step "toolchain: wasm32 target (idempotent)"
rustup target add wasm32-unknown-unknown

step "format"
cargo fmt --all -- --check

step "lint"
cargo clippy --workspace --all-targets --locked -- -D warnings

step "tests"
cargo test --workspace --locked

step "contracts: build for Stylus, check, compress, size table"
cargo contracts build
