"""Codes that fit their groove, and decodes that give the groove back.

The encoder's mean z = mu of a groove decodes back to that groove on only part
of its sixteenths: the encoder is an amortised guess. Two steps close the gap
where a mode starts from the user's groove (README: Grooves you give it):

  refine   keeps the trained decoder and moves each input's z instead, from
           mu, by Adam on the decoder's teacher-forced reconstruction loss of
           that one input (summed over the batch; each z sees only its own
           window). Refined codes lie further from zero than the posterior's.
  nearest  decodes a code `draws` times and keeps, per segment the decoder
           decodes on its own, the draw nearest the groove: a hierarchical
           decoder without autoregression decodes each beat from z alone, so
           the beats kept are together one of the decoder's outputs for z.
"""
from typing import NamedTuple

import numpy as np

from drumvae import groove_metrics
from drumvae import runtime

import tensorflow.compat.v1 as tf
from magenta.models.music_vae import TrainedModel
from magenta.models.music_vae import lstm_models

# Defaults chosen on Groove's validation windows (benchmarks/refinement.py).
REFINE_STEPS = 200
LEARNING_RATE = 0.1
NEAREST_OF_DRAWS = 32
NEAREST_TEMPERATURE = 1.0  # the decoder's own distribution, untempered


class _RefinementOps(NamedTuple):
  target: tf.Tensor  # placeholders: the grooves' output tensors, lengths,
  length: tf.Tensor
  start: tf.Tensor  # and the codes to start from
  z: tf.Variable  # the codes being fitted
  loss: tf.Tensor  # [batch] teacher-forced loss of each groove given its z
  rnn_output: tf.Tensor  # [batch, steps, depth] the decoder's outputs (logits) meanwhile
  step: tf.Operation  # one Adam step on z
  reset: tf.Operation  # z := start, Adam's moments zeroed


class RefinableModel(TrainedModel):
  """Magenta's TrainedModel, plus `refine`: codes fitted to given grooves.

  The refinement ops are added to the model's own graph and session the first
  time they are needed, so sampling alone costs nothing more.
  """

  def __init__(self, *args, learning_rate=LEARNING_RATE, **kwargs):
    super().__init__(*args, **kwargs)
    self._learning_rate = learning_rate
    self._refinement = None

  @property
  def config(self):
    return self._config

  @property
  def batch_size(self):
    """Codes the graph decodes at once (Magenta pads and splits to it)."""
    return self._config.hparams.batch_size

  @property
  def max_seq_len(self):
    return self._config.hparams.max_seq_len

  def _build_refinement(self):
    hparams = self._config.hparams
    model = self._config.model
    depth = self._config.data_converter.output_depth
    with self._sess.graph.as_default():
      target = tf.placeholder(
          tf.float32, [hparams.batch_size, hparams.max_seq_len, depth])
      length = tf.placeholder(tf.int32, [hparams.batch_size])
      start = tf.placeholder(tf.float32, [hparams.batch_size, hparams.z_size])
      z = tf.Variable(start, trainable=False, name='refined_z')
      # The decoder's inputs as Magenta's training feeds them: the target, one
      # step late, after a zero start.
      previous = tf.pad(target[:, :-1], [(0, 0), (1, 0), (0, 0)])
      with runtime.teacher_forced(model.decoder), tf.variable_scope(
          tf.get_variable_scope(), reuse=True):  # the trained weights, no new ones
        loss, _, decoded = model.decoder.reconstruction_loss(previous, target,
                                                             length, z)
      optimizer = tf.train.AdamOptimizer(self._learning_rate)
      step = optimizer.minimize(tf.reduce_sum(loss), var_list=[z])
      reset = tf.variables_initializer([z] + optimizer.variables())
    self._refinement = _RefinementOps(target, length, start, z, loss,
                                      decoded.rnn_output, step, reset)

  def refine(self, outputs, lengths, mu, steps=REFINE_STEPS):
    """[n, z_size] codes fitted to `outputs` [n, 64, depth], from `mu`.

    `outputs` and `lengths` are what the data converter makes of the grooves
    (their output tensors); `mu` their encoder means. steps=0 returns `mu`.
    """
    mu = np.asarray(mu, np.float32)
    if steps == 0 or not len(mu):
      return mu
    ops = self._refinement_ops()

    def fit(feed):
      for _ in range(steps):
        self._sess.run(ops.step, feed)
      return self._sess.run(ops.z)

    return self._per_batch(outputs, lengths, mu, fit)

  def reconstruction_loss(self, outputs, lengths, z):
    """[n]: the decoder's teacher-forced loss (nats) of each of `outputs` given its `z`."""
    loss = self._refinement_ops().loss
    return self._per_batch(outputs, lengths, z, lambda feed: self._sess.run(loss, feed))

  def decode_teacher_forced(self, outputs, z):
    """[n, steps, depth] decoder outputs (logits) for codes `z`, fed `outputs` [n, steps, depth]
    (shifted one step late) as its previous steps instead of its own samples."""
    rnn_output = self._refinement_ops().rnn_output
    lengths = [np.shape(outputs)[1]] * len(z)
    return self._per_batch(outputs, lengths, z,
                           lambda feed: self._sess.run(rnn_output, feed))

  def _refinement_ops(self):
    if self._refinement is None:
      self._build_refinement()
    return self._refinement

  def _per_batch(self, outputs, lengths, z, run):
    """`run(feed)` for each batch, with the code variable set to its rows of `z`; concatenated."""
    ops = self._refinement_ops()
    batch_size = self._config.hparams.batch_size
    results = []
    for first in range(0, len(z), batch_size):
      rows = np.arange(first, min(first + batch_size, len(z)))
      padded = np.resize(rows, batch_size)  # repeats rows; each z is separate
      feed = {ops.target: np.asarray(outputs, np.float32)[padded],
              ops.length: np.asarray(lengths)[padded],
              ops.start: np.asarray(z, np.float32)[padded]}
      self._sess.run(ops.reset, feed)
      results.append(run(feed)[:len(rows)])
    return np.concatenate(results)

  def encode_windows(self, windows):
    """(inputs, outputs, lengths, mu) of 4-bar NoteSequences, one window each."""
    converter = self._config.data_converter
    tensors = [converter.to_tensors(window) for window in windows]
    inputs = [t.inputs[0] for t in tensors]
    lengths = [t.lengths[0] for t in tensors]
    _, mu, _ = self.encode_tensors(inputs, lengths)
    return inputs, [t.outputs[0] for t in tensors], lengths, mu

  def decode_nearest(self, z, outputs, draws=NEAREST_OF_DRAWS):
    """[n, 64, depth] decodes of `z`, each segment the draw nearest `outputs`.

    Of `draws` decodes at NEAREST_TEMPERATURE and the greedy one, each
    independently decoded segment (a beat of a hierarchical decoder without
    autoregression; else the whole window) keeps the one that matches most
    steps of the target.
    """
    z = np.asarray(z, np.float32)
    length = self.max_seq_len
    greedy = self.decode_to_tensors(z, length=length, temperature=1e-5)
    drawn = self.decode_to_tensors(np.repeat(z, draws, axis=0), length=length,
                                   temperature=NEAREST_TEMPERATURE)
    candidates = np.concatenate(
        [np.stack(greedy)[:, None],
         np.stack(drawn).reshape(len(z), draws, length, -1)], axis=1)
    segment = independent_segment_length(self._config)
    matches = (groove_metrics.patterns(candidates) ==
               groove_metrics.patterns(np.asarray(outputs))[:, None])
    best = matches.reshape(len(z), draws + 1, length // segment, segment).sum(
        axis=3).argmax(axis=1)  # [n, segments]
    chosen = np.take_along_axis(
        candidates.reshape(len(z), draws + 1, length // segment, segment, -1),
        best[:, None, :, None, None], axis=1)[:, 0]
    return chosen.reshape(len(z), length, -1)


  def morphs(self, z_start, z_end, start_outputs, end_outputs, num_steps,
             temperature):
    """[pairs, num_steps, 64, depth] decodes from each z_start to its z_end (slerp).

    Each end is decoded nearest its groove (`decode_nearest`), the steps
    between at `temperature`; `num_steps` >= 2.
    """
    pairs = len(z_start)
    ends = self.decode_nearest(np.concatenate([z_start, z_end]),
                               np.concatenate([start_outputs, end_outputs]))
    middle = [groove_metrics.slerp(a, b, t) for a, b in zip(z_start, z_end)
              for t in np.linspace(0, 1, num_steps)[1:-1]]
    between = np.zeros((pairs, num_steps - 2, *ends.shape[1:]), ends.dtype)
    if middle:
      between = np.stack(self.decode_to_tensors(
          np.array(middle, np.float32), length=self.max_seq_len,
          temperature=temperature)).reshape(between.shape)
    return np.concatenate([ends[:pairs, None], between, ends[pairs:, None]], axis=1)


def independent_segment_length(config):
  """Steps the decoder decodes from z alone: a beat of a non-autoregressive
  hierarchical decoder, else the whole window."""
  decoder = config.model.decoder
  if isinstance(decoder, lstm_models.HierarchicalLstmDecoder):
    levels = decoder._level_lengths  # pylint: disable=protected-access
    if set(decoder._disable_autoregression) >= set(range(len(levels))):  # pylint: disable=protected-access
      return levels[-1]
  return config.hparams.max_seq_len
