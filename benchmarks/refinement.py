"""How faithfully a model gives back grooves it is given, by refinement steps.

  python benchmarks/refinement.py --run_dir=models/groove_4bar_hier \
      --examples_path=data/groove-validation.tfrecord --num_windows=256 \
      --steps=0,25,50,100,200,400

For --num_windows random 4-bar windows of --examples_path (and, with
--midi_dir, the first window of each MIDI file there), and for each number of
refinement steps: the per-step accuracy of the refined code decoded greedily,
and decoded nearest the window (refinement.RefinableModel.decode_nearest, what
generate.py's interpolation ends use), with a control: the draws nearest to
*another* window, scored against that other window, which says how much the
choice among draws can reach for a groove the code was not fitted to. Prints a
markdown table; seconds are for the whole set.
"""
import glob
import os
import time

from absl import flags

from drumvae import cli
from drumvae import runtime

FLAGS = flags.FLAGS
flags.DEFINE_string('run_dir', 'models/groove_4bar_hier',
                    'Run directory of train.py (or an export).', **cli.SHARED_WITH_MAGENTA)
flags.DEFINE_string('examples_path', None, 'NoteSequences to reconstruct (tfrecord).',
                    **cli.SHARED_WITH_MAGENTA)
flags.DEFINE_integer('num_windows', 256, 'Random windows of --examples_path.', lower_bound=2)
flags.DEFINE_string('midi_dir', None, 'Also the first 4 bars of each MIDI file here.')
flags.DEFINE_list('steps', ['0', '25', '50', '100', '200', '400'], 'Refinement steps to try.')
flags.DEFINE_integer('seed', 0, 'Seed of the window choice.')
flags.mark_flags_as_required(['examples_path'])


def main(argv):
  del argv
  runtime.setup(FLAGS.verbose)
  runtime.load_tensorflow(FLAGS.verbose)
  print(runtime.use_precision('auto'))
  import numpy as np  # pylint: disable=g-import-not-at-top
  import configs  # pylint: disable=g-import-not-at-top
  from drumvae import models  # pylint: disable=g-import-not-at-top
  from drumvae import dataset, generation, groove_metrics, midi, run_dirs  # pylint: disable=g-import-not-at-top,g-multiple-import
  _, _, config = models.config_for_run(FLAGS.run_dir)
  examples = dataset.convert_examples(FLAGS.examples_path, config.data_converter,
                                      'eval', windows='all')
  examples = examples.take(np.random.default_rng(FLAGS.seed).choice(
      len(examples), min(FLAGS.num_windows, len(examples)), replace=False))
  model = models.load_model(config, run_dirs.latest_checkpoint(FLAGS.run_dir),
                                config.hparams.batch_size, FLAGS.run_dir)
  sets = {os.path.basename(FLAGS.examples_path): (
      examples.outputs, examples.lengths,
      model.encode_tensors(list(examples.inputs), list(examples.lengths))[1])}
  if FLAGS.midi_dir:
    windows = [generation.four_bar_window(midi.read_drum_file(path, 'midi_dir'), 1,
                                          config, path)
               for path in sorted(glob.glob(os.path.join(FLAGS.midi_dir, '*.mid')))]
    _, outputs, lengths, mu = model.encode_windows(windows)
    sets[f'{FLAGS.midi_dir} ({len(windows)} files)'] = (
        np.stack(outputs), np.array(lengths), mu)
  print('| windows | refine steps | greedy | nearest of draws | control: nearest another window | seconds |')
  print('| --- | ---: | ---: | ---: | ---: | ---: |')
  for name, (outputs, lengths, mu) in sets.items():
    targets = groove_metrics.patterns(outputs)
    others = np.roll(np.arange(len(targets)), 1)
    for steps in map(int, FLAGS.steps):
      start = time.time()
      z = model.refine(outputs, lengths, mu, steps)
      seconds = time.time() - start
      greedy = groove_metrics.patterns(np.stack(model.decode_to_tensors(
          z, length=config.hparams.max_seq_len, temperature=1e-5)))
      nearest = groove_metrics.patterns(model.decode_nearest(z, outputs))
      control = groove_metrics.patterns(model.decode_nearest(z, outputs[others]))
      print(f'| {name} | {steps} | {groove_metrics.step_accuracy(greedy, targets):.3f} '
            f'| {groove_metrics.step_accuracy(nearest, targets):.3f} '
            f'| {groove_metrics.step_accuracy(control, targets[others]):.3f} '
            f'| {seconds:.0f} |', flush=True)


if __name__ == '__main__':
  cli.run(main)
