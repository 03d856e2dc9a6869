"""Training and evaluation examples: NoteSequence tfrecord -> model tensors.

Magenta converts every NoteSequence inside the tf.data graph with a Python
`py_function`, again in every run. Here the same DrumsConverter runs once, up
front, so that (a) we know how many 4-bar examples there are before training
starts and can fail at once instead of hanging on an empty shuffle buffer, and
(b) tf.data only slices, shuffles and batches ready arrays. The elements are the
same as Magenta's `data.get_dataset` yields (tests/test_dataset.py checks it).
"""
import copy
import dataclasses
import glob
import os

import numpy as np
from google.protobuf import message

from drumvae import midi
from drumvae.cli import UserError
from drumvae.groove_metrics import NUM_DRUMS


@dataclasses.dataclass
class Examples:
  """Converted examples, one row each, as DrumsConverter makes them."""
  inputs: np.ndarray  # [n, 64, input_depth] bool: 9-class roll + "no hit"
  outputs: np.ndarray  # [n, 64, 512] bool: one-hot of the 2^9 hit patterns
  controls: np.ndarray  # [n, 64, 0] bool: drums have no control signal
  lengths: np.ndarray  # [n] int32
  num_sequences: int  # NoteSequences read
  sequence_ids: np.ndarray  # [n] int: which NoteSequence each came from
  qpm: np.ndarray  # [n] float: the tempo of that NoteSequence

  def __len__(self):
    return len(self.lengths)

  def head(self, n):
    """The first `n` examples."""
    return self.take(np.arange(min(n, len(self))))

  def take(self, indices):
    """The examples at `indices`, in that order."""
    return Examples(self.inputs[indices], self.outputs[indices],
                    self.controls[indices], self.lengths[indices],
                    self.num_sequences, self.sequence_ids[indices],
                    self.qpm[indices])


def examples_files(examples_path):
  """The tfrecord files of --examples_path: a file, or a glob such as Beam's 'OUT-*'."""
  return sorted(glob.glob(examples_path)) if glob.has_magic(examples_path) else (
      [examples_path] if os.path.isfile(examples_path) else [])


def read_note_sequences(examples_path):
  """Yields the NoteSequences of a tfrecord (or its shards); UserError if it is not one."""
  import note_seq  # pylint: disable=g-import-not-at-top
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  paths = examples_files(examples_path)
  if not paths:
    raise UserError(f'--examples_path={examples_path}: no such file '
                    '(make one with make_tfrecord.py)')
  try:
    for path in paths:
      for record in tf.compat.v1.io.tf_record_iterator(path):
        yield note_seq.NoteSequence.FromString(record)
  except (tf.errors.DataLossError, tf.errors.InvalidArgumentError) as e:
    raise UserError(f'--examples_path={examples_path} is not a readable '
                    f'tfrecord: {e.message.splitlines()[0]}') from None
  except message.DecodeError:
    raise UserError(f'--examples_path={examples_path} holds records that are '
                    'not NoteSequences (make it with make_tfrecord.py)') from None


# Which 4-bar windows of each NoteSequence become examples (--windows):
#   all     every distinct window, once (about 9x the capped set on Groove)
#   capped  at most MAX_WINDOWS_PER_SEQUENCE random ones, drawn once: what
#           Magenta's converter keeps with --cache_dataset (its default)
#   fresh   MAX_WINDOWS_PER_SEQUENCE drawn anew every epoch from all of them:
#           what Magenta's pipeline does with --cache_dataset=false
WINDOWS = ('all', 'capped', 'fresh')
MAX_WINDOWS_PER_SEQUENCE = 5  # DrumsConverter's max_tensors_per_notesequence


def convert_examples(examples_path, data_converter, mode, windows='capped'):
  """Runs `data_converter` (mode 'train' or 'eval') over a NoteSequence tfrecord.

  `windows='capped'` keeps the converter's own cap; 'all' and 'fresh' keep
  every distinct window ('fresh' is sampled per epoch by `make_dataset`).
  """
  data_converter.set_mode(mode)
  if windows != 'capped':
    data_converter = copy.copy(data_converter)  # the caller's keeps its cap
    data_converter.max_tensors_per_notesequence = None
  inputs, outputs, controls, lengths, sequence_ids, qpm = [], [], [], [], [], []
  num_sequences = 0
  for sequence in read_note_sequences(examples_path):
    tensors = data_converter.to_tensors(sequence)
    inputs.extend(tensors.inputs)
    outputs.extend(tensors.outputs)
    controls.extend(tensors.controls)
    lengths.extend(tensors.lengths)
    sequence_ids.extend([num_sequences] * len(tensors.lengths))
    qpm.extend([midi.qpm_of(sequence)] * len(tensors.lengths))
    num_sequences += 1
  return Examples(
      inputs=_stack(inputs, data_converter.input_depth,
                    data_converter.input_dtype),
      outputs=_stack(outputs, data_converter.output_depth,
                     data_converter.output_dtype),
      controls=_stack(controls, data_converter.control_depth,
                      data_converter.control_dtype),
      lengths=np.array(lengths, np.int32),
      num_sequences=num_sequences,
      sequence_ids=np.array(sequence_ids, np.int64),
      qpm=np.array(qpm, np.float64))


def fresh_window_indices(sequence_ids, rng):
  """One epoch of 'fresh' windows: up to 5 random ones of each NoteSequence."""
  chosen = []
  for sequence_id in np.unique(sequence_ids):
    windows = np.flatnonzero(sequence_ids == sequence_id)
    chosen.extend(rng.choice(windows, min(len(windows),
                                          MAX_WINDOWS_PER_SEQUENCE),
                             replace=False))
  return np.array(chosen)


# Ways to vary a training window each time it is drawn (--augment), so the
# model sees more distinct grooves than Groove's 897 performances hold:
#   limbs  the cymbals (hi-hats, crash, ride) of another window of the same
#          performance over this window's kick, snare and toms: new
#          combinations of what one drummer played, each drum's own part intact
#   thin   each hit dropped with probability THIN_RATE: a sparser take
# Each is applied to a window with probability AUGMENT_SHARE, so real windows
# stay half of what the model sees.
AUGMENTATIONS = ('limbs', 'thin')
CYMBALS = (2, 3, 7, 8)  # DrumsConverter's classes: closed, open hi-hat, crash, ride
THIN_RATE = 0.15
AUGMENT_SHARE = 0.5


def augment_hits(window_hits, other_hits, augment, rng):
  """[64, 9] bool hits of one window, varied by `augment` (a list of AUGMENTATIONS).

  `other_hits` is another window of the same performance (for 'limbs').
  """
  window_hits = window_hits.copy()
  if 'limbs' in augment and rng.random() < AUGMENT_SHARE:
    window_hits[:, CYMBALS] = other_hits[:, CYMBALS]
  if 'thin' in augment and rng.random() < AUGMENT_SHARE:
    window_hits &= rng.random(window_hits.shape) >= THIN_RATE
  return window_hits


def hits_to_tensors(window_hits, input_dtype, output_dtype):
  """[64, 9] hits -> (inputs, outputs) as DrumsConverter(roll_input=True) makes them.

  Inputs: the 9-class roll plus a 'no hit' column; outputs: one-hot of the
  512 hit patterns (bit i = drum class i).
  """
  no_hit = ~window_hits.any(axis=1, keepdims=True)
  inputs = np.concatenate([window_hits, no_hit], axis=1).astype(input_dtype)
  outputs = np.zeros((len(window_hits), 2 ** window_hits.shape[1]), output_dtype)
  outputs[np.arange(len(window_hits)),
          window_hits @ (1 << np.arange(window_hits.shape[1]))] = 1
  return inputs, outputs


def _stack(rows, depth, dtype):
  """Rows as one array of the converter's dtype, as Magenta's pipeline casts them."""
  return (np.stack(rows).astype(dtype, copy=False) if rows
          else np.zeros((0, 0, depth), dtype))


def check_enough_examples(examples, batch_size, examples_path):
  """Fails at once where Magenta would wait forever to fill a batch."""
  if not len(examples):
    raise UserError(
        f'--examples_path={examples_path}: none of its {examples.num_sequences} '
        'NoteSequences has a 4-bar 4/4 drum example (drums must be on MIDI '
        'channel 10, i.e. is_drum, and span at least 4 bars of 4/4)')
  if len(examples) < batch_size:
    raise UserError(
        f'--examples_path={examples_path} has {len(examples)} 4-bar examples '
        f'(from {examples.num_sequences} NoteSequences), fewer than one batch '
        f'of {batch_size}: add data or pass --hparams=batch_size={len(examples)}')


def make_dataset(examples, batch_size, is_training, fresh_windows=False,
                 seed=None, augment=()):
  """The tf.data pipeline of Magenta's get_dataset, over converted arrays.

  Training: every epoch in a new random order (with `fresh_windows`, a new
  draw of `fresh_window_indices`), each window varied by `augment` (see
  AUGMENTATIONS), repeated, batched; Magenta's shuffle buffer of 10 batches is
  kept, but alone it would mix only neighbouring windows of one performance.
  Eval: batched in order. Partial batches are dropped, as in Magenta.
  """
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  columns = (examples.inputs, examples.outputs, examples.controls,
             examples.lengths)
  rng = np.random.default_rng(seed)
  windows_of_sequence = {
      sequence_id: np.flatnonzero(examples.sequence_ids == sequence_id)
      for sequence_id in (np.unique(examples.sequence_ids) if augment else ())}

  def augmented(i):
    other = rng.choice(windows_of_sequence[examples.sequence_ids[i]])
    inputs, outputs = hits_to_tensors(
        augment_hits(examples.inputs[i, :, :NUM_DRUMS],
                     examples.inputs[other, :, :NUM_DRUMS], augment, rng),
        examples.inputs.dtype, examples.outputs.dtype)
    return inputs, outputs, examples.controls[i], examples.lengths[i]

  def rows():
    if not is_training:
      yield from zip(*columns)
      return
    indices = (fresh_window_indices(examples.sequence_ids, rng)
               if fresh_windows else np.arange(len(examples)))
    for i in rng.permutation(indices):
      yield (augmented(i) if augment
             else tuple(column[i] for column in columns))

  # A generator, not from_tensor_slices: that would embed every example as a
  # graph constant, copied into each checkpoint's .meta file.
  dataset = tf.data.Dataset.from_generator(
      rows, output_signature=tuple(
          tf.TensorSpec(column.shape[1:], tf.as_dtype(column.dtype))
          for column in columns))
  if is_training:
    dataset = dataset.shuffle(buffer_size=10 * batch_size).repeat()
  return dataset.batch(batch_size, drop_remainder=True).prefetch(
      tf.data.experimental.AUTOTUNE)
