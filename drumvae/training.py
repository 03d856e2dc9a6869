"""train.py's job: train a MusicVAE with Magenta's loop, or evaluate its checkpoints.

`run(Options(...))` does what `train.py` does with the same flags; the notebook
and the tests call it directly. Call `drumvae.runtime.setup()` and
`load_tensorflow()` first.
"""
import contextlib
import dataclasses
import os
import socket
from typing import Optional

from drumvae import dataset
from drumvae import distributed
from drumvae import evaluation
from drumvae import hooks
from drumvae import latent_prior
from drumvae import models
from drumvae import run_dirs
from drumvae import runtime
from drumvae.cli import UserError

import tensorflow.compat.v1 as tf
import tensorflow_datasets as tfds
from magenta.models.music_vae import music_vae_train

# Where TFDS downloads from (its GCS mirror and Magenta's Groove zip): checked
# before a download, so offline the error comes in seconds, not after minutes
# of retries.
TFDS_DOWNLOAD_HOST = ('storage.googleapis.com', 443)
NETWORK_TIMEOUT_SECS = 10


@dataclasses.dataclass
class Options:
  """train.py's flags (same names, same defaults); see `train.py --help`."""
  run_dir: str
  config: Optional[str] = None
  hparams: str = ''
  mode: str = 'train'  # or 'eval'
  examples_path: Optional[str] = None
  tfds_name: Optional[str] = None
  num_steps: int = 200000
  checkpoints_to_keep: int = 100
  keep_checkpoint_every_n_hours: int = 1
  save_checkpoint_secs: float = 60.0
  cache_dataset: bool = True
  eval_num_batches: Optional[int] = None
  eval_dir_suffix: str = ''
  eval_continuous: bool = False
  eval_samples: int = 100
  eval_interpolations: int = 10
  eval_temperature: float = 0.5
  master: str = ''
  task: int = 0
  num_ps_tasks: int = 0
  num_sync_workers: int = 0
  progress_secs: float = 10.0
  save_summaries_steps: int = 100
  windows: str = 'all'
  augment: tuple = ()
  seed: Optional[int] = None
  precision: str = 'auto'
  latent_prior: str = 'auto'

  def __post_init__(self):
    self.run_dir = os.path.expanduser(self.run_dir)
    if self.examples_path:
      self.examples_path = os.path.expanduser(self.examples_path)


def run(options):
  """Trains, or evaluates once, or evaluates continuously, as `options` say.

  With TF_CONFIG set, training joins that cluster (a ps process serves until
  stopped). Returns the train dir, or the metrics of a one-shot evaluation.
  """
  with models.damaged_checkpoint_named(options.run_dir):
    if options.mode == 'train':
      task = distributed.task_from_environment()
      if task and task.job == 'ps':
        return distributed.serve_parameters(task)
      return train(options, task)
    if options.eval_continuous:
      return evaluate_continuously(options)
    return evaluate(options)


def train(options, task=None, extra_hooks=()):
  """Trains into RUN_DIR/train, resuming from its last checkpoint if any.

  One trainer at a time per run dir: the chief (task 0) holds its lock. As a
  worker of the cluster `task` (distributed.Task), it trains with the others.
  `extra_hooks`: more SessionRunHooks (the benchmarks' step timer and tracer).
  """
  session_config = None
  if task:
    server = distributed.start_server(task)
    options = dataclasses.replace(
        options, master=server.target, task=task.index,
        num_ps_tasks=len(task.cluster['ps']),
        num_sync_workers=options.num_sync_workers or len(task.cluster['worker']))
    session_config = distributed.session_config(task)
    distributed.exit_when_parameter_servers_stop(task, options.run_dir)
  chief = options.task == 0
  print(runtime.use_precision(options.precision), flush=True)
  with run_dirs.lock(options.run_dir) if chief else contextlib.nullcontext():
    config_name, hparams, config = load_config(options)
    resolved_hparams = config.hparams.values()  # with the whole batch
    if options.num_sync_workers:  # each worker a share of it
      config.hparams.batch_size //= options.num_sync_workers
    dataset_fn = dataset_fn_for(config, options, is_training=True)
    if chief:
      prepare_run_dir(options, config_name, hparams, resolved_hparams)
    train_dir = run_dirs.train_dir(options.run_dir)
    print(f'training {config_name} into {train_dir}', flush=True)
    stop_hook = hooks.StopOnSignalHook()
    progress_hook = hooks.ProgressHook(lambda: config.model.loss,
                                       options.num_steps, options.progress_secs)
    magenta_train(
        train_dir, config, dataset_fn, our_hooks=[progress_hook, stop_hook, *extra_hooks],
        save_summaries_steps=options.save_summaries_steps,
        save_checkpoint_secs=options.save_checkpoint_secs,
        session_config=session_config,
        num_steps=options.num_steps or None,
        checkpoints_to_keep=options.checkpoints_to_keep,
        keep_checkpoint_every_n_hours=options.keep_checkpoint_every_n_hours,
        master=options.master, num_sync_workers=options.num_sync_workers,
        num_ps_tasks=options.num_ps_tasks, task=options.task)
    if stop_hook.stopped_by:
      saved = 'checkpoint saved' if chief else 'the chief keeps the checkpoints'
      print(f'stopped by {stop_hook.stopped_by}; {saved}, rerun to resume',
            flush=True)
  return train_dir


def prepare_run_dir(options, config_name, hparams, resolved_hparams):
  """The chief's first step: the run dir tidied and its settings recorded."""
  run_dirs.make_checkpoint_paths_relative(options.run_dir)  # moved or copied
  removed = run_dirs.remove_partial_checkpoints(options.run_dir)
  if removed:
    print(f'removed what an earlier checkpoint save cut short left: '
          f'{", ".join(removed)}', flush=True)
  run_dirs.write_run(options.run_dir, config_name, hparams, resolved_hparams,
                     options.examples_path or options.tfds_name)


def magenta_train(train_dir, config, dataset_fn, our_hooks=(),
                  save_summaries_steps=100, save_checkpoint_secs=60,
                  session_config=None, **train_kwargs):
  """Magenta's `music_vae_train.train()`, its loop run as runtime.magenta_training_loop says.

  `train_kwargs` go to Magenta's `train()` unchanged (num_steps,
  checkpoints_to_keep, master, task, ...).
  """
  with runtime.magenta_training_loop(our_hooks, save_summaries_steps,
                                     save_checkpoint_secs, session_config):
    music_vae_train.train(train_dir, config=config, dataset_fn=dataset_fn,
                          **train_kwargs)


def evaluate(options):
  """Evaluates the latest checkpoint once; returns the metrics it writes.

  On every 4-bar window of --examples_path (or the first --eval_num_batches
  batches): Magenta's teacher-forced figures, the sampled reconstruction
  accuracy, and the musical measures of samples and interpolations against
  those windows, beside the same measures for random windows of the training
  data recorded in run.json. A humanize model gets its own measures instead
  (evaluation.evaluate_humanizer), beside the average drummer of that data.
  """
  if options.tfds_name:
    raise UserError(
        'one-shot eval reads --examples_path (make_tfrecord.py can write '
        "Groove's validation split); --tfds_name works with --eval_continuous")
  config_name, hparams, config = load_config(options)
  checkpoint = run_dirs.latest_checkpoint(options.run_dir)
  print(runtime.use_precision(options.precision), flush=True)
  examples = dataset.convert_examples(options.examples_path,
                                      config.data_converter, 'eval', 'all')
  dataset.check_enough_examples(examples, 1, options.examples_path)
  config.hparams.batch_size = min(config.hparams.batch_size, len(examples))
  if options.eval_num_batches:
    examples = examples.head(options.eval_num_batches *
                             config.hparams.batch_size)
  train_path = (run_dirs.read_run(options.run_dir) or {}).get('examples_path')
  train_examples = None
  if train_path and dataset.examples_files(train_path):
    train_examples = dataset.convert_examples(
        train_path, config.data_converter, 'eval', 'all')
  eval_dir = run_dirs.eval_dir(options.run_dir, options.eval_dir_suffix)
  metrics = {'config': config_name, 'hparams': hparams,
             'examples_path': options.examples_path}
  if models.is_humanizer(config):
    print(f'evaluating {checkpoint} on {len(examples)} 4-bar windows of '
          f'{options.examples_path}', flush=True)
    metrics.update(evaluation.evaluate_humanizer(
        checkpoint, config, examples, eval_dir, options.master, train_examples))
  else:
    prior, which_prior = latent_prior.choose(
        options.run_dir, config.hparams.z_size, options.latent_prior)
    print(f'evaluating {checkpoint} on {len(examples)} 4-bar windows of '
          f'{options.examples_path}; samples: {which_prior}', flush=True)
    metrics.update(evaluation.evaluate_checkpoint(
        checkpoint, config, examples, eval_dir, options.master,
        train_examples, options.eval_samples, options.eval_temperature,
        options.eval_interpolations, options.seed, prior))
  if 'data' in metrics:
    metrics['data']['examples_path'] = train_path
  path = evaluation.write_metrics(eval_dir, metrics)
  print(format_metrics(metrics))
  print(f'wrote {path}', flush=True)
  return metrics


def evaluate_continuously(options):
  """Magenta's evaluate(): each new checkpoint of RUN_DIR/train, forever."""
  if not options.eval_num_batches:
    raise UserError('--eval_continuous needs --eval_num_batches')
  _, _, config = load_config(options)
  print(runtime.use_precision(options.precision), flush=True)
  dataset_fn = dataset_fn_for(config, options, is_training=False)
  music_vae_train.evaluate(
      run_dirs.train_dir(options.run_dir),
      run_dirs.eval_dir(options.run_dir, options.eval_dir_suffix),
      config, dataset_fn, options.eval_num_batches, options.master)


def load_config(options):
  """(config name, hparams, config) with the data source applied."""
  if not options.examples_path and not options.tfds_name:
    raise UserError('one of --examples_path or --tfds_name is required')
  config_name, hparams, config = models.config_for_run(
      options.run_dir, options.config, options.hparams)
  mode = 'train' if options.mode == 'train' else 'eval'
  config = config._replace(**{f'{mode}_examples_path': options.examples_path,
                              'tfds_name': options.tfds_name})
  return config_name, hparams, config


def dataset_fn_for(config, options, is_training):
  """The `dataset_fn` Magenta's train()/evaluate() call inside their graph."""
  # Each worker of a cluster its own order, so they do not train on the same batches.
  seed = None if options.seed is None else options.seed + options.task
  if options.tfds_name:
    check_tfds(options.tfds_name, 'train' if is_training else 'validation')
    build = lambda: runtime.magenta_dataset(config, is_training,
                                            options.cache_dataset)
  else:
    windows = options.windows if is_training else 'all'
    print(f'converting {options.examples_path} ...', flush=True)
    examples = dataset.convert_examples(
        options.examples_path, config.data_converter,
        'train' if is_training else 'eval', windows)
    dataset.check_enough_examples(examples, config.hparams.batch_size,
                                  options.examples_path)
    augment = tuple(options.augment) if is_training else ()
    if augment and models.is_humanizer(config):
      raise UserError('--augment varies the hits of a groove model\'s windows; '
                      'a humanizer learns from the drummers\' own: train it '
                      'without --augment')
    print(f'{len(examples)} 4-bar examples ({windows} windows'
          f'{", augmented: " + "+".join(augment) if augment else ""}) from '
          f'{examples.num_sequences} NoteSequences', flush=True)
    build = lambda: dataset.make_dataset(
        examples, config.hparams.batch_size, is_training,
        fresh_windows=windows == 'fresh', seed=seed, augment=augment)

  def dataset_fn():
    if seed is not None:
      tf.set_random_seed(seed)  # called inside Magenta's graph
    return build()

  return dataset_fn


def check_tfds(tfds_name, split):
  """Loads the TFDS data set once, so a failure is one clear line, and soon."""
  def refuse(reason):
    raise UserError(
        f'--tfds_name={tfds_name} could not be loaded ({reason}). Offline? Get '
        'the Groove MIDI zip, convert it with make_tfrecord.py and pass '
        '--examples_path instead')

  try:
    if not tfds.builder(tfds_name).is_prepared():
      socket.create_connection(TFDS_DOWNLOAD_HOST,
                               timeout=NETWORK_TIMEOUT_SECS).close()
    tfds.load(tfds_name, split=split, try_gcs=True)
  except OSError as e:
    refuse(f'no connection to {TFDS_DOWNLOAD_HOST[0]}: {e.strerror or e}')
  except Exception as e:  # pylint: disable=broad-except  (registry, disk, data)
    refuse(f'{type(e).__name__}: {str(e).splitlines()[0][:200]}')


def format_metrics(metrics):
  """metrics.json as aligned `name value` lines, nested keys joined by '.'."""
  lines = list(_leaves_to_print(metrics))
  width = max(len(name) for name, _ in lines)
  return '\n'.join(f'{name:{width}s} {value}' for name, value in lines)


def _leaves_to_print(metrics, prefix=''):
  """(dotted name, value) of every leaf but the strings (paths, names)."""
  for name, value in metrics.items():
    if isinstance(value, dict):
      yield from _leaves_to_print(value, f'{prefix}{name}.')
    elif not isinstance(value, str):
      yield prefix + name, f'{value:.4g}' if isinstance(value, float) else value

