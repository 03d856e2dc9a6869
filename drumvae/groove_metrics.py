"""Musical measures of 4-bar drum grooves, on the model's own tensors.

A groove here is what DrumsConverter makes of 4 bars: 64 sixteenth-note steps,
each one of 2^9 = 512 hit patterns (bit i set = drum class i hit). These
measures compare sets of grooves with numbers that a silent or a random model
fails:

  groove profile   for each of the 9 drum classes and each of the 16 sixteenth
                   positions of a bar, the share of bars that hit it; the
                   distance of two sets is the mean absolute difference
  notes per bar    hits per bar, averaged over a groove
  empty share      the share of grooves without a single hit
  in data range    the share of grooves whose notes per bar lie within the
                   data's 1st-99th percentile: neither near-silent nor a wall
                   of hits (a snare roll through every sixteenth)
  snare rolls      the share of grooves with the snare on at least 5/8 of
                   the steps: Groove's drummers roll in ~8% of windows; a model
                   that falls into rolls plays many more
  near copies      the share of grooves that match some training window on at
                   least 90% of the steps: held-out Groove windows score 0, a
                   model that replays its training data scores high
  step accuracy    the share of steps whose whole hit pattern is right
  drum error rates for each drum class, the share of steps where its hit or
                   rest is wrong (missed or added): where step accuracy is lost
  morphs           how much each step of an interpolation shares with the
                   next, and whether its inner steps stay within the data's
                   notes per bar
"""
import numpy as np

from drumvae.midi import STEPS_PER_BAR

NUM_DRUMS = 9
SNARE = 1  # DrumsConverter's class order: kick, snare, closed hi-hat, ...
ROLL_SHARE_OF_STEPS = 5 / 8
COPY_SHARE_OF_STEPS = 0.9


def patterns(one_hot):
  """[..., steps, 512] one-hot (or logits) -> [..., steps] pattern indices."""
  return np.argmax(one_hot, axis=-1)


def hits(pattern_indices):
  """[..., steps] pattern indices -> [..., steps, 9] bool, one per drum class."""
  return (np.asarray(pattern_indices)[..., None] >> np.arange(NUM_DRUMS)) & 1 == 1


def groove_profile(groove_hits):
  """[n, steps, 9] hits -> [16, 9]: hit probability per bar position and drum."""
  n, steps, drums = groove_hits.shape
  bars = groove_hits.reshape(n * steps // STEPS_PER_BAR, STEPS_PER_BAR, drums)
  return bars.mean(axis=0)


def profile_distance(hits_a, hits_b):
  """Mean absolute difference of the groove profiles of two sets of grooves."""
  return float(np.abs(groove_profile(hits_a) - groove_profile(hits_b)).mean())


def notes_per_bar(groove_hits):
  """[n, steps, 9] hits -> [n]: each groove's hits per bar."""
  bars = groove_hits.shape[1] / STEPS_PER_BAR
  return groove_hits.sum(axis=(1, 2)) / bars


def empty_share(groove_hits):
  return float(np.mean(groove_hits.sum(axis=(1, 2)) == 0))


def snare_roll_share(groove_hits):
  snare_steps = groove_hits[:, :, SNARE].sum(axis=1)
  return float(np.mean(snare_steps >= ROLL_SHARE_OF_STEPS * groove_hits.shape[1]))


def near_copy_share(grooves_patterns, training_patterns):
  """Share of [n, steps] grooves within COPY_SHARE_OF_STEPS of a training window."""
  training_patterns = np.asarray(training_patterns)
  best = [np.max(np.mean(training_patterns == groove, axis=1))
          for groove in np.asarray(grooves_patterns)]
  return float(np.mean(np.array(best) >= COPY_SHARE_OF_STEPS))


def step_accuracy(predicted_patterns, target_patterns):
  """Share of steps whose whole hit pattern matches."""
  return float(np.mean(np.asarray(predicted_patterns) ==
                       np.asarray(target_patterns)))


def drum_error_rates(predicted_patterns, target_patterns):
  """[9]: for each drum class, the share of steps whose hit or rest is wrong."""
  return (hits(predicted_patterns) != hits(target_patterns)).reshape(
      -1, NUM_DRUMS).mean(axis=0)


def slerp(z0, z1, t):
  """Spherical interpolation between latent vectors, as MusicVAE interpolates."""
  omega = np.arccos(np.clip(np.dot(z0 / np.linalg.norm(z0),
                                   z1 / np.linalg.norm(z1)), -1, 1))
  if omega < 1e-6:
    return (1 - t) * z0 + t * z1
  return (np.sin((1 - t) * omega) * z0 + np.sin(t * omega) * z1) / np.sin(omega)


def data_notes_per_bar_range(reference_hits):
  """The 1st and 99th percentile of the reference grooves' notes per bar."""
  low, high = np.percentile(notes_per_bar(reference_hits), [1, 99])
  return float(low), float(high)


def in_data_range_share(groove_hits, reference_hits):
  low, high = data_notes_per_bar_range(reference_hits)
  per_bar = notes_per_bar(groove_hits)
  return float(np.mean((per_bar >= low) & (per_bar <= high)))


def set_figures(groove_hits, reference_hits):
  """Figures of a set of grooves against a reference set (e.g. a test split)."""
  return {
      'num_grooves': int(len(groove_hits)),
      'empty_share': empty_share(groove_hits),
      'notes_per_bar': float(notes_per_bar(groove_hits).mean()),
      'in_data_range': in_data_range_share(groove_hits, reference_hits),
      'profile_distance': profile_distance(groove_hits, reference_hits),
      'snare_rolls': snare_roll_share(groove_hits),
  }


def morph_figures(steps_patterns, reference_hits):
  """How smoothly morphs `steps_patterns` [morphs, num_steps, 64] move.

  neighbour step share: the share of steps each output shares with the next
  one, on average and at the morph's biggest step (its minimum; a morph that
  jumps from A to B shares there only what A and B share, the ends step
  share); middles in data range: the share of inner outputs whose
  notes per bar lie within the data's 5th-95th percentile (the data's own
  windows: 0.90 by definition); morphs in data range: the share of morphs
  all of whose inner outputs do (three random windows: 0.90^3 = 0.73).
  """
  steps_patterns = np.asarray(steps_patterns)
  low, high = np.percentile(notes_per_bar(reference_hits), [5, 95])
  inner = notes_per_bar(hits(steps_patterns[:, 1:-1].reshape(
      -1, steps_patterns.shape[-1]))).reshape(len(steps_patterns), -1)
  shared = np.mean(steps_patterns[:, 1:] == steps_patterns[:, :-1], axis=2)
  return {
      'neighbour_step_share': float(shared.mean()),
      'min_neighbour_step_share': float(shared.min(axis=1).mean()),
      'ends_step_share': step_accuracy(steps_patterns[:, -1],
                                       steps_patterns[:, 0]),
      'middles_in_data_range': float(np.mean((inner >= low) & (inner <= high))),
      'morphs_in_data_range': float(np.mean(np.all(
          (inner >= low) & (inner <= high), axis=1))),
      'data_notes_per_bar_5th_95th': [float(low), float(high)],
  }


def interpolation_figures(steps_patterns, start_patterns, end_patterns,
                          reference_hits):
  """Figures of interpolations, `steps_patterns` [pairs, num_steps, 64].

  Endpoint accuracy: how well the first and last steps reproduce their inputs.
  Midpoints in range: the share of inner steps whose notes per bar lie within
  the reference's 1st-99th percentile, i.e. neither silent nor a wall of hits.
  And `morph_figures`.
  """
  endpoint_accuracy = step_accuracy(
      np.concatenate([steps_patterns[:, 0], steps_patterns[:, -1]]),
      np.concatenate([start_patterns, end_patterns]))
  inner = steps_patterns[:, 1:-1].reshape(-1, steps_patterns.shape[-1])
  return {
      'num_interpolations': int(len(steps_patterns)),
      'endpoint_accuracy': endpoint_accuracy,
      'midpoints_in_data_range': in_data_range_share(hits(inner),
                                                     reference_hits),
      'data_notes_per_bar_range': list(data_notes_per_bar_range(
          reference_hits)),
      **morph_figures(steps_patterns, reference_hits),
  }
