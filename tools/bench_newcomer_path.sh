#!/bin/bash
# The newcomer path, timed per command: README -> docs/getting-started/kws-in-5-minutes.md -> the first
# three commands of docs/getting-started/to-a-board.md (a keyword model running in QEMU).
#   make setup && bash tools/bench_newcomer_path.sh [CHECKOUT]   (each command's output: $TMPDIR/newcomer-stepN.log)
set -e
cd "${1:-.}"
export HOME=$(mktemp -d)
. .venv/bin/activate
n=0; t0=$(date +%s)
step() { n=$((n+1)); s=$(date +%s); "$@" > "${TMPDIR:-/tmp}/newcomer-step$n.log" 2>&1; e=$(date +%s); echo "$n $((e-s))s $*"; }
for f in data/kws-nc runs/gru64-nc build/gru64_c; do  # never removes what it did not make
  [ -e "$f" ] && { echo "bench_newcomer_path: error: $f exists; move it away first" >&2; exit 2; }
done
step edgernn data synth-kws data/kws-nc --per-word 200
step edgernn data info data/kws-nc
step edgernn train --task kws --arch gru --units 64 --data data/kws-nc --out runs/gru64-nc --epochs 10
step edgernn quantize runs/gru64-nc --mode int8
step edgernn check runs/gru64-nc/model_int8.tflite --target tflm
step edgernn eval runs/gru64-nc/model_int8.tflite --runtime tflm
step edgernn export runs/gru64-nc/model_int8.tflite --format c --out build/gru64_c
step edgernn firmware build runs/gru64-nc/model_int8.tflite --board mps2-an386
step edgernn firmware run runs/gru64-nc/firmware-mps2-an386/edgernn-mps2-an386.elf --board mps2-an386
echo "commands: $n, total $(( $(date +%s) - t0 ))s"
