#!/usr/bin/env bash
# A sharded sharecast run on Slurm: one array task per shard, then a merge
# that waits for all of them. Submit with:
#
#   MODEL=models/ai_accelerators.toml FUTURES=10000000 SHARDS=20 \
#     OUT=/shared/sharecast/ai-10m sbatch --array=0-19 deploy/slurm_array.sh
#   sbatch --dependency=afterok:<array job id> --export=ALL,MERGE=1 deploy/slurm_array.sh
#
# or let this script submit the merge itself (SUBMIT_MERGE=1, from the
# first task). Every shard is reproducible on its own: rerun a failed one
# with `sbatch --array=<index> deploy/slurm_array.sh` before merging.
#
#SBATCH --job-name=sharecast
#SBATCH --cpus-per-task=4
#SBATCH --mem=3G
#SBATCH --time=01:00:00
#SBATCH --output=sharecast-%A_%a.log
set -euo pipefail

: "${MODEL:=models/ai_accelerators.toml}"   # a model file on the shared volume
: "${FUTURES:=10000000}"                    # futures per scenario, whole run
: "${SHARDS:=20}"                           # must match --array=0-(SHARDS-1)
: "${OUT:=/shared/sharecast/run}"           # shared volume: shards and the merge
: "${SHARECAST:=sharecast}"                 # the binary (cargo install --path . puts it on PATH)

if [[ "${MERGE:-0}" == 1 ]]; then
  shards=()
  for ((i = 0; i < SHARDS; i++)); do shards+=("$OUT/shard-$i"); done
  exec "$SHARECAST" merge "${shards[@]}" --out "$OUT/merged" --threads "${SLURM_CPUS_PER_TASK:-2}"
fi

# --shard auto reads SLURM_ARRAY_TASK_ID - SLURM_ARRAY_TASK_MIN and
# SLURM_ARRAY_TASK_COUNT.
index=$((SLURM_ARRAY_TASK_ID - ${SLURM_ARRAY_TASK_MIN:-0}))
"$SHARECAST" run "$MODEL" --futures "$FUTURES" --shard auto \
  --threads "${SLURM_CPUS_PER_TASK:-2}" --quiet --out "$OUT/shard-$index"
