#!/usr/bin/env bash
# An assigned miner commits, later reveals, an answer by hand. The commitment is computed
# by ConsensusEngine.commitment (a view) from a random salt kept in .cor-script/.
#   PRIVATE_KEY=0x... script/miner.sh commit TASK "OUTPUT"
#   PRIVATE_KEY=0x... script/miner.sh reveal TASK "OUTPUT"
# The fingerprint is 0: fine for Exact and Median sessions; Similarity sessions need the
# output's SimHash (`cor task commit` computes it).
source "$(dirname "$0")/common.sh"
action="${1:?usage: miner.sh commit|reveal TASK OUTPUT}"
task="${2:?usage: miner.sh commit|reveal TASK OUTPUT}"
output="${3:?usage: miner.sh commit|reveal TASK OUTPUT}"
miner="$(me)"
hash="$("$CAST" keccak "$output")"
fingerprint="0x$(printf '0%.0s' {1..64})"
store="$ROOT/.cor-script/$CHAIN_ID-$task-$miner.salt"
commit_reveal="$(addr CommitReveal)"
case "$action" in
  commit)
    mkdir -p "$(dirname "$store")"
    salt="$(python3 -c 'import secrets; print("0x" + secrets.token_hex(32))')"
    echo "$salt" >"$store" # kept before the commitment is sent
    commitment="$(call "$(addr ConsensusEngine)" \
      "commitment(uint256,address,bytes32,bytes32,uint64,bytes32)(bytes32)" \
      "$task" "$miner" "$hash" "$fingerprint" 0 "$salt")"
    send "$commit_reveal" "commit(uint256,bytes32)" "$task" "$commitment" >/dev/null
    echo "committed $commitment for task $task as $miner"
    ;;
  reveal)
    salt="$(cat "$store")"
    uri="data:,$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$output")"
    send "$commit_reveal" "reveal(uint256,bytes32,bytes32,uint64,bytes,bytes32)" \
      "$task" "$hash" "$fingerprint" 0 "$("$CAST" from-utf8 "$uri")" "$salt" >/dev/null
    echo "revealed task $task as $miner: $hash at $uri"
    ;;
  *) echo "usage: miner.sh commit|reveal TASK OUTPUT" >&2; exit 2 ;;
esac
