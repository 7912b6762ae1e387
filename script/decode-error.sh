#!/usr/bin/env bash
# Names a revert's custom error from the JSON ABIs in abi/json, offline:
#   script/decode-error.sh 0x2bfe70d5000…   ->  NodeReward.EpochNotEnded(uint64,uint64): 1, 1796181569
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CAST="${CAST:-cast}"
data="${1:?usage: decode-error.sh REVERT_DATA}"
selector="${data:0:10}"
# Every error signature of every contract, once.
found="$(python3 - "$ROOT/abi/json" <<'PY' | sort -u | while IFS=' ' read -r contract sig; do
import json, os, sys
folder = sys.argv[1]
def canon(p):
    if p["type"].startswith("tuple"):
        return "(" + ",".join(canon(c) for c in p["components"]) + ")" + p["type"][5:]
    return p["type"]
for name in sorted(os.listdir(folder)):
    for item in json.load(open(os.path.join(folder, name))):
        if item.get("type") == "error":
            args = ",".join(canon(p) for p in item["inputs"])
            print(name[:-5], f"{item['name']}({args})")
PY
  if [[ "$("$CAST" sig "$sig")" == "$selector" ]]; then
    echo "$contract.$sig: $("$CAST" decode-error --sig "$sig" "$data" | paste -sd, - | sed 's/,/, /g')"
    break
  fi
done)"
if [[ -z "$found" ]]; then
  echo "no COR contract declares error $selector" >&2
  exit 1
fi
echo "$found"
