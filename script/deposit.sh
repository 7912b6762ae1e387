#!/usr/bin/env bash
# A user funds their escrow as a wallet would: approve SessionPayment, deposit, read back.
#   PRIVATE_KEY=0x... script/deposit.sh 100        # 100 COR
source "$(dirname "$0")/common.sh"
amount="$("$CAST" to-wei "${1:?usage: deposit.sh AMOUNT_COR}")"
token="$(addr CorToken)"
payment="$(addr SessionPayment)"
send "$token" "approve(address,uint256)" "$payment" "$amount" >/dev/null
send "$payment" "deposit(uint256)" "$amount" >/dev/null
echo "escrow of $(me) (available, locked):"
call "$payment" "escrowOf(address)(uint256,uint256)" "$(me)"
