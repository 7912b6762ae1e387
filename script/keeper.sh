#!/usr/bin/env bash
# A keeper closes the next reward epoch (reverts EpochNotEnded until it is over) and
# prints its points, emission, reward per point and whether it is finalized.
#   PRIVATE_KEY=0x... script/keeper.sh
source "$(dirname "$0")/common.sh"
reward="$(addr NodeReward)"
epoch="$(call "$reward" "nextEpochToFinalize()(uint64)" | awk '{print $1}')"
send "$reward" "finalizeEpoch(uint64)" "$epoch" >/dev/null
echo "epoch $epoch (totalPoints, emission, rewardPerPoint, finalized):"
call "$reward" "epochInfo(uint64)(uint256,uint256,uint256,bool)" "$epoch"
