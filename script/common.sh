# Sourced by the other scripts: which chain, which key, where the contracts are.
#
#   RPC          foundry.toml alias or URL (default: local, the dev node)
#   PRIVATE_KEY  DEV CHAINS ONLY: a raw key for `cast send`
#   KEYSTORE     otherwise: an encrypted keystore (cast prompts for its password)
#   DEPLOYMENTS  folder of <chain-id>.json records (default: ./deployments)
#   CAST         the cast binary (default: cast on PATH)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT" # cast finds foundry.toml's aliases here
RPC="${RPC:-local}"
CAST="${CAST:-cast}"
CHAIN_ID="$("$CAST" chain-id --rpc-url "$RPC")"
export CHAIN_ID

# The address of a contract in this chain's deployment record.
addr() { python3 "$ROOT/script/address.py" "$1"; }

if [[ -n "${PRIVATE_KEY:-}" ]]; then
  SIGNER=(--private-key "$PRIVATE_KEY")
elif [[ -n "${KEYSTORE:-}" ]]; then
  SIGNER=(--keystore "$KEYSTORE")
else
  SIGNER=()
fi

# The signer's address.
me() { "$CAST" wallet address "${SIGNER[@]}"; }
# cast call at the latest block.
call() { "$CAST" call --rpc-url "$RPC" "$@"; }
# cast send with the chosen key: `send TO SIG ARGS...`. The gas limit is the estimate plus
# a quarter (a Stylus program's gas can differ a little between estimate and inclusion,
# and cast sends the bare estimate); a revert stops at the estimate, and a transaction
# that fails on chain stops the script too. Prints the receipt as JSON.
send() {
  local to="$1"
  shift
  local gas receipt
  # Checked by value too: some cast wrappers (npm's) lose cast's exit code.
  gas="$("$CAST" estimate --rpc-url "$RPC" --from "$(me)" "$to" "$@")" || true
  if [[ ! "$gas" =~ ^[0-9]+$ ]]; then
    echo "error: $1 on $to would revert (see cast's message above)" >&2
    return 1
  fi
  receipt="$("$CAST" send --json --rpc-url "$RPC" "${SIGNER[@]}" --gas-limit "$((gas + gas / 4))" "$to" "$@")" || true
  if [[ "$receipt" != "{"* ]]; then
    echo "error: sending $1 to $to failed (see cast's message above)" >&2
    return 1
  fi
  python3 - "$receipt" <<'PY'
import json, sys
r = json.loads(sys.argv[1])
if str(r.get("status")) not in ("0x1", "1", "True"):
    sys.exit(f"transaction {r.get('transactionHash')} failed on chain")
PY
  echo "$receipt"
}
