#!/usr/bin/env bash
# A node claims its task payments (SessionPayment) and, given epochs, its rewards
# (NodeReward).
#   PRIVATE_KEY=0x... script/claim.sh            # payments
#   PRIVATE_KEY=0x... script/claim.sh 0 1 2      # payments and rewards of epochs 0-2
source "$(dirname "$0")/common.sh"
payment="$(addr SessionPayment)"
due="$(call "$payment" "claimable(address)(uint256)" "$(me)" | awk '{print $1}')"
if [[ "$due" != 0 ]]; then
  send "$payment" "claim()" >/dev/null
  echo "claimed $("$CAST" from-wei "$due") COR of task payments"
fi
if [[ $# -gt 0 ]]; then
  epochs="[$(IFS=,; echo "$*")]"
  send "$(addr NodeReward)" "claim(uint64[])" "$epochs" >/dev/null
  echo "claimed rewards for epochs $epochs"
fi
echo "COR balance: $("$CAST" from-wei "$(call "$(addr CorToken)" "balanceOf(address)(uint256)" "$(me)" | awk '{print $1}')")"
