"""What train.py records in a run directory, so later commands need no repeated flags.

  RUN_DIR/run.json   config name, --hparams string, resolved hparams, data path
  RUN_DIR/train/     checkpoints and TensorBoard events (Magenta's layout)
  RUN_DIR/eval/      evaluation summaries
"""
import json
import os

from drumvae import files
from drumvae.cli import UserError

RUN_FILE = 'run.json'


def train_dir(run_dir):
  return os.path.join(run_dir, 'train')


def read_run(run_dir):
  """Returns the recorded run settings, or None for a run dir without them."""
  path = os.path.join(run_dir, RUN_FILE)
  if not os.path.exists(path):
    return None
  try:
    with open(path) as f:
      return json.load(f)
  except (OSError, ValueError) as e:
    raise UserError(f'{path} is not readable: {e}') from None


def write_run(run_dir, config_name, hparams, resolved_hparams, examples_path):
  """Records the settings atomically (a killed run never leaves half a file)."""
  record = {'config': config_name, 'hparams': hparams,
            'resolved_hparams': resolved_hparams,
            'examples_path': examples_path}
  files.write_json(os.path.join(run_dir, RUN_FILE), record)


def resolve_settings(run_dir, config_name, hparams):
  """Fills `config_name` / `hparams` from the run dir where they are not given.

  A run dir belongs to one config and one --hparams string: training a
  different model into it would fail on restore, so that is refused here.
  """
  recorded = read_run(run_dir) if run_dir else None
  if recorded is None:
    if not config_name:
      where = f'{run_dir} records no config' if run_dir else 'no --run_dir given'
      raise UserError(f'--config is required ({where})')
    return config_name, hparams
  if config_name and config_name != recorded['config']:
    raise UserError(
        f'--config={config_name} but {run_dir} was trained with '
        f'--config={recorded["config"]}; use that, or a new --run_dir')
  if hparams and hparams != recorded['hparams']:
    raise UserError(
        f'--hparams={hparams!r} but {run_dir} was trained with '
        f'--hparams={recorded["hparams"]!r}; use those, or a new --run_dir')
  return recorded['config'], recorded['hparams']


def check_has_checkpoint(run_dir):
  """UserError unless RUN_DIR/train records a checkpoint; needs no TensorFlow.

  A cheap first check, so a wrong --run_dir fails before the slow imports.
  """
  if not os.path.isdir(run_dir):
    raise UserError(f'--run_dir={run_dir}: no such directory (train a model '
                    'into it with train.py)')
  if not os.path.isfile(os.path.join(train_dir(run_dir), 'checkpoint')):
    raise UserError(f'--run_dir={run_dir} has no checkpoint in '
                    f'{train_dir(run_dir)} (train one with train.py)')


def latest_checkpoint(run_dir):
  """The newest checkpoint prefix in RUN_DIR/train; UserError if there is none."""
  check_has_checkpoint(run_dir)
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  checkpoint = tf.train.latest_checkpoint(train_dir(run_dir))
  if not checkpoint:
    raise UserError(f'--run_dir={run_dir} has no checkpoint in '
                    f'{train_dir(run_dir)} (train one with train.py)')
  return checkpoint
