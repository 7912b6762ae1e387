#!/usr/bin/env bash
# An operator registers a node for MODEL (approving NodePool for the minimum stake) and
# sends this epoch's heartbeat.
#   PRIVATE_KEY=0x... script/node.sh MODEL_ID
source "$(dirname "$0")/common.sh"
model="${1:?usage: node.sh MODEL_ID}"
pool="$(addr NodePool)"
stake="$(call "$pool" "param(uint8)(uint256)" 0 | awk '{print $1}')"
send "$(addr CorToken)" "approve(address,uint256)" "$pool" "$stake" >/dev/null
send "$pool" "register(uint32[],bytes32)" "[$model]" "$("$CAST" keccak "script/node.sh")" >/dev/null
send "$pool" "heartbeat()" >/dev/null
echo "node $(me) (status, stake, models, registeredAt, unlockAt, lastLiveEpoch, liveEpochs, jailed, metadata):"
call "$pool" "node(address)(uint8,uint256,uint32,uint64,uint64,uint64,uint64,bool,bytes32)" "$(me)"
