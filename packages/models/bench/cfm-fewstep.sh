#!/usr/bin/env bash
# Few-step sampling and exact NLL of the flow-matching family against nfdm's FM-OT baseline on
# 8gaussians, at the few-step budget of REPRODUCTION.md (3000 updates, 64x64 networks)
# with batch 256 (the OT coupling solves one assignment per batch, O(B^2.7) here: ~35 ms at 256,
# ~1.2 s at 1024 on the 2-core machine):
# CFM, OT-CFM, rectified flow (1-RF) and one reflow round (2-RF, 3000 more updates on 10,000
# pairs of 1-RF, starting from its weights). Prints one JSON line of eval results per model.
# Usage (from the repository root, after `npx turbo run build`):
#   bash packages/models/bench/cfm-fewstep.sh OUTDIR [SEED]      (seed of the weights, batches and noise; default 0)
set -euo pipefail
out=${1:?usage: cfm-fewstep.sh OUTDIR [SEED]}
seed=${2:-0}
nfdm="node apps/cli/dist/bin.js"
common=(--data 8gaussians --steps 3000 --hidden 64,64 --batch 256 --seed "$seed" --eval-every 1000)
mkdir -p "$out"
for m in fm cfm ot-cfm rectified-flow; do
  $nfdm train --model "$m" "${common[@]}" --out "$out/$m" --force --json > "$out/$m.train.json"
done
$nfdm train --model rectified-flow --reflow-from "$out/rectified-flow" "${common[@]}" --out "$out/reflow" --force --json > "$out/reflow.train.json"
for m in fm cfm ot-cfm rectified-flow reflow; do
  $nfdm eval --model "$out/$m" --metrics nll,swd,curvature --nfe 1,2,4,8,16,100 --n 2000 --seed 1 --json > "$out/$m.eval.json"
  echo "$m $(node -e "const r=require('node:path').resolve;const e=require(r('$out/$m.eval.json'));const t=require(r('$out/$m.train.json'));console.log(JSON.stringify({seconds:t.seconds,heldOut:t.otLoss??t.nelbo,nll:e.metrics.nll,curvature:e.metrics.curvature,nfe:e.nfeSweep}))")"
done
