#!/usr/bin/env bash
# Regenerates the genesis contracts' runtime code from their Solidity sources with solcjs
# (npm `solc`, pinned below). The outputs are committed: building the dev node needs no
# Solidity compiler. Run from anywhere: ./devnode/genesis/build.sh
set -euo pipefail
cd "$(dirname "$0")"
SOLC_VERSION=0.8.30
TOOLS="${TOOLS:-$(mktemp -d)}"
[ -x "$TOOLS/node_modules/.bin/solcjs" ] || npm install --silent --prefix "$TOOLS" "solc@$SOLC_VERSION"
for name in StylusDeployer Create2Factory; do
    input=$(python3 - "$name" <<'PY'
import json, sys
name = sys.argv[1]
print(json.dumps({
    "language": "Solidity",
    "sources": {f"{name}.sol": {"content": open(f"{name}.sol").read()}},
    "settings": {
        "optimizer": {"enabled": True, "runs": 200},
        "evmVersion": "cancun",
        "metadata": {"bytecodeHash": "none", "appendCBOR": False},
        "outputSelection": {"*": {"*": ["evm.deployedBytecode.object"]}},
    },
}))
PY
)
    echo "$input" | "$TOOLS/node_modules/.bin/solcjs" --standard-json --base-path . \
        | sed -n '/^{/,$p' | python3 -c "
import json, sys
out = json.load(sys.stdin)
errors = [e for e in out.get('errors', []) if e['severity'] == 'error']
if errors:
    sys.exit('\n'.join(e['formattedMessage'] for e in errors))
code = out['contracts']['$name.sol']['$name']['evm']['deployedBytecode']['object']
open('$name.bin-runtime', 'w').write(code + '\n')
print('$name:', len(code) // 2, 'bytes')
"
done
