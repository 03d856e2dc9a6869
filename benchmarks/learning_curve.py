"""Validation figures of a run's checkpoints against training minutes: the learning curve.

  python benchmarks/learning_curve.py --run_dirs=runs/cpu_m,runs/cpu_s \
      --examples_path=data/groove-validation.tfrecord --every_minutes=15 \
      --output_png=curve.png

For each run, the checkpoints closest to every --every_minutes of training
(wall clock since its first TensorBoard event file, so for a run trained in
one go) are evaluated on every window of --examples_path, as train.py
--mode=eval does, without the interpolations. The figures go to
RUN_DIR/learning_curve.json (kept between calls: a checkpoint evaluated once
is not evaluated again, so a running training can be followed) and a markdown
table on stdout; --output_png plots the reconstruction accuracies and the
samples' groove-profile distance.
"""
import glob
import json
import os
import re

from absl import flags

from drumvae import cli
from drumvae import runtime

FLAGS = flags.FLAGS
flags.DEFINE_list('run_dirs', None, 'Run directories of train.py.')
flags.DEFINE_string('examples_path', None,
                    'NoteSequence tfrecord to evaluate on (a validation split).',
                    **cli.SHARED_WITH_MAGENTA)
flags.DEFINE_float('every_minutes', 15.0, 'Minutes of training between points.',
                   lower_bound=0.1)
flags.DEFINE_integer('num_samples', 100, 'Samples for the groove profile.',
                     lower_bound=1)
flags.DEFINE_string('output_png', None, 'Where to plot the curves (PNG).')
flags.mark_flags_as_required(['run_dirs', 'examples_path'])

CURVE_FILE = 'learning_curve.json'


def training_start(run_dir):
  """Unix time of the run's first TensorBoard event file (in its name)."""
  names = glob.glob(os.path.join(run_dir, 'train', 'events.out.tfevents.*'))
  if not names:
    raise cli.UserError(f'{run_dir}/train has no event files; train it first')
  return min(float(os.path.basename(n).split('.')[3]) for n in names)


def checkpoints_by_minute(run_dir, every_minutes):
  """{minutes of training: checkpoint prefix}, one per `every_minutes`."""
  start = training_start(run_dir)
  found = {}
  for index in glob.glob(os.path.join(run_dir, 'train', 'model.ckpt-*.index')):
    prefix = index[:-len('.index')]
    found[int(re.search(r'-(\d+)$', prefix).group(1))] = (
        prefix, (os.path.getmtime(index) - start) / 60)
  chosen, target = {}, every_minutes
  for step in sorted(found):
    prefix, minutes = found[step]
    if minutes >= target or step == max(found):
      chosen[round(minutes, 1)] = prefix
      target = (minutes // every_minutes + 1) * every_minutes
  return chosen


def curve(run_dir, examples, every_minutes, num_samples):
  """The run's learning-curve points, evaluating those not done before."""
  import configs  # pylint: disable=g-import-not-at-top
  from drumvae import models  # pylint: disable=g-import-not-at-top
  from drumvae import evaluation, files  # pylint: disable=g-import-not-at-top
  path = os.path.join(run_dir, CURVE_FILE)
  points = {}
  if os.path.exists(path):
    with open(path) as f:
      points = {p['checkpoint']: p for p in json.load(f)}
  _, _, config = models.config_for_run(run_dir)  # as trained
  config.hparams.batch_size = min(config.hparams.batch_size, len(examples))
  chosen = checkpoints_by_minute(run_dir, every_minutes)
  for minutes, checkpoint in chosen.items():
    if checkpoint not in points:
      metrics = evaluation.evaluate_checkpoint(
          checkpoint, config, examples, os.path.join(run_dir, 'eval_curve'),
          num_samples=num_samples, num_interpolations=0, seed=0)
      points[checkpoint] = {'minutes': minutes, **metrics}
      files.write_json(path, sorted(points.values(),
                                    key=lambda p: p['minutes']))
      print(f'{run_dir}: {minutes} min, step {metrics["global_step"]}: '
            f'accuracy {metrics["reconstruction_accuracy_teacher_forced"]:.3f} '
            f'/ {metrics["reconstruction_accuracy_sampled"]:.3f}', flush=True)
  return [points[checkpoint] for checkpoint in chosen.values()]


def plot(curves, png_path):
  import matplotlib  # pylint: disable=g-import-not-at-top
  matplotlib.use('Agg')
  from matplotlib import pyplot as plt  # pylint: disable=g-import-not-at-top
  figure, (accuracy, profile) = plt.subplots(1, 2, figsize=(12, 4.5))
  for name, points in curves.items():
    minutes = [p['minutes'] for p in points]
    line, = accuracy.plot(minutes, [p['reconstruction_accuracy_teacher_forced']
                                    for p in points], marker='.',
                          label=f'{name}, teacher-forced')
    accuracy.plot(minutes, [p['reconstruction_accuracy_sampled']
                            for p in points], marker='.', linestyle='--',
                  color=line.get_color(), label=f'{name}, sampled')
    profile.plot(minutes, [p['samples']['profile_distance'] for p in points],
                 marker='.', color=line.get_color(), label=name)
  accuracy.set(xlabel='minutes of training', ylim=(0, 1),
               ylabel='validation reconstruction accuracy',
               title='Reconstruction (all validation windows)')
  profile.set(xlabel='minutes of training', yscale='log',
              ylabel='groove-profile distance to validation',
              title='Samples at temperature 0.5 (lower is better)')
  for axes in (accuracy, profile):
    axes.grid(alpha=0.3)
    axes.legend(fontsize=8)
  figure.tight_layout()
  figure.savefig(png_path, dpi=100)
  plt.close(figure)


def in_data_range(samples):
  """The share as a table cell; points evaluated before it was measured lack it."""
  share = samples.get('in_data_range')
  return '' if share is None else f'{share:.2f}'


def main(argv):
  del argv  # cli.run refuses extra arguments
  runtime.setup(FLAGS.verbose)
  runtime.load_tensorflow(FLAGS.verbose)
  import configs  # pylint: disable=g-import-not-at-top
  from drumvae import models  # pylint: disable=g-import-not-at-top
  from drumvae import dataset  # pylint: disable=g-import-not-at-top
  converter = models.config_for_run(FLAGS.run_dirs[0])[2].data_converter
  examples = dataset.convert_examples(FLAGS.examples_path, converter, 'eval',
                                      windows='all')
  curves = {os.path.basename(os.path.normpath(r)): curve(
      r, examples, FLAGS.every_minutes, FLAGS.num_samples)
            for r in FLAGS.run_dirs}
  print('| run | minutes | step | accuracy, teacher-forced | accuracy, sampled '
        '| KL (bits) | samples: notes/bar | samples: in data range '
        '| samples: profile distance |')
  print('| --- |' + ' ---: |' * 8)
  for name, points in curves.items():
    for p in points:
      print(f'| {name} | {p["minutes"]:.0f} | {p["global_step"]} | '
            f'{p["reconstruction_accuracy_teacher_forced"]:.3f} | '
            f'{p["reconstruction_accuracy_sampled"]:.3f} | '
            f'{p["kl_divergence_bits"]:.0f} | '
            f'{p["samples"]["notes_per_bar"]:.1f} | '
            f'{in_data_range(p["samples"])} | '
            f'{p["samples"]["profile_distance"]:.3f} |')
  if FLAGS.output_png:
    plot(curves, FLAGS.output_png)
    print(f'wrote {FLAGS.output_png}')


if __name__ == '__main__':
  cli.run(main)
