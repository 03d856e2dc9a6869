"""Which model, from where: configs by name, run dirs, the shipped models, loading.

`configs.py` (at the repository root, where the tutorial has it) defines the
configs users read and edit and hands them to `register()`, which also adds
them to Magenta's CONFIG_MAP; the scripts import it before calling anything
here. Call `drumvae.runtime.setup()` and `load_tensorflow()` before that.

  get_config(name, hparams)     a private copy of a config, --hparams applied
  config_for_run(run_dir, ...)  the model a run dir records, --config/--hparams reconciled
  shipped_model(mode)           the model in models/ that serves a generate.py mode
  find_model(...)               the config and checkpoint to load, from the flags
  load_model(...)               Magenta's TrainedModel (refinement.RefinableModel)
"""
import contextlib
import copy
import dataclasses
import math
import os
from typing import Optional

from drumvae import cli
from drumvae import refinement
from drumvae import run_dirs
from drumvae import runtime
from drumvae.cli import UserError

import tensorflow.compat.v1 as tf
from magenta.models.music_vae import configs as magenta_configs
from magenta.models.music_vae import data

MODELS_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                          'models')
# The shipped model each generate.py mode uses without --run_dir (README: The
# shipped models): one groove model for every mode, the one the browser loads.
SHIPPED_MODELS = {'sample': 'groove_4bar_hier', 'interpolate': 'groove_4bar_hier',
                  'similar': 'groove_4bar_hier', 'humanize': 'groove_4bar_humanize'}

_configs = {}  # name -> Config, as configs.py registered them
_aliases = {}  # alias -> name


def register(configs, aliases=None):
  """Makes `configs` ({name: Config}) and `aliases` ({alias: name}) known.

  They are added to Magenta's CONFIG_MAP too, so Magenta's own tools see them.
  """
  aliases = aliases or {}
  _configs.update(configs)
  _configs.update({alias: configs[name] for alias, name in aliases.items()})
  _aliases.update(aliases)
  magenta_configs.CONFIG_MAP.update(_configs)


def config_names():
  return sorted(_configs)


def get_config(name, hparams=''):
  """Returns a deep copy of config `name` with `hparams` ('a=1,b=[2,3]') applied.

  Raises UserError naming --config or --hparams when either is not valid.
  """
  if not _configs:
    raise UserError('no configs are registered: import configs (configs.py, at '
                    'the repository root) before drumvae.models')
  if name not in _configs:
    raise UserError(f'--config={name!r} is not a known config; choose one of '
                    f'{", ".join(config_names())}')
  config = copy.deepcopy(_configs[name])
  if hparams:
    _parse_hparams(config, hparams)
  return config


# Hparams that only steer training: a trained model loads and samples the same
# whatever they are, so a run dir may be resumed or sampled with other values.
TRAINING_ONLY_HPARAMS = frozenset([
    'batch_size', 'learning_rate', 'decay_rate', 'min_learning_rate',
    'max_beta', 'beta_rate', 'free_bits', 'dropout_keep_prob',
    'sampling_schedule', 'sampling_rate', 'grad_clip', 'clip_mode',
    'grad_norm_clip_to_zero'])


def config_for_run(run_dir, config_name=None, hparams=''):
  """(config name, hparams string to record, config) for a run dir's model.

  A run dir without run.json takes --config and --hparams as given. One with
  it rebuilds the recorded model (from every recorded hparam value, so later
  changes of a config's defaults do not change it), then applies --hparams on
  top; a --config or --hparams that names another model is refused, naming
  what differs. An alias of the recorded config is the same config.
  """
  recorded = run_dirs.read_run(run_dir) if run_dir else None
  if recorded is None:
    if not config_name:
      where = f'{run_dir} records no config' if run_dir else 'no --run_dir given'
      raise UserError(f'--config is required ({where})')
    return config_name, hparams, get_config(config_name, hparams)
  recorded_name = recorded['config']
  if config_name and _aliases.get(config_name, config_name) != _aliases.get(
      recorded_name, recorded_name):
    raise UserError(
        f'--config={config_name} but {run_dir} was trained with '
        f'--config={recorded_name}; use that, or a new --run_dir')
  config = get_config(recorded_name, recorded['hparams'])
  recorded_values = config.hparams.values()
  recorded_values.update((name, value) for name, value
                         in recorded.get('resolved_hparams', {}).items()
                         if name in recorded_values)
  config.hparams.override_from_dict(recorded_values)
  if hparams:
    _parse_hparams(config, hparams)
  changed = sorted(name for name, value in config.hparams.values().items()
                   if name not in TRAINING_ONLY_HPARAMS
                   and value != recorded_values.get(name))
  if changed:
    name = changed[0]
    raise UserError(
        f'--hparams={hparams!r} sets {name}={config.hparams.get(name)} but '
        f'{run_dir}\'s model has {name}={recorded_values.get(name)}; a new '
        'model needs a new --run_dir')
  return recorded_name, recorded['hparams'], config


# Hparams whose values must lie in a range; outside it TensorFlow fails deep
# inside graph building (a zero size: a oneDNN abort, a bare ValueError).
POSITIVE_HPARAMS = ('batch_size', 'z_size', 'max_seq_len', 'enc_rnn_size',
                    'dec_rnn_size', 'learning_rate')
NON_NEGATIVE_HPARAMS = ('free_bits', 'max_beta', 'min_learning_rate', 'grad_clip')


def _parse_hparams(config, hparams):
  try:
    config.hparams.parse(hparams)
  except (ValueError, TypeError) as e:
    raise UserError(f'--hparams={hparams!r} is not valid: {e}') from None
  values = config.hparams.values()
  for name, allowed, ok in (
      [(name, 'above 0', lambda v: v > 0) for name in POSITIVE_HPARAMS] +
      [(name, '0 or more', lambda v: v >= 0) for name in NON_NEGATIVE_HPARAMS] +
      [('dropout_keep_prob', 'in (0, 1]', lambda v: 0 < v <= 1)]):
    value = values.get(name)
    items = value if isinstance(value, list) else [value]
    if value is not None and not all(math.isfinite(v) and ok(v) for v in items):
      raise UserError(f'--hparams={hparams!r}: {name}={value} must be {allowed}'
                      f'{" (each size)" if isinstance(value, list) else ""}')


def is_humanizer(config):
  """Whether `config` is a GrooVAE humanize model (drumvae.humanization), not a groove model."""
  return isinstance(config.data_converter, data.GrooveConverter)


def shipped_model(mode):
  """The run dir in models/ that generate.py --mode=`mode` uses by default."""
  return os.path.join(MODELS_DIR, SHIPPED_MODELS[mode])


@dataclasses.dataclass(frozen=True)
class FoundModel:
  config_name: str
  hparams: str  # the --hparams string the run recorded (or was given)
  config: magenta_configs.Config
  checkpoint: str  # a checkpoint prefix
  run_dir: Optional[str]  # None for a bare --checkpoint_file

  @property
  def description(self):
    return f'--config={self.config_name} --hparams={self.hparams!r}'


def find_model(run_dir=None, checkpoint_file=None, config_name=None, hparams='',
               mode='sample'):
  """The model generate.py's flags name: --run_dir, --checkpoint_file, or the shipped one.

  Without either flag the shipped model for `mode` is used, and named in one line.
  """
  if not run_dir and not checkpoint_file:
    run_dir = shipped_model(mode)
    cli.note_line(f'using the shipped model {os.path.relpath(run_dir)} for '
                  f'--mode={mode} (trained on Groove); --run_dir=YOUR_RUN for your own')
  name, recorded_hparams, config = config_for_run(run_dir, config_name, hparams)
  if run_dir:
    return FoundModel(name, recorded_hparams, config,
                      run_dirs.latest_checkpoint(run_dir), run_dir)
  path = checkpoint_file
  checkpoint = tf.train.latest_checkpoint(path) if os.path.isdir(path) else path
  if not checkpoint or not tf.train.checkpoint_exists(checkpoint):
    raise UserError(f'--checkpoint_file={path}: no checkpoint there')
  return FoundModel(name, recorded_hparams, config, checkpoint, None)


def load_model(config, checkpoint, batch_size, description, seed=None,
               optimize_graph=True):
  """Magenta's TrainedModel (refinement.RefinableModel), its graph seeded with `seed`.

  `optimize_graph=False` skips grappler: for a few runs on a few grooves.
  UserError if the checkpoint has other shapes, or is damaged.
  """
  try:
    with runtime.seeded_graphs(seed), (contextlib.nullcontext() if optimize_graph
                                       else runtime.graph_optimizer_off()):
      return refinement.RefinableModel(config, batch_size=batch_size,
                                       checkpoint_dir_or_path=checkpoint)
  except DAMAGED_CHECKPOINT_ERRORS as e:
    raise damaged_checkpoint(checkpoint, e) from None
  except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError) as e:
    raise UserError(
        f'checkpoint {checkpoint} does not fit {description} (was it trained '
        f'with another config or hparams?): {_reason(e)}') from None


# What restoring a truncated (OutOfRange) or corrupted (DataLoss) checkpoint
# raises; tf.train's checkpoint reader raises IndexError for a truncated one.
DAMAGED_CHECKPOINT_ERRORS = (tf.errors.OutOfRangeError, tf.errors.DataLossError,
                             IndexError)


def damaged_checkpoint(checkpoint, error):
  """The UserError saying that `checkpoint` is damaged, and why."""
  return UserError(
      f'checkpoint {checkpoint} is damaged ({_reason(error)}): a copy cut short '
      'or a full disk? Copy it again, or train into a new --run_dir')


@contextlib.contextmanager
def damaged_checkpoint_named(run_dir):
  """Within it, restoring a damaged checkpoint of RUN_DIR/train (to resume or
  evaluate it) raises the UserError that names it."""
  try:
    yield
  except (tf.errors.OutOfRangeError, tf.errors.DataLossError) as e:
    if 'RestoreV2' not in (e.message or ''):
      raise
    raise damaged_checkpoint(run_dirs.latest_checkpoint(run_dir), e) from None


def _reason(error):
  """The line of a TensorFlow error that says what went wrong (not where)."""
  message = getattr(error, 'message', None) or str(error)
  lines = [line.strip() for line in message.splitlines() if line.strip()
           and not line.startswith((' ', '\t', 'Graph execution error',
                                    'Detected at node', 'Node:'))]
  reason = lines[-1] if lines else type(error).__name__
  return reason.split('): ', 1)[-1][:200]  # "TensorBundle at PATH shard 0 (N bytes): ..."
