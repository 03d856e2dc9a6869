"""What train.py records in a run directory, so later commands need no repeated flags.

  RUN_DIR/run.json   config name, --hparams string, resolved hparams, data path
  RUN_DIR/train/     checkpoints and TensorBoard events (Magenta's layout; README: Run dirs)
  RUN_DIR/eval/      evaluation summaries and metrics.json (eval<suffix>/ with --eval_dir_suffix)
  RUN_DIR/.lock      held by the one train.py writing there
"""
import json
import os
import re
import shutil

from drumvae import files
from drumvae.cli import UserError

RUN_FILE = 'run.json'
LOCK_FILE = '.lock'
METRICS_FILE = 'metrics.json'


def train_dir(run_dir):
  return os.path.join(run_dir, 'train')


def eval_dir(run_dir, suffix=''):
  return os.path.join(run_dir, 'eval' + suffix)


def metrics_path(run_dir, suffix=''):
  """RUN_DIR/eval<suffix>/metrics.json, written by train.py --mode=eval."""
  return os.path.join(eval_dir(run_dir, suffix), METRICS_FILE)


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
  """Records the settings atomically (a killed run never leaves half a file).

  `resolved_hparams` are every hparam's value, so a later change of a
  config's defaults does not change what an existing run dir loads.
  """
  record = {'config': config_name, 'hparams': hparams,
            'resolved_hparams': resolved_hparams,
            'examples_path': examples_path}
  files.write_json(os.path.join(run_dir, RUN_FILE), record)


def lock(run_dir):
  """Holds RUN_DIR/.lock while one trainer writes there; another is refused.

  A killed trainer never leaves the run dir locked (files.held_lock).
  """
  os.makedirs(run_dir, exist_ok=True)
  return files.held_lock(
      os.path.join(run_dir, LOCK_FILE),
      lambda holder: f'--run_dir={run_dir} is in use by {holder}; wait for it, '
                     'stop it, or choose another --run_dir')


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


def check_model_flags(run_dir=None, checkpoint_file=None):
  """UserError if --run_dir has no checkpoint or --checkpoint_file names none."""
  if run_dir:
    check_has_checkpoint(run_dir)
  elif checkpoint_file and not (os.path.exists(checkpoint_file) or
                                os.path.exists(checkpoint_file + '.index')):
    raise UserError(f'--checkpoint_file={checkpoint_file}: no such file or '
                    'directory (give a checkpoint prefix such as '
                    'RUN_DIR/train/model.ckpt-100, or its directory)')


CHECKPOINT_PATH = re.compile(r'^((?:all_)?model_checkpoint_path): "(.+)"$', re.MULTILINE)


def latest_checkpoint(run_dir):
  """The newest checkpoint prefix in RUN_DIR/train; UserError if there is none.

  Read from TensorFlow's `checkpoint` state file, where TensorFlow may have
  written absolute paths: only their file names count, found in this run
  dir's train/, so a moved or copied run dir reads its own checkpoints.
  """
  check_has_checkpoint(run_dir)
  with open(os.path.join(train_dir(run_dir), 'checkpoint')) as f:
    match = CHECKPOINT_PATH.search(f.read())
  checkpoint = match and os.path.join(train_dir(run_dir),
                                      os.path.basename(match.group(2)))
  if not checkpoint or not os.path.isfile(checkpoint + '.index'):
    raise UserError(f'--run_dir={run_dir} has no checkpoint in '
                    f'{train_dir(run_dir)} (train one with train.py)')
  return checkpoint


def make_checkpoint_paths_relative(run_dir):
  """Rewrites RUN_DIR/train/checkpoint with file names only, if it names paths.

  TensorFlow resumes from the paths there, absolute when the run dir was
  given as one: in a moved run dir it would find none, in a copy it would
  resume from the original's checkpoints.
  """
  path = os.path.join(train_dir(run_dir), 'checkpoint')
  if not os.path.isfile(path):
    return
  with open(path) as f:
    state = f.read()
  relative = CHECKPOINT_PATH.sub(
      lambda m: f'{m.group(1)}: "{os.path.basename(m.group(2))}"', state)
  if relative != state:
    with files.replaced_atomically([path]) as temp_paths, open(temp_paths[path], 'w') as f:
      f.write(relative)


# The temporary names TensorFlow writes a checkpoint under before renaming it
# whole: FILE.tmp<uuid hex> (the state file), PREFIX_temp/ (the weights).
PARTIAL_CHECKPOINT = re.compile(r'(\.tmp[0-9a-f]{32}|_temp)$')


def remove_partial_checkpoints(run_dir):
  """Deletes what a save cut short (a full disk, a kill) left in RUN_DIR/train.

  Nothing reads those names, so they would only fill the disk. Call it with
  the run dir's lock held. Returns the names removed.
  """
  directory = train_dir(run_dir)
  names = sorted(name for name in (os.listdir(directory) if os.path.isdir(directory) else [])
                 if PARTIAL_CHECKPOINT.search(name))
  for name in names:
    path = os.path.join(directory, name)
    if os.path.isdir(path):
      shutil.rmtree(path)
    else:
      os.remove(path)
  return names
