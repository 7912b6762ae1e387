#!/usr/bin/env bash
# A task's round (status 1 open, 2 resolved, 3 unresolved), optionally finalizing it
# first, and the result seat's output hash and URI.
#   script/task.sh TASK              # read
#   PRIVATE_KEY=0x... script/task.sh TASK finalize
source "$(dirname "$0")/common.sh"
task="${1:?usage: task.sh TASK [finalize]}"
commit_reveal="$(addr CommitReveal)"
if [[ "${2:-}" == finalize ]]; then
  send "$commit_reveal" "finalize(uint256)" "$task" >/dev/null
fi
# (status, N, committed, revealed, commitDeadline, revealDeadline, agreeingMask,
#  resultSeat, meta)
round="$(call "$commit_reveal" \
  "task(uint256)(uint8,uint8,uint8,uint8,uint64,uint64,uint8,uint8,bytes32)" "$task")"
echo "$round"
status="$(echo "$round" | sed -n 1p)"
seat="$(echo "$round" | sed -n 8p)"
if [[ "$status" == 2 && "$seat" != 0 ]]; then
  result="$(call "$commit_reveal" \
    "seat(uint256,uint8)(address,uint8,bytes32,bytes32,bytes32,uint64,bytes)" \
    "$task" "$((seat - 1))")"
  echo "result output hash: $(echo "$result" | sed -n 4p)"
  echo "result URI: $("$CAST" to-ascii "$(echo "$result" | sed -n 7p)")"
fi
