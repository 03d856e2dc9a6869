"""The speed levers change no math (the MatMul LSTM cell, the hoisted encoder, the
whole fast path), and freed memory is kept for reuse."""
import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from drumvae import runtime
from conftest import REPO

FIRST_LOSSES = os.path.join(REPO, 'tests', 'first_losses.py')


@pytest.fixture(name='tf', scope='module')
def fixture_tf():
  runtime.load_tensorflow()
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top,redefined-outer-name
  return tf


def outputs_and_gradients(tf, fast, build, inputs, weights):
  """Names of the variables, and `build`'s output and gradients with set weights.

  `build(x)` makes the LSTMs under test over the constant `x`, with the fast
  CPU LSTMs on or off, and returns their output and a scalar loss of it.
  """
  runtime.use_fast_cpu_lstms(fast)
  try:
    with tf.Graph().as_default():
      x = tf.constant(inputs)
      output, loss = build(x)
      variables = tf.trainable_variables()
      gradients = tf.gradients(loss, [x] + variables)
      with tf.Session() as session:
        for variable in variables:
          variable.load(weights[variable.op.name], session)
        values = session.run([output] + gradients)
    return [v.op.name for v in variables], values
  finally:
    runtime.use_fast_cpu_lstms()  # as runtime.load_tensorflow() leaves it


def lstm_outputs_and_gradients(tf, matmul_cells, inputs, weights):
  """Outputs and gradients of a 2-layer LSTM over `inputs`, with set weights."""
  from magenta.contrib import rnn as contrib_rnn  # pylint: disable=g-import-not-at-top

  def build(x):
    cell = tf.nn.rnn_cell.MultiRNNCell([contrib_rnn.LSTMBlockCell(32),
                                        contrib_rnn.LSTMBlockCell(16)])
    outputs, _ = tf.nn.dynamic_rnn(cell, x, dtype=tf.float32)
    return outputs, tf.reduce_sum(tf.square(outputs))

  return outputs_and_gradients(tf, matmul_cells, build, inputs, weights)


def test_matmul_lstm_cell_equals_the_block_op_with_the_same_variables(tf):
  random = np.random.RandomState(0)
  inputs = random.randn(8, 12, 10).astype(np.float32)
  shapes = {'rnn/multi_rnn_cell/cell_0/lstm_cell/kernel': (42, 128),
            'rnn/multi_rnn_cell/cell_0/lstm_cell/bias': (128,),
            'rnn/multi_rnn_cell/cell_1/lstm_cell/kernel': (48, 64),
            'rnn/multi_rnn_cell/cell_1/lstm_cell/bias': (64,)}
  weights = {name: 0.3 * random.randn(*shape).astype(np.float32)
             for name, shape in shapes.items()}
  block_names, block_values = lstm_outputs_and_gradients(tf, False, inputs, weights)
  matmul_names, matmul_values = lstm_outputs_and_gradients(tf, True, inputs, weights)
  assert block_names == matmul_names == list(shapes)  # Same checkpoints.
  assert np.abs(block_values[0]).max() > 0.1  # Not two zero outputs compared.
  for block, matmul in zip(block_values, matmul_values):
    np.testing.assert_allclose(matmul, block, rtol=1e-4, atol=1e-5)


def encoder_outputs_and_gradients(tf, fast, inputs, lengths, weights, hparams=''):
  """Magenta's bidirectional encoder (2 layers) and its gradients, with set weights."""
  from magenta.models.music_vae import lstm_models  # pylint: disable=g-import-not-at-top
  import configs  # pylint: disable=g-import-not-at-top
  from drumvae import models  # pylint: disable=g-import-not-at-top

  def build(x):
    tf.set_random_seed(0)
    config = models.get_config('hierdec-drums_4bar_small', f'enc_rnn_size=[24,16],{hparams}')
    encoder = lstm_models.BidirectionalLstmEncoder()
    encoder.build(config.hparams, is_training=True)
    encoding = encoder.encode(x, tf.constant(lengths))
    return encoding, tf.reduce_sum(tf.sin(3 * encoding))

  return outputs_and_gradients(tf, fast, build, inputs, weights)


def encoder_weights(random):
  """Weights of the 2-layer encoder above, by variable name."""
  layer = 'encoder/cell_{}/bidirectional_rnn/{}/multi_rnn_cell/cell_0/lstm_cell/{}'
  shapes = {}
  for i, (input_depth, units) in enumerate(((10, 24), (48, 16))):
    for direction in ('fw', 'bw'):
      shapes[layer.format(i, direction, 'kernel')] = (input_depth + units, 4 * units)
      shapes[layer.format(i, direction, 'bias')] = (4 * units,)
  return {name: 0.4 * random.randn(*shape).astype(np.float32)
          for name, shape in shapes.items()}


@pytest.mark.parametrize('hoisted_layers', ['both', 'second'])
def test_hoisted_encoder_equals_magentas_with_the_same_variables(tf, monkeypatch, hoisted_layers):
  """Hoisted, and with a layer in the per-step loop (where a narrow layer trains with dropout)."""
  from drumvae import fast_lstm  # pylint: disable=g-import-not-at-top
  if hoisted_layers == 'second':  # the first layer's input is the 10-wide roll
    monkeypatch.setattr(fast_lstm, '_hoisted', lambda layer, input_depth: input_depth != 10)
  random = np.random.RandomState(1)
  inputs = (random.rand(6, 12, 10) < 0.3).astype(np.float32)
  # Short ones too (masking), and an empty one, as TrainedModel pads its batches.
  lengths = np.array([12, 7, 1, 12, 4, 0], np.int32)
  weights = encoder_weights(random)
  stock_names, stock_values = encoder_outputs_and_gradients(
      tf, False, inputs, lengths, weights)
  fast_names, fast_values = encoder_outputs_and_gradients(
      tf, True, inputs, lengths, weights)
  assert stock_names == fast_names == list(weights)  # Same checkpoints.
  for stock, fast in zip(stock_values, fast_values):
    assert np.abs(stock).max() > 1e-3  # Every gradient is really compared.
    np.testing.assert_allclose(fast, stock, rtol=1e-4, atol=1e-5)


def test_hoisted_encoder_drops_inputs_out_as_magentas_does(tf):
  """Input dropout, in the per-step loop (the first layer, narrower than its
  state) and drawn for all steps at once (the second, hoisted): the same
  distribution of encodings.

  One window, repeated 4000 times: each copy gets its own dropout masks, so the
  batch is a sample of the encodings dropout gives that window.
  """
  random = np.random.RandomState(2)
  window = (random.rand(1, 12, 10) < 0.3).astype(np.float32)
  inputs = np.repeat(window, 4000, axis=0)
  lengths = np.full(4000, 12, np.int32)
  weights = encoder_weights(random)
  values = {fast: encoder_outputs_and_gradients(tf, fast, inputs, lengths, weights,
                                                'dropout_keep_prob=0.5')[1]
            for fast in (False, True)}
  stock, hoisted = values[False][0], values[True][0]
  assert stock.std(0).min() > 0.01  # Dropout is on in both.
  # Each unit's mean and spread, and how the units (both directions, both
  # layers' masks) vary together, agree within a few standard errors.
  np.testing.assert_allclose(hoisted.mean(0), stock.mean(0), atol=0.1 * stock.std(0).mean())
  np.testing.assert_allclose(hoisted.std(0), stock.std(0), rtol=0.1)
  np.testing.assert_allclose(np.corrcoef(hoisted.T), np.corrcoef(stock.T), atol=0.1)
  # What training sees: the weights' gradients, summed over the 4000 draws.
  for stock_gradient, hoisted_gradient in zip(values[False][2:], values[True][2:]):
    difference = np.linalg.norm(hoisted_gradient - stock_gradient)
    assert difference < 0.1 * np.linalg.norm(stock_gradient)


def test_fast_path_and_stock_path_give_the_same_first_losses(groove_dir, tmp_path):
  """oneDNN + fast LSTMs + our data vs stock TF + block ops + Magenta's data."""
  midi_dir = tmp_path / 'midi'  # three beats of a Groove session: ample for 3 steps of 4
  midi_dir.mkdir()
  for path in sorted((groove_dir / 'drummer1' / 'session1').glob('*_beat_*.mid'))[:3]:
    shutil.copy(path, midi_dir)
  examples_path = tmp_path / 'groove.tfrecord'
  subprocess.run([sys.executable, os.path.join(REPO, 'make_tfrecord.py'),
                  f'--input_dir={midi_dir}', f'--output_file={examples_path}'],
                 check=True, capture_output=True)
  children = {path: subprocess.Popen(  # pylint: disable=consider-using-with
      [sys.executable, FIRST_LOSSES, path, str(examples_path), str(tmp_path / path), '3'],
      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
      env={**os.environ, 'TF_ENABLE_ONEDNN_OPTS': onednn})
              for path, onednn in (('stock', '0'), ('fast', '1'))}
  losses = {}
  for path, child in children.items():
    stdout, stderr = child.communicate(timeout=600)
    assert child.returncode == 0, stderr[-3000:]
    losses[path] = json.loads(stdout.strip().splitlines()[-1])
  assert len(losses['stock']) == 3
  assert losses['stock'][0] != losses['stock'][2]  # The model is learning: 3 different steps.
  np.testing.assert_allclose(losses['fast'], losses['stock'], rtol=1e-5)


REALLOCATION_PAGE_FAULTS = """
import ctypes, resource
from drumvae import runtime
runtime.keep_freed_memory_for_reuse()
libc = ctypes.CDLL(None)  # TensorFlow's tensors come from this malloc too
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
size = 64 * 2**20  # as big as a flat-model tensor at batch 64
faults = []
for _ in range(2):
  before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
  block = libc.malloc(size)
  ctypes.memset(block, 1, size)
  faults.append(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
  libc.free(block)
print(faults[1])
"""


@pytest.mark.skipif(not sys.platform.startswith('linux'), reason='glibc malloc')
@pytest.mark.parametrize('keep', ['1', '0'])
def test_freed_memory_is_reused_without_page_faults(keep):
  """A 64 MB block freed and allocated again: 16,384 page faults (64 MB of 4 KB
  pages) under glibc's defaults, none with the freed memory kept."""
  faults = int(subprocess.run(
      [sys.executable, '-c', REALLOCATION_PAGE_FAULTS], check=True, cwd=REPO,
      capture_output=True, text=True,
      env={**os.environ, 'DRUMVAE_KEEP_FREED_MEMORY': keep}).stdout)
  if keep == '1':
    assert faults < 100
  else:
    assert faults > 10000  # glibc's defaults: the test tells the two apart


def tiny_cpu_model(tf, inputs):
  """`build(x)` for outputs_and_gradients: a tiny hierdec-drums_4bar_cpu model
  (encoder mean as z, teacher forcing, no dropout) over `inputs`, returning the
  per-window loss and a scalar that reaches every variable."""
  import configs  # pylint: disable=g-import-not-at-top
  from drumvae import models  # pylint: disable=g-import-not-at-top
  config = models.get_config('hierdec-drums_4bar_cpu',
                              'batch_size=4,enc_rnn_size=[32],dec_rnn_size=[24],z_size=16,'
                              'dropout_keep_prob=1.0')

  def build(x):
    model = config.model
    model.build(config.hparams, output_depth=512, is_training=True)
    lengths = tf.fill([inputs.shape[0]], inputs.shape[1])
    posterior = model.encode(x[..., :9], lengths)
    target = tf.one_hot(tf.argmax(x[..., 9:], -1), 512)
    loss = model.decoder.reconstruction_loss(
        tf.pad(target[:, :-1], [(0, 0), (1, 0), (0, 0)]), target, lengths,
        posterior.loc)[0]
    size = tf.square(posterior.loc) + tf.square(posterior.stddev())  # for sigma's gradient
    return loss, tf.reduce_mean(loss) + tf.reduce_mean(size)

  return build


def initial_weights(tf, build, inputs):
  """The weights `build` initialises over `inputs` (seeded), by variable name."""
  with tf.Graph().as_default():
    tf.set_random_seed(0)
    build(tf.constant(inputs))
    with tf.Session() as session:
      session.run(tf.global_variables_initializer())
      return {v.op.name: v.eval(session) for v in tf.trainable_variables()}


def in_precision(tf, precision, build, inputs, weights):
  """The startup line of `precision`, and outputs_and_gradients of `build` in it."""
  message = runtime.use_precision(precision)
  try:
    return message, outputs_and_gradients(tf, True, build, inputs, weights)
  finally:
    runtime.use_precision('float32')


def test_bfloat16_products_give_float32_results_within_bfloat16_rounding(tf):
  random = np.random.RandomState(2)
  roll = (random.rand(4, 64, 9) < 0.25).astype(np.float32)
  classes = roll.dot(2 ** np.arange(9)).astype(int)  # the 512 drum patterns
  inputs = np.concatenate([roll, np.eye(512, dtype=np.float32)[classes]], -1)
  build = tiny_cpu_model(tf, inputs)
  # Initial weights, larger: logits far from 0, as in a trained model.
  weights = {name: 4 * value for name, value in initial_weights(tf, build, inputs).items()}
  message32, (names32, values32) = in_precision(tf, 'float32', build, inputs, weights)
  message16, (names16, values16) = in_precision(tf, 'bfloat16', build, inputs, weights)
  assert message32.startswith('precision: float32 (')
  assert message16.startswith('precision: bfloat16 products, float32 weights (')
  assert names16 == names32  # the same variables: checkpoints load in either
  assert 'decoder/output_projection/kernel' in '\n'.join(names32)
  loss32, loss16 = values32[0], values16[0]
  assert loss32.min() > 100  # 64 steps of a 512-way choice
  np.testing.assert_allclose(loss16, loss32, rtol=0.02)
  assert not np.allclose(loss16, loss32, rtol=1e-6)  # bfloat16 really ran
  for gradient32, gradient16 in zip(values32[2:], values16[2:]):
    cosine = (gradient32 * gradient16).sum() / (
        np.linalg.norm(gradient32) * np.linalg.norm(gradient16))
    assert cosine > 0.98, cosine


@pytest.mark.parametrize('flags, auto', [('fpu avx2 avx512f avx512_bf16', 'bfloat16'),
                                         ('fpu avx2 amx_tile amx_bf16', 'bfloat16'),
                                         ('fpu avx2 avx512f', 'float32')])
def test_auto_precision_is_bfloat16_only_where_the_cpu_multiplies_it(tf, tmp_path, flags, auto):
  del tf  # loaded, with the fast LSTMs on
  cpuinfo = tmp_path / 'cpuinfo'
  cpuinfo.write_text(f'processor\t: 0\nflags\t\t: {flags}\n')
  try:
    line = runtime.use_precision('auto', cpuinfo)
    assert line.startswith(f'precision: {auto}'), line
    assert 'auto: this CPU' in line
    explicit = runtime.use_precision('bfloat16', cpuinfo)
    assert explicit.startswith('precision: bfloat16 products')
    assert ('emulated' in explicit) == (auto == 'float32'), explicit
  finally:
    runtime.use_precision('float32')
