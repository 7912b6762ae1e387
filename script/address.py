#!/usr/bin/env python3
"""Prints a deployed contract's address from deployments/<chain-id>.json.

    script/address.py CONTRACT [CHAIN_ID]

CHAIN_ID defaults to $CHAIN_ID, then 412346 (the dev node). DEPLOYMENTS (a folder)
overrides ./deployments. Contract names as in abi/json: CorToken, NodePool,
SessionPaymentTable, SessionPayment, StakeQuota, NodeReputation, NodeReward,
ConsensusEngine, CommitReveal, SessionQueue.
"""
import json
import os
import sys

if len(sys.argv) < 2:
    sys.exit(__doc__)
name = sys.argv[1]
chain = sys.argv[2] if len(sys.argv) > 2 else os.environ.get("CHAIN_ID", "412346")
folder = os.environ.get("DEPLOYMENTS", "deployments")
path = os.path.join(folder, f"{chain}.json")
try:
    with open(path) as f:
        record = json.load(f)
except OSError as e:
    sys.exit(f"cannot read {path}: {e} (deploy first: cor deploy)")
contract = record.get("contracts", {}).get(name)
if contract is None:
    sys.exit(f"{path} has no {name}; known: {', '.join(record.get('contracts', {}))}")
print(contract["address"])
