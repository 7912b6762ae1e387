#!/usr/bin/env bash
# A user opens a session (N = 3, Exact, 2 of 3, escrow, 300 s windows) and submits one
# task with the prompt inline as a data: URI. Prints the session and task ids.
#   PRIVATE_KEY=0x... script/submit.sh MODEL_ID "PROMPT"
source "$(dirname "$0")/common.sh"
model="${1:?usage: submit.sh MODEL_ID PROMPT}"
prompt="${2:?usage: submit.sh MODEL_ID PROMPT}"
queue="$(addr SessionQueue)"
# createSession(modelId, redundancy, consensus, thresholdBps, tolerance, slaTier,
#   validatorDepth, executionDepth, paymentMode, routeHint, commitWindow, revealWindow)
send "$queue" \
  "createSession(uint32,uint8,uint8,uint16,uint64,uint8,uint8,uint8,uint8,uint32,uint64,uint64)" \
  "$model" 3 0 6000 0 0 0 0 0 0 300 300 >/dev/null
session="$(call "$queue" "counts()(uint64,uint64)" | sed -n 1p | awk '{print $1}')"
uri="data:,$(python3 -c 'import sys, urllib.parse; print(urllib.parse.quote(sys.argv[1], safe=""))' "$prompt")"
send "$queue" "submitTask(uint64,bytes32,string,uint32,bytes32)" \
  "$session" "$("$CAST" keccak "$prompt")" "$uri" 256 "0x$(printf '0%.0s' {1..64})" >/dev/null
task="$(call "$queue" "counts()(uint64,uint64)" | sed -n 2p | awk '{print $1}')"
echo "session $session task $task"
