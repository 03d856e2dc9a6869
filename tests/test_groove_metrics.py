"""The musical measures on grooves built in code: real beats pass, silence and noise fail."""
import numpy as np
import pytest

from drumvae import groove_metrics

KICK, SNARE, CLOSED_HAT = 0, 1, 2


def rock_beats(n, seed=0):
  """n 4-bar rock beats: hats on 8ths, snare on 2 and 4, kicks that vary."""
  rng = np.random.default_rng(seed)
  grooves = np.zeros((n, 64, 9), bool)
  grooves[:, ::2, CLOSED_HAT] = True
  grooves[:, 4::8, SNARE] = True
  grooves[:, ::16, KICK] = True
  grooves[:, 8::16, KICK] = rng.random((n, 4)) < 0.7
  grooves[:, 10::16, KICK] = rng.random((n, 4)) < 0.3
  return grooves


def test_patterns_and_hits_round_trip():
  grooves = rock_beats(3)
  indices = (grooves * (1 << np.arange(9))).sum(-1)
  one_hot = np.eye(512, dtype=bool)[indices]
  assert np.array_equal(groove_metrics.hits(groove_metrics.patterns(one_hot)),
                        grooves)
  # Bit i of the pattern index is drum class i (note_seq's MultiDrumOneHotEncoding).
  assert groove_metrics.hits(np.array([0b101]))[0].tolist() == (
      [True, False, True] + [False] * 6)


def test_profile_is_hit_probability_per_bar_position():
  profile = groove_metrics.groove_profile(rock_beats(50))
  assert profile.shape == (16, 9)
  assert profile[0, KICK] == 1 and profile[4, SNARE] == 1
  assert profile[1, CLOSED_HAT] == 0 and profile[2, CLOSED_HAT] == 1
  assert 0.5 < profile[8, KICK] < 0.9


def test_real_beats_pass_silence_and_noise_fail():
  reference = rock_beats(200, seed=1)
  rng = np.random.default_rng(2)
  silent = np.zeros((100, 64, 9), bool)
  noise = rng.random((100, 64, 9)) < 0.5
  snare_wall = rock_beats(100, seed=3)
  snare_wall[:, :, SNARE] = True
  beats = groove_metrics.set_figures(rock_beats(100, seed=4), reference)
  assert beats['empty_share'] == 0 and beats['profile_distance'] < 0.02
  assert beats['in_data_range'] >= 0.9
  silence = groove_metrics.set_figures(silent, reference)
  assert silence['empty_share'] == 1 and silence['notes_per_bar'] == 0
  # Silence is as far from the data as the data's mean hit probability.
  assert silence['profile_distance'] == pytest.approx(
      groove_metrics.groove_profile(reference).mean())
  assert silence['profile_distance'] > 0.05 and silence['in_data_range'] == 0
  noisy = groove_metrics.set_figures(noise, reference)
  assert noisy['profile_distance'] > 0.3 and noisy['in_data_range'] == 0
  walls = groove_metrics.set_figures(snare_wall, reference)
  assert walls['profile_distance'] > 0.04 and walls['in_data_range'] == 0
  assert walls['snare_rolls'] == 1
  assert beats['snare_rolls'] == silence['snare_rolls'] == 0


def test_snare_rolls_counts_grooves_with_the_snare_on_five_eighths_of_steps():
  grooves = rock_beats(4)
  grooves[0, :36, SNARE] = True  # with the backbeats at 36-60: 40 of 64, a roll
  grooves[1, :35, SNARE] = True  # 39 of 64: not yet
  assert groove_metrics.snare_roll_share(grooves) == 0.25


def test_step_accuracy_counts_whole_patterns():
  assert groove_metrics.step_accuracy([[1, 2, 3, 4]], [[1, 2, 3, 5]]) == 0.75


def test_drum_error_rates_say_which_drum_is_wrong():
  target = (rock_beats(2) * (1 << np.arange(9))).sum(-1)
  predicted = target.copy()
  predicted[0, 4] &= ~(1 << SNARE)  # one backbeat missed
  predicted[1, 1] |= 1 << CLOSED_HAT  # one hi-hat added
  errors = groove_metrics.drum_error_rates(predicted, target)
  assert errors[SNARE] == errors[CLOSED_HAT] == 1 / 128
  assert errors.sum() == 2 / 128
  assert groove_metrics.step_accuracy(predicted, target) == 126 / 128


def test_slerp_keeps_ends_and_norm_of_orthogonal_unit_vectors():
  a, b = np.array([1.0, 0.0]), np.array([0.0, 1.0])
  assert np.allclose(groove_metrics.slerp(a, b, 0), a)
  assert np.allclose(groove_metrics.slerp(a, b, 1), b)
  assert np.isclose(np.linalg.norm(groove_metrics.slerp(a, b, 0.5)), 1)
  assert np.allclose(groove_metrics.slerp(a, a, 0.3), a)


@pytest.mark.parametrize('middle,in_range', [('beats', 1.0), ('silent', 0.0),
                                             ('noise', 0.0)])
def test_interpolation_figures(middle, in_range):
  reference = rock_beats(200, seed=1)
  starts, ends = rock_beats(4, seed=5), rock_beats(4, seed=6)
  middles = {'beats': rock_beats(12, seed=7),
             'silent': np.zeros((12, 64, 9), bool),
             'noise': np.ones((12, 64, 9), bool)}[middle].reshape(4, 3, 64, 9)
  steps = np.concatenate([starts[:, None], middles, ends[:, None]], axis=1)
  to_patterns = lambda g: (g * (1 << np.arange(9))).sum(-1)
  figures = groove_metrics.interpolation_figures(
      to_patterns(steps), to_patterns(starts), to_patterns(ends), reference)
  assert figures['endpoint_accuracy'] == 1.0
  assert figures['midpoints_in_data_range'] == in_range
  # The rock beats' notes per bar vary little: a beat in their middle 90% is in range.
  assert figures['morphs_in_data_range'] <= figures['middles_in_data_range']
  assert (figures['middles_in_data_range'] > 0.5) == (middle == 'beats')
  wrong_ends = groove_metrics.interpolation_figures(
      to_patterns(steps), to_patterns(ends), to_patterns(starts), reference)
  assert wrong_ends['endpoint_accuracy'] < 1.0


def test_near_copies_are_grooves_within_a_tenth_of_the_steps_of_a_training_window():
  to_patterns = lambda g: (g * (1 << np.arange(9))).sum(-1)
  training = to_patterns(rock_beats(50, seed=8))
  copied = training[:3].copy()
  copied[0, :6] = 511  # every drum at once: 58 of 64 steps as in a training window: a copy
  copied[1, :7] = 511  # 57 of 64: new enough
  copied[2, :] = 0  # silence: not a rock beat
  assert groove_metrics.near_copy_share(copied, training) == pytest.approx(1 / 3)
  assert groove_metrics.near_copy_share(training[:4], training) == 1


def test_a_gradual_morph_shares_more_with_its_neighbours_than_a_jump():
  to_patterns = lambda g: (g * (1 << np.arange(9))).sum(-1)
  start = np.zeros((64, 9), bool)
  start[::2, CLOSED_HAT] = True  # 8th hats
  end = np.zeros((64, 9), bool)
  end[:, CLOSED_HAT] = True  # 16th hats: shares the 32 even steps with start
  gradual = [start.copy() for _ in range(5)]
  for i, step in enumerate(gradual):
    step[1:16 * i:2, CLOSED_HAT] = True  # one bar more of 16ths each step
  jump = [start, start, end, end, end]
  reference = rock_beats(50)
  smooth = groove_metrics.morph_figures(to_patterns(np.array([gradual])), reference)
  jumpy = groove_metrics.morph_figures(to_patterns(np.array([jump])), reference)
  assert smooth['ends_step_share'] == jumpy['ends_step_share'] == 0.5
  # The same change in all: on average the same share, but the jump makes it at once.
  assert smooth['neighbour_step_share'] == jumpy['neighbour_step_share'] == 1 - 8 / 64
  assert smooth['min_neighbour_step_share'] == 1 - 8 / 64  # 8 steps change each time
  assert jumpy['min_neighbour_step_share'] == 0.5  # A to B in one step
