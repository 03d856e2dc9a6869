"""Faster LSTMs on the CPU: the same math and variables, arranged for oneDNN.

Two changes, which `drumvae.runtime.use_fast_cpu_lstms()` patches into Magenta:

* Every `LSTMBlockCell` runs as MatMul + element-wise ops. The block op
  multiplies [inputs, h] by the kernel inside one fused C++ kernel that uses
  Eigen, even where TensorFlow runs its MatMul ops on oneDNN (drumvae.runtime).
* The bidirectional encoder multiplies each layer's inputs by their rows of the
  kernel for all 64 time steps at once, before the time loop, leaving only
  h x (its rows) inside the loop. Its inputs are known before the loop (layer 1:
  the drum roll; layer 2: layer 1's outputs), so this is the same sum; a few big
  MatMuls run much nearer the CPU's peak than 64 small ones. The decoder cannot
  do this: with scheduled sampling its next input depends on its last output.
  A layer that trains with input dropout (the CPU and GrooVAE configs) is
  hoisted, its dropout masks drawn for all steps at once, only where its input
  is at least as wide as its state; a narrower one (the drum roll's, GrooVAE's)
  keeps the per-step loop, which measured as fast or faster. The encoder also
  runs time-major throughout (one transpose of the drum roll, none of the 4x
  wider products), adds the forget bias with the bias, and masks the steps past
  each sequence's length once after its time loop, not at every step: fewer
  small ops a step.

With `PRODUCT_DTYPE` bfloat16 (`runtime.use_precision`), these MatMuls and the
decoder's output projection take bfloat16 inputs, which CPUs with AVX512_BF16 or
AMX multiply natively at about twice the float32 rate; the weights, the LSTM
state, the softmax and the loss stay float32 (mixed precision).

The variables, their names and the checkpoints stay the same; only the order
of float additions changes (tests/test_speed.py). BENCHMARKS.md has the figures.
"""
import tensorflow.compat.v1 as tf
from magenta.contrib import rnn as contrib_rnn
from magenta.models.music_vae import lstm_models

# Magenta's own, which runtime.use_fast_cpu_lstms(False) puts back.
BLOCK_OP_CALL = contrib_rnn.LSTMBlockCell.call
STOCK_ENCODE = lstm_models.BidirectionalLstmEncoder.encode
STOCK_DECODER_BUILD = lstm_models.BaseLstmDecoder.build

# The input dtype of the matrix products below; set by runtime.use_precision.
PRODUCT_DTYPE = tf.float32


def matmul(a, b, **kwargs):
  """tf.matmul of `a` and `b` in PRODUCT_DTYPE, as float32 (either may be cast already)."""
  if PRODUCT_DTYPE == tf.float32:
    return tf.matmul(a, b, **kwargs)
  product = tf.matmul(tf.cast(a, PRODUCT_DTYPE), tf.cast(b, PRODUCT_DTYPE), **kwargs)
  return tf.cast(product, tf.float32)


def weights_for_products(owner, weights):
  """`weights` in PRODUCT_DTYPE, cast once, outside any time loop, and kept on `owner`.

  Cast inside the loop, a weight matrix would be cast again at every step: at a
  batch of 64 that costs about what bfloat16 saves.
  """
  if PRODUCT_DTYPE == tf.float32:
    return weights
  cast = getattr(owner, '_weights_for_products', None)
  if cast is None or cast.dtype != PRODUCT_DTYPE or cast.graph is not tf.get_default_graph():
    with tf.control_dependencies(None):  # also leaves the while loop's context
      cast = tf.cast(weights, PRODUCT_DTYPE)
    if owner is not None:
      owner._weights_for_products = cast  # pylint: disable=protected-access
  return cast


class OutputProjection(tf.layers.Dense):
  """The decoder's output layer (no activation) with its product in PRODUCT_DTYPE."""

  def call(self, inputs):
    flat = tf.reshape(inputs, [-1, inputs.shape[-1]])
    logits = tf.nn.bias_add(matmul(flat, weights_for_products(self, self.kernel)), self.bias)
    return tf.reshape(logits, tf.concat([tf.shape(inputs)[:-1], [self.units]], 0))


def build_decoder_with_output_projection(self, hparams, output_depth, is_training=True):
  """BaseLstmDecoder.build, with its Dense output layer as an OutputProjection."""
  STOCK_DECODER_BUILD(self, hparams, output_depth, is_training)
  layer = self._output_layer  # pylint: disable=protected-access
  if type(layer) is tf.layers.Dense and layer.activation is None:  # pylint: disable=unidiomatic-typecheck
    self._output_layer = OutputProjection(layer.units, name=layer.name)  # pylint: disable=protected-access


def _lstm_step(gates, cs_prev, forget_bias=0.0):
  """LSTMBlockCell's op after the MatMul (gate order i, ci, f, o; no peephole)."""
  i, ci, f, o = tf.split(gates, 4, axis=1)
  if forget_bias:
    f += forget_bias
  cs = tf.sigmoid(i) * tf.tanh(ci) + tf.sigmoid(f) * cs_prev
  h = tf.tanh(cs) * tf.sigmoid(o)
  return h, tf.nn.rnn_cell.LSTMStateTuple(cs, h)


def call_as_matmul(self, inputs, state):
  """LSTMBlockCell.call in MatMul + element-wise ops."""
  if self._use_peephole or self._cell_clip > 0:  # pylint: disable=protected-access
    return BLOCK_OP_CALL(self, inputs, state)
  cs_prev, h_prev = state
  kernel = weights_for_products(self, self._kernel)  # pylint: disable=protected-access
  gates = tf.nn.bias_add(matmul(tf.concat([inputs, h_prev], 1), kernel),
                         self._bias)  # pylint: disable=protected-access
  return _lstm_step(gates, cs_prev, self._forget_bias)  # pylint: disable=protected-access


class _RecurrentHalfOfLSTMCell(tf.nn.rnn_cell.RNNCell):
  """An LSTMBlockCell step whose inputs come already multiplied by their kernel rows
  (and with the bias and the forget bias added)."""

  def __init__(self, num_units, recurrent_kernel):
    super().__init__()
    self._num_units = num_units
    self._recurrent_kernel = recurrent_kernel

  @property
  def state_size(self):
    return tf.nn.rnn_cell.LSTMStateTuple(self._num_units, self._num_units)

  @property
  def output_size(self):
    return self._num_units

  def call(self, inputs, state):
    cs_prev, h_prev = state
    return _lstm_step(inputs + matmul(h_prev, self._recurrent_kernel), cs_prev)


def _plain_lstm_cell(layer):
  """The LSTMBlockCell of an encoder layer (a 1-cell MultiRNNCell) and its input
  keep probability, if plain.

  None where output or state dropout, a residual connection or a peephole is
  configured: those layers run Magenta's way.
  """
  cells = getattr(layer, '_cells', [])
  if len(cells) != 1:
    return None
  cell, input_keep_prob = cells[0], 1.0
  if isinstance(cell, tf.nn.rnn_cell.DropoutWrapper):
    # pylint: disable=protected-access
    if (cell._output_keep_prob != 1.0 or cell._state_keep_prob != 1.0
        or cell._variational_recurrent or not isinstance(cell._input_keep_prob, float)):
      return None
    cell, input_keep_prob = cell.cell, cell._input_keep_prob
    # pylint: enable=protected-access
  if (type(cell) is not contrib_rnn.LSTMBlockCell  # pylint: disable=unidiomatic-typecheck
      or cell._use_peephole or cell._cell_clip > 0):  # pylint: disable=protected-access
    return None
  return cell, input_keep_prob


def _run_direction(layer, inputs, sequence_length, scope):
  """One direction of one encoder layer, with the input products hoisted.

  `inputs` (float32) and the outputs are time-major: [time, batch, depth].
  Returns the outputs (zero past each sequence's length) and the last h of
  each sequence.
  """
  with tf.variable_scope(scope) as direction_scope:
    input_depth = int(inputs.shape[-1])
    # Calling the layer once (on no rows) creates its variables with the names
    # dynamic_rnn would give them, so checkpoints do not change.
    layer(tf.zeros([0, input_depth]), layer.zero_state(0, tf.float32))
    lstm_cell, input_keep_prob = _plain_lstm_cell(layer)
    if input_keep_prob < 1.0:
      # DropoutWrapper's input dropout draws a new mask for each step, element
      # and unit: drawn for all steps at once, it is the same distribution.
      inputs = tf.nn.dropout(inputs, rate=1.0 - input_keep_prob)
    num_units = lstm_cell.output_size
    # Split, not sliced: the kernel's gradient is then one concatenation, not two
    # kernel-sized zero tensors each filled in part and added up.
    input_kernel, recurrent_kernel = tf.split(
        lstm_cell._kernel, [input_depth, num_units])  # pylint: disable=protected-access
    forget_bias = tf.constant(
        [0.0] * (2 * num_units) + [lstm_cell._forget_bias] * num_units  # pylint: disable=protected-access
        + [0.0] * num_units)
    input_products = tf.nn.bias_add(
        matmul(tf.reshape(inputs, [-1, input_depth]), input_kernel),
        lstm_cell._bias + forget_bias)  # pylint: disable=protected-access
    input_products = tf.reshape(
        input_products, tf.concat([tf.shape(inputs)[:2], [4 * num_units]], 0))

    @tf.custom_gradient
    def recurrence(input_products, recurrent_kernel):
      # All steps of every sequence, without dynamic_rnn's per-step masking
      # (three selects a step and theirs in the backward pass); the steps past
      # a sequence's length are masked once below.
      outputs, _ = tf.nn.dynamic_rnn(
          _RecurrentHalfOfLSTMCell(num_units, recurrent_kernel), input_products,
          dtype=tf.float32, time_major=True, scope=direction_scope)

      def gradients(d_outputs):
        # Back through the time loop for the gates' gradients only; the
        # recurrent kernel's gradient, sum over t of h[t-1]^T x d_gates[t], is
        # then one MatMul instead of 64 small ones each adding up a full
        # kernel-sized matrix.
        d_gates, = tf.gradients(outputs, [input_products], grad_ys=d_outputs)
        previous_h = tf.pad(outputs[:-1], [[1, 0], [0, 0], [0, 0]])
        d_recurrent_kernel = matmul(tf.reshape(previous_h, [-1, num_units]),
                                    tf.reshape(d_gates, [-1, 4 * num_units]),
                                    transpose_a=True)
        return d_gates, tf.cast(d_recurrent_kernel, recurrent_kernel.dtype)

      return outputs, gradients

    outputs = recurrence(input_products, weights_for_products(None, recurrent_kernel))
    # A step past its sequence's length changes nothing after it (the outputs
    # feed forward only), so masking the outputs afterwards is the same sum.
    within_length = tf.sequence_mask(sequence_length, tf.shape(outputs)[0], tf.float32)
    outputs *= tf.expand_dims(tf.transpose(within_length), 2)
    # An empty sequence (TrainedModel pads its batches with them) gets a zero
    # h, as dynamic_rnn gives it: its masked output at step 0.
    last = tf.stack([tf.maximum(sequence_length - 1, 0), tf.range(tf.shape(outputs)[1])], 1)
    return outputs, tf.gather_nd(outputs, last)


def _hoisted(layer, input_depth):
  """Whether an encoder layer runs with its input products hoisted (see above)."""
  plain = _plain_lstm_cell(layer)
  if plain is None:
    return False
  lstm_cell, input_keep_prob = plain
  return input_keep_prob == 1.0 or input_depth >= lstm_cell.output_size


def encode_with_hoisted_input_products(self, sequence, sequence_length):
  """BidirectionalLstmEncoder.encode (stack_bidirectional_dynamic_rnn), hoisted."""
  cells_fw, cells_bw = self._cells  # pylint: disable=protected-access

  def reverse(x):
    return tf.reverse_sequence(x, sequence_length, seq_axis=0, batch_axis=1)

  inputs = tf.transpose(sequence, [1, 0, 2])
  with tf.variable_scope(self._name_or_scope):  # pylint: disable=protected-access
    for i, (layer_fw, layer_bw) in enumerate(zip(cells_fw, cells_bw)):
      input_depth = int(inputs.shape[-1])
      with tf.variable_scope(f'cell_{i}'):
        if _hoisted(layer_fw, input_depth) and _hoisted(layer_bw, input_depth):
          with tf.variable_scope('bidirectional_rnn'):
            outputs_fw, last_fw = _run_direction(layer_fw, inputs, sequence_length, 'fw')
            outputs_bw, last_bw = _run_direction(layer_bw, reverse(inputs),
                                                 sequence_length, 'bw')
          outputs_bw = reverse(outputs_bw)
        else:  # as stack_bidirectional_dynamic_rnn runs each layer
          (outputs_fw, outputs_bw), (state_fw, state_bw) = tf.nn.bidirectional_dynamic_rnn(
              layer_fw, layer_bw, inputs, sequence_length, dtype=tf.float32, time_major=True)
          last_fw, last_bw = state_fw[-1].h, state_bw[-1].h
      inputs = tf.concat([outputs_fw, outputs_bw], 2)
  return tf.concat([last_fw, last_bw], 1)
