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

# cast send with the chosen key; fails (with cast's decoded revert) when the call would.
send() { "$CAST" send --rpc-url "$RPC" "${SIGNER[@]}" "$@"; }
# cast call at the latest block.
call() { "$CAST" call --rpc-url "$RPC" "$@"; }
# The signer's address.
me() { "$CAST" wallet address "${SIGNER[@]}"; }
