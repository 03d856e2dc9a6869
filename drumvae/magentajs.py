"""A trained model as Magenta.js loads it, for the page in web/.

`mm.MusicVAE(url)` (npm `@magenta/music`) reads URL/config.json, then
URL/weights_manifest.json and the weight shards it lists, in TensorFlow.js's
weights format (what magenta-js's scripts/checkpoint_converter.py writes with
tensorflowjs; written here with numpy, so no tensorflowjs install). The
directory also holds:

  latent_prior.json  the run's fitted mixture of Gaussians (drumvae.latent_prior),
                     so the page samples z where generate.py does
  parity.json        latent vectors with what Python decodes from them
                     (greedy), and windows with the codes Python encodes:
                     the page checks its own decodes and codes against them

Magenta.js implements only some structures (`initialize()` in its
music_vae/model.js): a conductor decoder over a two-level hierarchical
encoder of one bidirectional layer per level (configs.py:
hier-drums_4bar_cpu), or a flat decoder over a single-layer bidirectional
encoder (the humanizer). Other models are refused, naming why.
"""
import json
import os
import re
import shutil

import numpy as np

from drumvae import dataset
from drumvae import export
from drumvae import latent_prior
from drumvae import models
from drumvae import run_dirs
from drumvae.cli import UserError

from magenta.models.music_vae import data
from magenta.models.music_vae import lstm_models

SHARD_BYTES = 4 * 1024 * 1024  # tfjs's default shard size
QUANTIZATIONS = ('float32', 'uint8')
PARITY_DRAWS = 4  # latent vectors decoded for parity.json
_ENCODER_CELL = re.compile(
    r'^encoder/(?:hierarchical_level_(\d+)/)?cell_(\d+)/bidirectional_rnn/fw/'
    r'multi_rnn_cell/cell_(\d+)/lstm_cell/kernel$')


def converter_spec(config):
  """config.json's `dataConverter`: Magenta.js's converter matching the config's."""
  converter = config.data_converter
  steps = config.hparams.max_seq_len
  pitch_classes = [list(c) for c in converter._pitch_classes]  # pylint: disable=protected-access
  if isinstance(converter, data.GrooveConverter):
    return {'type': 'GrooveConverter',
            'args': {'numSteps': steps, 'humanize': True,
                     'pitchClasses': pitch_classes}}
  args = {'numSteps': steps, 'pitchClasses': pitch_classes}
  decoder = config.model.decoder
  if isinstance(decoder, lstm_models.HierarchicalLstmDecoder):
    args['numSegments'] = decoder._level_lengths[0]  # pylint: disable=protected-access
  return {'type': 'DrumsConverter', 'args': args}


def check_loadable(variables, spec, run_dir):
  """UserError unless Magenta.js can build this model from `variables`."""
  levels, layers = set(), set()
  for name in variables:
    match = _ENCODER_CELL.match(name)
    if match:
      levels.add(int(match.group(1) or 0))
      layers.add((int(match.group(2)), int(match.group(3))))
  conductor = 'numSegments' in spec['args']
  hierarchical = any('hierarchical_level' in n for n in variables
                     if n.startswith('encoder/'))
  if conductor and not (hierarchical and levels == {0, 1} and layers == {(0, 0)}):
    raise UserError(
        f'--format=magentajs: {run_dir} has a conductor decoder over '
        f'{"a " + str(len(levels)) + "-level" if hierarchical else "a flat"} '
        f'encoder of {len(layers)} layer(s); Magenta.js loads a conductor '
        'decoder only over a two-level hierarchical encoder of one '
        'bidirectional layer per level (train --config=hier-drums_4bar_cpu)')
  if not conductor and (hierarchical or layers != {(0, 0)}):
    raise UserError(
        f'--format=magentajs: {run_dir} has a flat decoder over an encoder '
        f'of {len(layers)} layer(s); Magenta.js loads a flat decoder only over '
        'a single-layer bidirectional encoder')


def weight_entries(variables, quantization):
  """(manifest entries, bytes) of every weight, float32 or linearly quantized to uint8."""
  entries, chunks = [], []
  for name in sorted(variables):
    value = np.asarray(variables[name], np.float32)
    if value.ndim == 0:  # the global step
      continue
    entry = {'name': name, 'shape': list(value.shape), 'dtype': 'float32'}
    if quantization == 'uint8':
      low, high = float(value.min()), float(value.max())
      scale = (high - low) / 255 or 1.0
      chunks.append(np.round((value - low) / scale).astype(np.uint8).tobytes())
      entry['quantization'] = {'dtype': 'uint8', 'scale': scale, 'min': low}
    else:
      chunks.append(value.astype('<f4').tobytes())
    entries.append(entry)
  return entries, b''.join(chunks)


def write_weights(directory, variables, quantization='float32'):
  """weights_manifest.json and its shards in `directory`; returns the bytes written."""
  entries, weights = weight_entries(variables, quantization)
  count = max(1, -(-len(weights) // SHARD_BYTES))
  paths = [f'group1-shard{i + 1}of{count}.bin' for i in range(count)]
  for i, path in enumerate(paths):
    with open(os.path.join(directory, path), 'wb') as f:
      f.write(weights[i * SHARD_BYTES:(i + 1) * SHARD_BYTES])
  _write_json(os.path.join(directory, 'weights_manifest.json'),
              [{'paths': paths, 'weights': entries}])
  return len(weights)


def prior_record(prior):
  """latent_prior.json: z = means[k] + scaleTrils[k] @ noise, k drawn by weights."""
  return {'weights': _rounded(prior.weights), 'means': _rounded(prior.means),
          'scaleTrils': _rounded(prior.scale_trils),
          'numWindows': int(prior.num_windows)}


def parity_record(model, config, prior, windows, seed=0):
  """What Python decodes from a few z, and encodes from `windows` (input tensors)."""
  z_size = config.hparams.z_size
  rng = np.random.default_rng(seed)
  z = latent_prior.draw(prior, PARITY_DRAWS, z_size, rng).astype(np.float32)
  decoded = model.decode_to_tensors(z, length=config.hparams.max_seq_len,
                                    temperature=1e-5)
  record = {'z': _rounded(z), 'decoded': [_decoded(t, config) for t in decoded]}
  if windows:
    _, mu, _ = model.encode_tensors(windows, [len(w) for w in windows])
    record.update(inputs=_rounded(windows), mu=_rounded(mu))
  return record


def _decoded(tensor, config):
  if models.is_humanizer(config):  # hits, velocities, offsets per drum and step
    return _rounded(np.asarray(tensor))
  return np.argmax(tensor, axis=-1).astype(int).tolist()  # one drum-set label per step


def first_windows(examples_path, config, num=PARITY_DRAWS):
  """Input tensors of the first `num` windows of `examples_path` (none if it is gone)."""
  if not examples_path or not dataset.examples_files(examples_path):
    return []
  converter = config.data_converter
  converter.set_mode('eval')
  windows = []
  for sequence in dataset.read_note_sequences(examples_path):
    windows.extend(converter.to_tensors(sequence).inputs)
    if len(windows) >= num:
      break
  return windows[:num]


def export_run(run_dir, output_dir, quantization='float32', examples_path=None):
  """Writes `output_dir` for Magenta.js from RUN_DIR's latest checkpoint.

  The latent prior is the run dir's own (an exported run dir has one), or
  fitted to `examples_path` (default: the training data run.json records);
  the first windows of that data, if it is still there, are encoded into parity.json. Returns the
  weight bytes written.
  """
  if os.path.exists(output_dir):
    raise UserError(f'--output_dir={output_dir} exists; choose a new one')
  name, _, config = models.config_for_run(run_dir)
  checkpoint = run_dirs.latest_checkpoint(run_dir)
  variables = export.model_variables(checkpoint)
  spec = {'type': 'MusicVAE', 'dataConverter': converter_spec(config)}
  check_loadable(variables, spec['dataConverter'], run_dir)
  humanizer = models.is_humanizer(config)
  examples_path = examples_path or (run_dirs.read_run(run_dir) or {}).get(
      'examples_path')
  prior = None if humanizer else latent_prior.load(run_dir, config.hparams.z_size)
  if prior is None and not humanizer:
    if not examples_path or not dataset.examples_files(examples_path):
      raise UserError(f'{run_dir} has no latent_prior.npz and its training '
                      'data is not there to fit one to: export it with '
                      '--format=run_dir --examples_path=THE_DATA first')
    prior = export.fit_latent_prior(run_dir, checkpoint, examples_path)
  staging = output_dir.rstrip('/') + '.partial'
  shutil.rmtree(staging, ignore_errors=True)
  os.makedirs(staging)
  _write_json(os.path.join(staging, 'config.json'), spec)
  size = write_weights(staging, variables, quantization)
  if prior is not None:
    _write_json(os.path.join(staging, 'latent_prior.json'), prior_record(prior))
  model = models.load_model(config, checkpoint, PARITY_DRAWS,
                            f'the config recorded in {run_dir}')
  _write_json(os.path.join(staging, 'parity.json'),
              dict(parity_record(model, config, prior,
                                 first_windows(examples_path, config)),
                   config=name, quantization=quantization))
  os.rename(staging, output_dir)
  return size


def _rounded(array, digits=6):
  """A float array as nested lists of `digits` significant digits (smaller JSON)."""
  return np.vectorize(lambda v: float(f'{v:.{digits}g}'), otypes=[float])(
      np.asarray(array, np.float64)).tolist()


def _write_json(path, record):
  with open(path, 'w') as f:
    json.dump(record, f, separators=(',', ':'))
