"""Grooves that sound played: GrooVAE's humanizer, two baselines, and how near a drummer each comes.

A window is GrooveConverter's [64, 27] tensor: for each sixteenth, 9 hits (0 or
1), then 9 velocities in [0, 1] (MIDI velocity / 127), then 9 timing offsets in
[-1, 1] (in half sixteenths; positive = played early, as the converter has it).
A humanize config's encoder sees only the hits; its decoder gives back all
three.

  perform(model, windows)   4-bar NoteSequences as a humanize model plays
                            them, every note kept (README: Humanize)
  AverageDrummer            the mean velocity and offset of each drum at each
                            sixteenth of the bar, over a training split
  on_the_grid(hits)         what the toolkit writes without a humanizer
  measures(played, drummer, qpm)  velocity and timing error, hits kept, spread
"""
import dataclasses

import numpy as np

from drumvae import midi
from drumvae.groove_metrics import NUM_DRUMS

# The velocity every hit of a sampled groove gets without a humanizer
# (note_seq's drum decoding writes the hits of DrumsConverter at 80).
GRID_VELOCITY = 80
# Decodes of a groove whose velocities and offsets feed the next (`humanize`).
FORCED_PASSES = 2
MIN_HIT_PROBABILITY = 0.1  # `played_given`; both chosen on validation (README: Humanize)


def split(windows):
  """(hits bool, velocities 0-1, offsets -1..1) of [..., 64, 27] windows."""
  windows = np.asarray(windows, np.float32)
  return (windows[..., :NUM_DRUMS] > 0.5, windows[..., NUM_DRUMS:2 * NUM_DRUMS],
          windows[..., 2 * NUM_DRUMS:])


def join(hits, velocities, offsets):
  """The [..., 64, 27] windows of hits, velocities and offsets; silent where no hit."""
  hits = np.asarray(hits, np.float32)
  return np.concatenate([hits, velocities * hits, offsets * hits], axis=-1).astype(
      np.float32)


def played_given(logits, hits):
  """[..., 64, 27] performances of `hits` from the decoder's outputs (logits) at each step.

  The decoder is trained to give velocity x hit and offset x hit (0 where
  there is no hit) by mean squared error, so where it gives a hit probability
  p it outputs p x the velocity it would play: divided by p, that is its
  velocity (and offset) for the hit the input has there. p is taken as at
  least MIN_HIT_PROBABILITY, so a hit the model doubts is not blown up.
  """
  p = np.maximum(_sigmoid(logits[..., :NUM_DRUMS]), MIN_HIT_PROBABILITY)
  velocities = np.clip(_sigmoid(logits[..., NUM_DRUMS:2 * NUM_DRUMS]) / p, 0, 1)
  offsets = np.clip(np.tanh(logits[..., 2 * NUM_DRUMS:]) / p, -1, 1)
  return join(hits, velocities, offsets)


def model_hits(logits):
  """[..., 64, 9] the hits the decoder itself would play (probability above 0.5)."""
  return logits[..., :NUM_DRUMS] > 0


def _sigmoid(x):
  return 1 / (1 + np.exp(-x))


def window_hits(window, pitch_class_map):
  """[64, 9] bool: which drum classes a 4-bar NoteSequence hits on each sixteenth.

  What GrooveConverter gives a humanize model's encoder (its velocities and
  offsets are zeroed), built here because the converter makes no window of a
  groove whose last bar is silent: it counts bars up to the last note.
  """
  hits = np.zeros((midi.BARS * midi.STEPS_PER_BAR, NUM_DRUMS), bool)
  for note in midi.quantize(window).notes:
    drum = pitch_class_map.get(note.pitch)
    if note.is_drum and drum is not None and note.quantized_start_step < len(hits):
      hits[note.quantized_start_step, drum] = True
  return hits


def humanize(model, hits, passes=FORCED_PASSES):
  """(performances [n, 64, 27], the decoder's last logits) of `hits` [n, 64, 9].

  Each window is encoded to its posterior mean. The decoder, left to itself,
  would play its own hits and condition on them; here it is fed the input's
  hits as its previous steps, as in training, so every hit is the input's.
  Its velocities and offsets, fed back the same way, are refined over
  `passes` parallel decodes (`played_given`).
  """
  hits = np.asarray(hits, bool)
  played = join(hits, np.zeros(hits.shape), np.zeros(hits.shape))
  _, mu, _ = model.encode_tensors(list(played), [hits.shape[1]] * len(hits))
  for _ in range(passes):
    logits = model.decode_teacher_forced(played, mu)
    played = played_given(logits, hits)
  return played, logits


def perform(model, windows):
  """Humanized copies of 4-bar NoteSequences `windows` (on the 16th grid).

  Every note is kept, with its pitch and length; its velocity and onset come
  from the model's performance of its drum class on its sixteenth.
  """
  converter = model.config.data_converter
  converter.set_mode('infer')
  pitch_class_map = converter.pitch_class_map
  played, _ = humanize(model, [window_hits(w, pitch_class_map) for w in windows])
  return [_played_like(window, performance, pitch_class_map)
          for window, performance in zip(windows, played)]


def _played_like(window, performance, pitch_class_map):
  """`window` with each note's velocity and onset from `performance` [64, 27]."""
  _, velocities, offsets = split(performance)
  quantized = midi.quantize(window)
  step_seconds = 60.0 / midi.qpm_of(window) / midi.STEPS_PER_QUARTER
  result = type(window)()
  result.CopyFrom(window)
  for note, on_grid in zip(result.notes, quantized.notes):  # the same notes, in order
    drum = pitch_class_map.get(note.pitch)
    step = on_grid.quantized_start_step
    if not note.is_drum or drum is None or step >= len(velocities):
      continue
    length = note.end_time - note.start_time
    note.velocity = int(np.clip(np.round(velocities[step, drum] * 127), 1, 127))
    # An offset of 1 is half a sixteenth early (GrooveConverter's sign).
    note.start_time = max(0.0, (step - offsets[step, drum] / 2) * step_seconds)
    note.end_time = note.start_time + length
  return result


@dataclasses.dataclass
class AverageDrummer:
  """Each drum's mean velocity and offset at each sixteenth of the bar, where it is hit."""
  velocity: np.ndarray  # [16, 9], 0-1
  offset: np.ndarray  # [16, 9], -1..1

  @classmethod
  def fit(cls, windows):
    """From the drummers' [n, 64, 27] windows (a training split)."""
    # Every bar of every window, [bars, 16, 9]; velocity and offset are 0 where no hit.
    hits, velocities, offsets = (
        np.reshape(part, (-1, midi.STEPS_PER_BAR, NUM_DRUMS)) for part in split(windows))
    count = hits.sum(axis=0)
    velocity_sum = np.where(hits, velocities, 0).sum(axis=0)
    offset_sum = np.where(hits, offsets, 0).sum(axis=0)
    seen = np.maximum(count, 1)
    return cls(np.where(count > 0, velocity_sum / seen, GRID_VELOCITY / 127),
               offset_sum / seen)

  def play(self, hits):
    """[n, 64, 27] windows of `hits` [n, 64, 9] at the average velocity and offset."""
    position = np.arange(hits.shape[-2]) % midi.STEPS_PER_BAR
    return join(hits, self.velocity[position], self.offset[position])


def on_the_grid(hits):
  """[n, 64, 27] windows of `hits` at GRID_VELOCITY, every hit on its sixteenth."""
  return join(hits, np.full(hits.shape, GRID_VELOCITY / 127), np.zeros(hits.shape))


def measures(played, drummer, qpm):
  """How near `played` comes to `drummer` ([n, 64, 27] each), on the drummer's hits.

  velocity_mae   mean |velocity error|, in MIDI velocity units (0-127)
  timing_mae_ms  mean |onset error| in milliseconds, at each window's `qpm` [n]
  hits_kept      share of the drummer's hits that `played` plays too
  hits_added     hits `played` has that the drummer has not, per drummer's hit
  velocity_spread  the standard deviation of `played`'s velocities within a
                 window over the drummer's, averaged over windows: 1 = as
                 dynamic as the drummer, 0 = every hit alike
  """
  played_hits, played_velocity, played_offset = split(played)
  hits, velocity, offset = split(drummer)
  # An offset of 1 is half a sixteenth: 60 / qpm / 4 / 2 seconds.
  half_step_ms = (60000.0 / np.asarray(qpm, np.float64) / midi.STEPS_PER_QUARTER / 2)
  half_step_ms = np.broadcast_to(half_step_ms[:, None, None], hits.shape)
  spreads = [played_velocity[w][hits[w]].std() / velocity[w][hits[w]].std()
             for w in range(len(hits)) if hits[w].sum() > 1
             and velocity[w][hits[w]].std() > 0]
  return {
      'velocity_mae': float(np.abs(played_velocity - velocity)[hits].mean() * 127),
      'timing_mae_ms': float((np.abs(played_offset - offset) * half_step_ms)[hits].mean()),
      'hits_kept': float(played_hits[hits].mean()),
      'hits_added': float((played_hits & ~hits).sum() / hits.sum()),
      'velocity_spread': float(np.mean(spreads)),
  }
