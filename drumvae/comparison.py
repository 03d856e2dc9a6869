"""compare_runs.py's job: a table of runs' eval metrics and a picture of their loss curves."""
import glob
import json
import os

from matplotlib.figure import Figure

from drumvae import cli
from drumvae import run_dirs

import tensorflow as tf

COLUMNS = [  # (metrics.json key, table heading, format)
    ('config', 'config', '{}'),
    ('global_step', 'steps', '{}'),
    ('num_examples', 'eval examples', '{}'),
    ('loss', 'loss', '{:.2f}'),
    ('kl_divergence_bits', 'KL (bits)', '{:.2f}'),
    ('reconstruction_accuracy_teacher_forced', 'accuracy, teacher-forced',
     '{:.3f}'),
    ('reconstruction_accuracy_sampled', 'accuracy, sampled', '{:.3f}'),
]


def read_metrics(run_dir, eval_dir_suffix=''):
  path = run_dirs.metrics_path(run_dir, eval_dir_suffix)
  try:
    with open(path) as f:
      return json.load(f)
  except FileNotFoundError:
    raise cli.UserError(f'{path}: no such file; run train.py --mode=eval '
                        f'--run_dir={run_dir} first') from None
  except (OSError, ValueError) as e:
    raise cli.UserError(f'{path}: not readable ({e})') from None


def metrics_table(run_dirs, eval_dir_suffix=''):
  """A markdown table, one row per run."""
  lines = ['| run | ' + ' | '.join(h for _, h, _ in COLUMNS) + ' |',
           '|' + ' --- |' * (len(COLUMNS) + 1)]
  for run_dir in run_dirs:
    metrics = read_metrics(run_dir, eval_dir_suffix)
    cells = [fmt.format(metrics[key]) for key, _, fmt in COLUMNS]
    lines.append(f'| {os.path.basename(os.path.normpath(run_dir))} | '
                 + ' | '.join(cells) + ' |')
  return '\n'.join(lines)


def loss_curve(run_dir):
  """(steps, losses) of the `loss` summaries in RUN_DIR/train's event files."""
  points = {}
  for events in sorted(glob.glob(os.path.join(run_dir, 'train',
                                              'events.out.tfevents.*'))):
    for event in tf.compat.v1.train.summary_iterator(events):
      for value in event.summary.value:
        if value.tag == 'loss':
          points[event.step] = value.simple_value
  steps = sorted(points)
  return steps, [points[s] for s in steps]


def plot_loss_curves(run_dirs, png_path):
  """The training-loss curves of `run_dirs`, one line each, as a PNG."""
  figure = Figure(figsize=(8, 4.5))
  axes = figure.subplots()
  for run_dir in run_dirs:
    steps, losses = loss_curve(run_dir)
    if not steps:
      raise cli.UserError(f'{run_dir}/train: no loss summaries in its event '
                          'files (Magenta writes them every 100 steps)')
    axes.plot(steps, losses, marker='.' if len(steps) < 30 else None,
              label=os.path.basename(os.path.normpath(run_dir)))
  axes.set(xlabel='training step', ylabel='training loss',
           title='MusicVAE training loss')
  axes.grid(alpha=0.3)
  axes.legend()
  figure.tight_layout()
  figure.savefig(png_path, dpi=100)
