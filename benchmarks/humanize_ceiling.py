"""How much of a humanizer's error is each performance's own loudness and feel?

  python benchmarks/humanize_ceiling.py --examples_path=data/groove-test.tfrecord

For every 4-bar window of --examples_path (as `train.py --mode=eval` reads it),
the humanizer, the average drummer of --train_examples_path and the grid at
velocity 80 are measured against the drummer hit by hit, as eval does; then
again "told the window's level and feel": every velocity of a window shifted
by one number and every onset by another, the median of that window's errors.
Only the drummer's own performance gives those two numbers, and a humanize
model's encoder sees only where the hits fall, so the told figures say what a
model would reach that knew them (README: Humanize).
"""
import os

from absl import flags

from drumvae import cli
from drumvae import runtime

FLAGS = flags.FLAGS
flags.DEFINE_string('run_dir', None, 'Humanizer run dir; default: the shipped one.',
                    **cli.SHARED_WITH_MAGENTA)
flags.DEFINE_string('examples_path', os.path.join('data', 'groove-test.tfrecord'),
                    'The windows to measure on (make_tfrecord.py output).')
flags.DEFINE_string('train_examples_path', os.path.join('data', 'groove-train.tfrecord'),
                    'The windows the average drummer is the mean of.')


def errors(played, drummer, qpm, humanization, np):
  """(velocity errors in MIDI units, onset errors in ms) per window, on the drummer's hits."""
  hits, velocity, offset = humanization.split(drummer)
  _, played_velocity, played_offset = humanization.split(played)
  half_step_ms = 60000.0 / np.asarray(qpm, np.float64) / 4 / 2  # an offset of 1
  return ([(velocity[w] - played_velocity[w])[hits[w]] * 127 for w in range(len(hits))],
          [(offset[w] - played_offset[w])[hits[w]] * half_step_ms[w] for w in range(len(hits))])


def mean_absolute(per_window, np, told):
  """Mean |error| over every hit; `told`: each window's median error taken off first."""
  return np.mean(np.concatenate([np.abs(e - (np.median(e) if told and len(e) else 0))
                                 for e in per_window]))


def main(argv):
  del argv
  runtime.setup(FLAGS.verbose)
  runtime.load_tensorflow(FLAGS.verbose)
  import numpy as np  # pylint: disable=g-import-not-at-top
  import configs  # pylint: disable=g-import-not-at-top,unused-import
  from drumvae import dataset, humanization, models, run_dirs  # pylint: disable=g-import-not-at-top,g-multiple-import
  run_dir = FLAGS.run_dir or models.shipped_model('humanize')
  config = models.config_for_run(run_dir)[2]
  examples = dataset.convert_examples(FLAGS.examples_path, config.data_converter, 'eval', 'all')
  train = dataset.convert_examples(FLAGS.train_examples_path, config.data_converter, 'eval',
                                   'all')
  model = models.load_model(config, run_dirs.latest_checkpoint(run_dir),
                            min(256, len(examples)), 'the humanizer')
  hits = humanization.split(examples.inputs)[0]
  played = {'humanizer': humanization.humanize(model, hits)[0],
            'average drummer': humanization.AverageDrummer.fit(train.outputs).play(hits),
            'on the grid at 80': humanization.on_the_grid(hits)}
  print(f'{len(hits)} windows of {FLAGS.examples_path}, humanizer {os.path.relpath(run_dir)}')
  print('| | velocity MAE | timing MAE (ms) | told: velocity MAE | told: timing MAE (ms) |\n'
        '| --- | ---: | ---: | ---: | ---: |')
  for name, performance in played.items():
    velocity, timing = errors(performance, examples.outputs, examples.qpm, humanization, np)
    print(f'| {name} | {mean_absolute(velocity, np, False):.1f} '
          f'| {mean_absolute(timing, np, False):.1f} | {mean_absolute(velocity, np, True):.1f} '
          f'| {mean_absolute(timing, np, True):.1f} |')


if __name__ == '__main__':
  cli.run(main)
