#!/usr/bin/env bash
# The price of a task: SessionPaymentTable.quote (total, miners, validators, treasury).
#   script/quote.sh [N=3] [MAX_TOKENS=256] [CLASS=0 Light|1 Medium|2 Heavy]
source "$(dirname "$0")/common.sh"
n="${1:-3}" max_tokens="${2:-256}" class="${3:-0}"
# quote(modelClass, maxTokens, slaTier, redundancy, consensus, validatorDepth,
#       executionDepth, quotaBacked, payerVolume)
call "$(addr SessionPaymentTable)" \
  "quote(uint8,uint32,uint8,uint8,uint8,uint8,uint8,bool,uint64)(uint256,uint256,uint256,uint256)" \
  "$class" "$max_tokens" 0 "$n" 0 0 0 false 0
