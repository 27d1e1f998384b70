#!/usr/bin/env bash
# One cell of the defaults sweep (docs/defaults.md): train with `nfdm train` for 2,000 steps,
# then measure the exact NLL and the NELBO of the exported (EMA) model with `nfdm eval`.
# Appends one JSON line to $RESULTS (default sweep.jsonl). Run cells one at a time.
#
#   usage: docs/defaults-sweep.sh NAME DATA SEED [extra nfdm train flags...]
#   e.g.   docs/defaults-sweep.sh lr3e-3-clip1 moons 0 --lr 3e-3 --clip 1
set -euo pipefail
name=$1 data=$2 seed=$3
shift 3
NFDM=${NFDM:-node apps/cli/dist/bin.js}
root=${SWEEP_DIR:-/tmp/nfdm-sweep}
out="$root/$name-$data-s$seed"
seedflag=()
[ "$seed" != 0 ] && seedflag=(--seed "$seed") # seed 0 is the default: no flag at all
$NFDM train --model nfdm --data "$data" --steps 2000 "${seedflag[@]}" "$@" --out "$out" --force --json > "$out.train.json"
$NFDM eval --model "$out" --metrics nll,nelbo --seed "$seed" --json > "$out.eval.json"
node -e '
const [train, evl, name, data, seed, flags] = process.argv.slice(1);
const t = require(train), e = require(evl);
const pick = (k) => { const m = e.metrics?.[k] ?? e[k]; return typeof m === "object" ? m.mean ?? m.value : m; };
console.log(JSON.stringify({ name, data, seed: Number(seed), flags, nll: pick("nll"), nelbo: pick("nelbo"), floor: t.data?.entropy, seconds: t.seconds, msPerStep: t.msPerStep }));
' "$out.train.json" "$out.eval.json" "$name" "$data" "$seed" "$*" | tee -a "${RESULTS:-sweep.jsonl}"
