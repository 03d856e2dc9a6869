#!/usr/bin/env bash
# Trains each config for the same wall-clock budget on Groove's train split (every
# 4-bar window, train.py's default), then evaluates it on every window of the
# validation split and prints the comparison table.
#   bash benchmarks/train_budget.sh [MINUTES] [RUNS_DIR]
# Needs data/groove-{train,validation}.tfrecord:
#   .venv/bin/python make_tfrecord.py --input_dir=$GROOVE_DIR --recursive \
#       --split_csv=$GROOVE_DIR/info.csv --output_file=data/groove.tfrecord
set -euo pipefail
cd "$(dirname "$0")/.."
minutes=${1:-12}
runs=${2:-runs/budget}
hparams=batch_size=64  # the real model sizes; 512 is out of reach on 2 CPU cores
for config in flat-drums_4bar hierdec-drums_4bar_small hierdec-drums_4bar_large; do
  # Only the last checkpoints are kept: with Adam's moments a paper-size one is
  # 0.1-0.5 GB, saved every minute (Magenta's default keeps 100).
  # SIGTERM makes train.py finish its step and save a checkpoint. timeout exits
  # 124 when the budget runs out, the expected end; anything else but 0 is a failure.
  status=0
  timeout -s TERM "${minutes}m" .venv/bin/python train.py --config=$config \
    --run_dir=$runs/$config --examples_path=data/groove-train.tfrecord \
    --hparams=$hparams --num_steps=0 --save_summaries_steps=5 --progress_secs=60 \
    --checkpoints_to_keep=2 \
    || status=$?
  if [[ $status -ne 0 && $status -ne 124 ]]; then
    echo "train_budget.sh: error: training $config failed (exit status $status)" >&2
    exit "$status"
  fi
  .venv/bin/python train.py --mode=eval --run_dir=$runs/$config \
    --examples_path=data/groove-validation.tfrecord
done
.venv/bin/python compare_runs.py --run_dirs=$runs/flat-drums_4bar,$runs/hierdec-drums_4bar_small,$runs/hierdec-drums_4bar_large \
  --output_png=$runs/loss.png
