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
    'Path to a TFRecord file of NoteSequences (made by make_tfrecord.py).',
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
flags.DEFINE_integer(
    'seed', None,
    '(added) Graph-level random seed, for repeatable runs.')

flags.mark_flag_as_required('run_dir')
flags.register_multi_flags_validator(
    ['examples_path', 'tfds_name'],
    lambda f: not (f['examples_path'] and f['tfds_name']),
    message='--examples_path and --tfds_name cannot both be set')


def load_config(run_dir, config_name, hparams, examples_path, tfds_name, mode):
  """The config to train or evaluate, with data source and hparams applied."""
  import configs  # pylint: disable=g-import-not-at-top
  from drumvae import run_dir as run_dir_lib  # pylint: disable=g-import-not-at-top
  config_name, hparams = run_dir_lib.resolve_settings(run_dir, config_name,
                                                      hparams)
  config = configs.get_config(config_name, hparams)
  if not examples_path and not tfds_name:
    raise cli.UserError('one of --examples_path or --tfds_name is required')
  source = {f'{mode}_examples_path': examples_path, 'tfds_name': tfds_name}
  config = config._replace(**source)
  return config_name, hparams, config


def check_tfds(tfds_name, split):
  """Loads the TFDS data set once, so a failure is one clear line."""
  import tensorflow_datasets as tfds  # pylint: disable=g-import-not-at-top
  try:
    tfds.load(tfds_name, split=split, try_gcs=True)
  except Exception as e:  # pylint: disable=broad-except  (network, registry, disk)
    raise cli.UserError(
        f'--tfds_name={tfds_name} could not be loaded '
        f'({type(e).__name__}: {str(e).splitlines()[0][:200]}). Offline? Get the '
        'Groove MIDI zip, convert it with make_tfrecord.py and pass '
        '--examples_path instead') from None


def dataset_fn_for(config, examples_path, tfds_name, is_training,
                   cache_dataset, seed, windows='all'):
  """The `dataset_fn` Magenta's train()/evaluate() call inside their graph."""
  from drumvae import dataset, magenta_compat  # pylint: disable=g-import-not-at-top
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  batch_size = config.hparams.batch_size
  if tfds_name:
    check_tfds(tfds_name, 'train' if is_training else 'validation')
    build = lambda: magenta_compat.get_dataset_without_unbatch(
        config, is_training, cache_dataset)
  else:
    mode = 'train' if is_training else 'eval'
    print(f'converting {examples_path} ...', flush=True)
    examples = dataset.convert_examples(examples_path, config.data_converter,
                                        mode, windows)
    dataset.check_enough_examples(examples, batch_size, examples_path)
    print(f'{len(examples)} 4-bar examples ({windows} windows) from '
          f'{examples.num_sequences} NoteSequences', flush=True)
    build = lambda: dataset.make_dataset(
        examples, batch_size, is_training, fresh_windows=windows == 'fresh',
        seed=seed)

  def dataset_fn():
    if seed is not None:
      tf.set_random_seed(seed)  # called inside Magenta's graph
    return build()

  return dataset_fn


def train(run_dir, config_name=None, hparams='', examples_path=None,
          tfds_name=None, num_steps=200000, checkpoints_to_keep=100,
          keep_checkpoint_every_n_hours=1, cache_dataset=True, master='',
          task=0, num_ps_tasks=0, num_sync_workers=0, progress_secs=10.0,
          save_summaries_steps=100, seed=None, windows='all'):
  """Trains into RUN_DIR/train, resuming from its last checkpoint if any."""
  from drumvae import fast_lstm, hooks, magenta_compat  # pylint: disable=g-import-not-at-top
  from drumvae import run_dir as run_dir_lib  # pylint: disable=g-import-not-at-top
  config_name, hparams, config = load_config(
      run_dir, config_name, hparams, examples_path, tfds_name, 'train')
  if num_sync_workers:
    config.hparams.batch_size //= num_sync_workers
  dataset_fn = dataset_fn_for(config, examples_path, tfds_name, True,
                              cache_dataset, seed, windows)
  run_dir_lib.write_run(run_dir, config_name, hparams, config.hparams.values(),
                        examples_path or tfds_name)
  print(f'training {config_name} into {run_dir_lib.train_dir(run_dir)}',
        flush=True)
  stop_hook = hooks.StopOnSignalHook()
  fast_lstm.use_fast_cpu_lstms()
  magenta_compat.train_with_hooks(
      run_dir_lib.train_dir(run_dir), config, dataset_fn,
      hooks=[hooks.ProgressHook(lambda: config.model.loss, num_steps,
                                progress_secs), stop_hook],
      save_summaries_steps=save_summaries_steps,
      num_steps=num_steps or None,
      checkpoints_to_keep=checkpoints_to_keep,
      keep_checkpoint_every_n_hours=keep_checkpoint_every_n_hours,
      master=master, num_sync_workers=num_sync_workers,
      num_ps_tasks=num_ps_tasks, task=task)
  if stop_hook.stopped_by:
    print(f'stopped by {stop_hook.stopped_by}; checkpoint saved, rerun to '
          'resume', flush=True)


def evaluate(run_dir, config_name=None, hparams='', examples_path=None,
             eval_num_batches=None, eval_dir_suffix='', master='',
             num_samples=100, temperature=0.5, num_interpolations=10,
             seed=None):
  """Evaluates the latest checkpoint once; returns the metrics it writes.

  On every 4-bar window of `examples_path` (or the first `eval_num_batches`
  batches): Magenta's teacher-forced figures, the sampled reconstruction
  accuracy, and the musical measures of `num_samples` samples and
  `num_interpolations` interpolations against those windows, beside the same
  measures for random windows of the training data recorded in run.json.
  """
  from drumvae import dataset, evaluation, fast_lstm  # pylint: disable=g-import-not-at-top
  from drumvae import run_dir as run_dir_lib  # pylint: disable=g-import-not-at-top
  config_name, hparams, config = load_config(
      run_dir, config_name, hparams, examples_path, None, 'eval')
  fast_lstm.use_fast_cpu_lstms()
  checkpoint = run_dir_lib.latest_checkpoint(run_dir)
  examples = dataset.convert_examples(examples_path, config.data_converter,
                                      'eval', windows='all')
  dataset.check_enough_examples(examples, 1, examples_path)
  config.hparams.batch_size = min(config.hparams.batch_size, len(examples))
  if eval_num_batches:
    examples = examples.head(eval_num_batches * config.hparams.batch_size)
  train_path = (run_dir_lib.read_run(run_dir) or {}).get('examples_path')
  train_examples = None
  if train_path and os.path.isfile(train_path):
    train_examples = dataset.convert_examples(
        train_path, config.data_converter, 'eval', windows='all')
  print(f'evaluating {checkpoint} on {len(examples)} 4-bar windows of '
        f'{examples_path}', flush=True)
  eval_dir = os.path.join(run_dir, 'eval' + eval_dir_suffix)
  metrics = {'config': config_name, 'hparams': hparams,
             'examples_path': examples_path,
             **evaluation.evaluate_checkpoint(
                 checkpoint, config, examples, eval_dir, master,
                 train_examples, num_samples, temperature, num_interpolations,
                 seed)}
  if 'data' in metrics:
    metrics['data']['examples_path'] = train_path
  path = evaluation.write_metrics(eval_dir, metrics)
  print(format_metrics(metrics))
  print(f'wrote {path}', flush=True)
  return metrics


def format_metrics(metrics, prefix=''):
  """metrics.json as aligned `name value` lines, nested keys joined by '.'."""
  lines = []
  for name, value in metrics.items():
    if isinstance(value, dict):
      lines.append(format_metrics(value, f'{prefix}{name}.'))
    elif not isinstance(value, str):
      value = f'{value:.4g}' if isinstance(value, float) else value
      lines.append(f'{prefix + name:44s} {value}')
  return '\n'.join(lines)


def evaluate_continuously(run_dir, config_name=None, hparams='',
                          examples_path=None, tfds_name=None,
                          eval_num_batches=None, eval_dir_suffix='',
                          cache_dataset=True, master=''):
  """Magenta's evaluate(): each new checkpoint of RUN_DIR/train, forever."""
  from magenta.models.music_vae import music_vae_train  # pylint: disable=g-import-not-at-top
  from drumvae import fast_lstm  # pylint: disable=g-import-not-at-top
  from drumvae import run_dir as run_dir_lib  # pylint: disable=g-import-not-at-top
  if not eval_num_batches:
    raise cli.UserError('--eval_continuous needs --eval_num_batches')
  fast_lstm.use_fast_cpu_lstms()
  _, _, config = load_config(run_dir, config_name, hparams, examples_path,
                             tfds_name, 'eval')
  dataset_fn = dataset_fn_for(config, examples_path, tfds_name, False,
                              cache_dataset, None)
  music_vae_train.evaluate(
      run_dir_lib.train_dir(run_dir), os.path.join(run_dir,
                                                   'eval' + eval_dir_suffix),
      config, dataset_fn, eval_num_batches, master)


def main(argv):
  if len(argv) > 1:
    raise cli.UserError(f'unexpected arguments: {" ".join(argv[1:])}')
  from drumvae import tf_env  # pylint: disable=g-import-not-at-top
  from drumvae import run_dir as run_dir_lib  # pylint: disable=g-import-not-at-top
  run_dir = os.path.expanduser(FLAGS.run_dir)
  examples_path = FLAGS.examples_path and os.path.expanduser(
      FLAGS.examples_path)
  # Cheap checks first, before the slow TensorFlow import.
  if examples_path and not os.path.isfile(examples_path):
    raise cli.UserError(f'--examples_path={examples_path}: no such file '
                        '(make one with make_tfrecord.py)')
  if FLAGS.mode == 'eval' and not FLAGS.eval_continuous:
    run_dir_lib.check_has_checkpoint(run_dir)
  tf_env.setup_tensorflow(FLAGS.verbose)
  if FLAGS.mode == 'train':
    train(run_dir, FLAGS.config, FLAGS.hparams, examples_path, FLAGS.tfds_name,
          num_steps=FLAGS.num_steps,
          checkpoints_to_keep=FLAGS.checkpoints_to_keep,
          keep_checkpoint_every_n_hours=FLAGS.keep_checkpoint_every_n_hours,
          cache_dataset=FLAGS.cache_dataset, master=FLAGS.master,
          task=FLAGS.task, num_ps_tasks=FLAGS.num_ps_tasks,
          num_sync_workers=FLAGS.num_sync_workers,
          progress_secs=FLAGS.progress_secs,
          save_summaries_steps=FLAGS.save_summaries_steps, seed=FLAGS.seed,
          windows=FLAGS.windows)
  elif FLAGS.eval_continuous:
    evaluate_continuously(
        run_dir, FLAGS.config, FLAGS.hparams, examples_path, FLAGS.tfds_name,
        FLAGS.eval_num_batches, FLAGS.eval_dir_suffix, FLAGS.cache_dataset,
        FLAGS.master)
  elif FLAGS.tfds_name:
    raise cli.UserError(
        'one-shot eval reads --examples_path (make_tfrecord.py can write '
        "Groove's validation split); --tfds_name works with --eval_continuous")
  else:
    evaluate(run_dir, FLAGS.config, FLAGS.hparams, examples_path,
             FLAGS.eval_num_batches, FLAGS.eval_dir_suffix, FLAGS.master,
             FLAGS.eval_samples, FLAGS.eval_temperature,
             FLAGS.eval_interpolations, FLAGS.seed)


if __name__ == '__main__':
  cli.run(main)
