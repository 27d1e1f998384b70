#!/bin/bash
# Copy the durable state of a long reproduction (its --out, OUT) into the repository (reproduction/long).
set -e
# Usage: scripts/persist-long-run.sh OUT [DEST]   (OUT: the --out of `nfdm reproduce --budget long`; DEST default reproduction/long)
SRC=${1:?usage: scripts/persist-long-run.sh OUT [DEST]}; DST=${2:-$(dirname "$0")/../reproduction/long}
mkdir -p $DST
for d in results figures configs; do [ -d $SRC/$d ] && rsync -a --delete $SRC/$d/ $DST/$d/; done
[ -f $SRC/REPORT.md ] && cp $SRC/REPORT.md $DST/REPORT.md
[ -f $SRC/reproduce.json ] && cp $SRC/reproduce.json $DST/reproduce.json
# Image runs (and the classifier): finished ones without checkpoints; started ones with their latest checkpoint only.
[ -d $SRC/runs/classifier ] && mkdir -p $DST/state/runs && rsync -a --delete --exclude 'ckpt-*' --exclude latest $SRC/runs/classifier/ $DST/state/runs/classifier/
for exp in images image-bridge; do
  [ -d $SRC/runs/$exp ] || continue
  find $SRC/runs/$exp -name reproduce-run.json | while read rec; do
    run=$(dirname $rec); rel=${run#$SRC/}
    if grep -q '"finished": *true' $rec; then
      mkdir -p $DST/state/$rel
      rsync -a --delete --exclude 'ckpt-*' --exclude latest $run/ $DST/state/$rel/
    elif [ "$CKPT" = 1 ]; then
      mkdir -p $DST/state/$rel
      # A started run: its records and latest checkpoint (≈ 9 MB for a U-Net of base 16), only when
      # asked (CKPT=1, at the end of a session), so the history does not collect every checkpoint.
      latest=$(cat $run/latest 2>/dev/null || true)
      rsync -a --delete --exclude 'ckpt-*' $run/ $DST/state/$rel/
      [ -n "$latest" ] && [ -d $run/$latest ] && rsync -a $run/$latest $DST/state/$rel/
    else
      rm -rf $DST/state/$rel
    fi
  done
done
du -sh $DST
