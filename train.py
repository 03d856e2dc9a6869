"""Train (or evaluate) a 4-bar drum MusicVAE with Magenta's own training loop.

  python train.py --config=hierdec-drums_4bar_small --run_dir=runs/small \
      --examples_path=data/drums.tfrecord --num_steps=2000

Checkpoints and TensorBoard events go to RUN_DIR/train; running the same
command again resumes from the last checkpoint. The config name and --hparams
are recorded in RUN_DIR/run.json, so generate.py needs only --run_dir.
The flags are those of Magenta's music_vae_train, plus a few marked (added).
"""
import os

from absl import flags

from drumvae import cli
from drumvae import dataset
from drumvae import latent_prior
from drumvae import run_dirs
from drumvae import runtime

FLAGS = flags.FLAGS

_OVERRIDABLE = cli.SHARED_WITH_MAGENTA

flags.DEFINE_string(
    'config', None,
    'Name of the config in configs.py, e.g. hierdec-drums_4bar_small. '
    'Optional when RUN_DIR records one.', **_OVERRIDABLE)
flags.DEFINE_string(
    'run_dir', None,
    'Directory for checkpoints and summary events: `train` and `eval` '
    'subdirectories are created in it. Rerunning with the same directory '
    'resumes training.', **_OVERRIDABLE)
flags.DEFINE_enum(
    'mode', 'train', ['train', 'eval'],
    'train: train the model; eval: evaluate the checkpoints of RUN_DIR/train.',
    **_OVERRIDABLE)
flags.DEFINE_string(
    'examples_path', None,
    'Path to a TFRecord file of NoteSequences (made by make_tfrecord.py), or '
    'a glob of its shards, e.g. \'data/groove-train.tfrecord-*\'.',
    **_OVERRIDABLE)
flags.DEFINE_string(
    'tfds_name', None,
    'TensorFlow Datasets name to read instead of --examples_path, e.g. '
    'groove/full-midionly (downloads it: needs network access).',
    **_OVERRIDABLE)
flags.DEFINE_string(
    'hparams', '',
    'Comma-separated name=value pairs merged into the config\'s hparams, e.g. '
    '"batch_size=64,enc_rnn_size=[256,256]". Optional when RUN_DIR records them.',
    **_OVERRIDABLE)
flags.DEFINE_integer(
    'num_steps', 200000,
    'Train until the global step reaches this number (0 for no limit).',
    lower_bound=0, **_OVERRIDABLE)
flags.DEFINE_integer(
    'checkpoints_to_keep', 100,
    'Maximum number of checkpoints to keep in train mode, 0 for all.',
    lower_bound=0, **_OVERRIDABLE)
flags.DEFINE_float(
    'save_checkpoint_secs', 60,
    '(added) Save a checkpoint at most this often (Magenta: every 60 s), and '
    'always at the last step.', lower_bound=1)
flags.DEFINE_integer(
    'keep_checkpoint_every_n_hours', 1,
    'Besides --checkpoints_to_keep, keep one checkpoint every this many hours.',
    lower_bound=1, **_OVERRIDABLE)
flags.DEFINE_bool(
    'cache_dataset', True,
    'Keep the converted examples in memory (always so for --examples_path, '
    'which converts them once up front).', **_OVERRIDABLE)
flags.DEFINE_integer(
    'eval_num_batches', None,
    'Number of batches to use in eval mode; default: all of the data.',
    lower_bound=1, **_OVERRIDABLE)
flags.DEFINE_string(
    'eval_dir_suffix', '',
    'Suffix of the eval output directory, RUN_DIR/eval<suffix>.',
    **_OVERRIDABLE)
flags.DEFINE_string(
    'master', '', 'The TensorFlow master to use (distributed training).',
    **_OVERRIDABLE)
flags.DEFINE_integer(
    'task', 0, 'The task number of this worker (distributed training).',
    lower_bound=0, **_OVERRIDABLE)
flags.DEFINE_integer(
    'num_ps_tasks', 0, 'The number of parameter server tasks.',
    lower_bound=0, **_OVERRIDABLE)
flags.DEFINE_integer(
    'num_sync_workers', 0,
    'The number of synchronized workers; divides the batch size among them.',
    lower_bound=0, **_OVERRIDABLE)
flags.DEFINE_bool(
    'eval_continuous', False,
    '(added) In eval mode, poll RUN_DIR/train for new checkpoints and evaluate '
    'each, forever, as Magenta does; default: evaluate the latest one once and '
    'write metrics.json.')
flags.DEFINE_integer(
    'eval_samples', 100,
    '(added) In eval mode, grooves to sample for the musical measures (empty '
    'share, notes per bar, groove-profile distance to the eval data).',
    lower_bound=1)
flags.DEFINE_integer(
    'eval_interpolations', 10,
    '(added) In eval mode, interpolations (5 steps each) between random pairs '
    'of eval windows, for the endpoint accuracy and midpoint measures; 0 for '
    'none.', lower_bound=0)
flags.DEFINE_float(
    'eval_temperature', 0.5,
    '(added) In eval mode, the decoder temperature of those samples and '
    'interpolations (generate.py\'s default).', lower_bound=1e-6)
flags.DEFINE_float(
    'progress_secs', 10.0,
    '(added) Print step, loss, speed and time left at most this often.',
    lower_bound=0.0)
flags.DEFINE_integer(
    'save_summaries_steps', 100,
    '(added) Save TensorBoard summaries (loss, KL, accuracy...) every this '
    'many steps.', lower_bound=1)
flags.DEFINE_enum(
    'windows', 'all', ['all', 'capped', 'fresh'],
    '(added) Which 4-bar windows of each NoteSequence of --examples_path to '
    'train on: all = every distinct window; capped = at most 5 random ones, '
    'drawn once (Magenta with --cache_dataset); fresh = 5 drawn anew each '
    'epoch (Magenta with --cache_dataset=false).')
flags.DEFINE_multi_enum(
    'augment', [], dataset.AUGMENTATIONS,
    '(added) Vary each training window as it is drawn, half the time: limbs = '
    'the cymbals of another window of the same performance; thin = 15% of the '
    'hits dropped. Repeat the flag for both.')
flags.DEFINE_integer(
    'seed', None,
    '(added) Graph-level random seed, for repeatable runs.')
flags.DEFINE_enum('precision', 'auto', runtime.PRECISIONS, runtime.PRECISION_HELP)
flags.DEFINE_enum('latent_prior', 'auto', latent_prior.CHOICES,
                  '(added) In eval mode, where the sampled grooves draw z from: '
                  + latent_prior.HELP)

flags.mark_flag_as_required('run_dir')
flags.register_multi_flags_validator(
    ['examples_path', 'tfds_name'],
    lambda f: not (f['examples_path'] and f['tfds_name']),
    message='--examples_path and --tfds_name cannot both be set')
flags.register_validator(
    'examples_path',
    lambda path: not path or dataset.examples_files(os.path.expanduser(path)),
    message='no such file (make one with make_tfrecord.py)')


def main(argv):
  del argv  # cli.run refuses extra arguments
  runtime.setup(FLAGS.verbose)
  if FLAGS.mode == 'eval' and not FLAGS.eval_continuous:
    run_dirs.check_has_checkpoint(os.path.expanduser(FLAGS.run_dir))
  flag_values = cli.flag_values()  # as given: importing Magenta redefines some
  if FLAGS.mode == 'train':
    print(runtime.use_training_threads(), flush=True)
  runtime.load_tensorflow(FLAGS.verbose)  # ~10 s, so after the cheap checks
  import configs  # pylint: disable=g-import-not-at-top,unused-import  (registers them)
  from drumvae import training  # pylint: disable=g-import-not-at-top
  training.run(cli.options_from_flags(training.Options, flag_values))


if __name__ == '__main__':
  cli.run(main)
