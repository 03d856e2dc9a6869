"""Compare trained runs: a markdown table of their eval metrics and a loss-curve PNG.

  python train.py --mode=eval --run_dir=runs/flat --examples_path=data/groove-validation.tfrecord
  ...
  python compare_runs.py --run_dirs=runs/flat,runs/small,runs/large --output_png=loss.png

Each run dir needs RUN_DIR/eval/metrics.json (from train.py --mode=eval) for
the table; the curves come from the TensorBoard events in RUN_DIR/train.
"""
import glob
import json
import os

from absl import flags

from drumvae import cli
from drumvae import runtime

FLAGS = flags.FLAGS

flags.DEFINE_list('run_dirs', None, 'Comma-separated run directories to compare.')
flags.DEFINE_string(
    'output_png', None,
    'Where to write the training-loss curves (PNG); none if not given.')
flags.DEFINE_string(
    'eval_dir_suffix', '',
    'Suffix of the eval directories, as given to train.py --mode=eval.')
flags.mark_flag_as_required('run_dirs')

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
  path = os.path.join(run_dir, 'eval' + eval_dir_suffix, 'metrics.json')
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
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
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
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use('Agg')
  from matplotlib import pyplot as plt  # pylint: disable=g-import-not-at-top
  figure, axes = plt.subplots(figsize=(8, 4.5))
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
  plt.close(figure)


def main(argv):
  del argv  # cli.run refuses extra arguments
  runtime.setup(FLAGS.verbose)
  runtime.load_tensorflow(FLAGS.verbose, fast_lstms=False)  # it reads the events
  print(metrics_table(FLAGS.run_dirs, FLAGS.eval_dir_suffix))
  if FLAGS.output_png:
    plot_loss_curves(FLAGS.run_dirs, FLAGS.output_png)
    print(f'wrote {FLAGS.output_png}')


if __name__ == '__main__':
  cli.run(main)
