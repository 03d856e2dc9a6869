"""Samples of one model with z drawn from N(0, I) or from mixtures fitted to its codes.

  python benchmarks/latent_prior.py --run_dir=models/groove_4bar_hier \
      --train_path=data/groove-train.tfrecord --examples_path=data/groove-test.tfrecord \
      --components=1,10,20,50

For N(0, I) and each number of mixture components (latent_prior.fit on the
codes of every --train_path window), --num_samples grooves at --temperature,
measured against every window of --examples_path as train.py --mode=eval
measures samples (near copies against the training windows), beside the same
figures for as many random training windows. Prints a markdown table.
"""

from absl import flags

from drumvae import cli
from drumvae import runtime

FLAGS = flags.FLAGS
flags.DEFINE_string('run_dir', None, 'Run directory of train.py (or an export).',
                    **cli.SHARED_WITH_MAGENTA)
flags.DEFINE_string('train_path', None, 'The training NoteSequences (tfrecord).')
flags.DEFINE_string('examples_path', None, 'NoteSequences to measure against (a held-out split).',
                    **cli.SHARED_WITH_MAGENTA)
flags.DEFINE_list('components', ['1', '10', '20', '50'], 'Mixture sizes to try.')
flags.DEFINE_integer('num_samples', 800, 'Samples per prior.', lower_bound=1)
flags.DEFINE_float('temperature', 0.5, 'Decoder temperature.', lower_bound=1e-6)
flags.DEFINE_integer('seed', 0, 'Seed of the draws and the mixture fits.')
flags.mark_flags_as_required(['run_dir', 'train_path', 'examples_path'])

COLUMNS = ('notes_per_bar', 'in_data_range', 'profile_distance', 'snare_rolls',
           'near_copies')


def main(argv):
  del argv
  runtime.setup(FLAGS.verbose)
  runtime.load_tensorflow(FLAGS.verbose)
  import numpy as np  # pylint: disable=g-import-not-at-top
  import configs  # pylint: disable=g-import-not-at-top
  from drumvae import models  # pylint: disable=g-import-not-at-top
  from drumvae import dataset, evaluation, groove_metrics, latent_prior, run_dirs  # pylint: disable=g-import-not-at-top
  _, _, config = models.config_for_run(FLAGS.run_dir)
  model = models.load_model(config, run_dirs.latest_checkpoint(FLAGS.run_dir),
                                256, f'the config recorded in {FLAGS.run_dir}')
  train = dataset.convert_examples(FLAGS.train_path, config.data_converter, 'eval', 'all')
  held_out = dataset.convert_examples(FLAGS.examples_path, config.data_converter,
                                      'eval', 'all')
  reference = groove_metrics.hits(groove_metrics.patterns(held_out.outputs))
  _, mu, sigma = model.encode_tensors(list(train.inputs), list(train.lengths))
  rng = np.random.default_rng(FLAGS.seed)
  rows = [('random training windows (near copies: held-out windows)', {
      **evaluation.data_figures(train, reference, FLAGS.num_samples, rng),
      'near_copies': groove_metrics.near_copy_share(
          groove_metrics.patterns(held_out.outputs[:FLAGS.num_samples]),
          groove_metrics.patterns(train.outputs))})]
  priors = [('N(0, I)', None)] + [
      (f'{k} Gaussians', latent_prior.fit(mu, sigma, int(k), FLAGS.seed))
      for k in FLAGS.components]
  for name, prior in priors:
    figures = evaluation.sample_figures(model, config, reference, FLAGS.num_samples,
                                        FLAGS.temperature, rng, prior, train)
    rows.append((name, figures))
    print(f'{name}: ' + ', '.join(f'{c} {figures[c]:.3f}' for c in COLUMNS), flush=True)
  print(f'\n| z from | {" | ".join(COLUMNS)} |\n| --- |{" ---: |" * len(COLUMNS)}')
  for name, figures in rows:
    print(f'| {name} | ' + ' | '.join(f'{figures[c]:.3f}' for c in COLUMNS) + ' |')


if __name__ == '__main__':
  cli.run(main)
