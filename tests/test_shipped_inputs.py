"""Grooves given to the shipped model come back: loops, interpolation ends, variations, seeds.

Core tier: the inputs are the project's own dataset/grooves and loops written here.
"""
import os

import numpy as np

from conftest import REPO, hits, run_generate

KICK, SNARE, CLOSED_HAT = 36, 38, 42


def write_loop(path, bars):
  """A rock loop of `bars` bars, 120 qpm: kick 1 and 3, snare 2 and 4, 8th hats."""
  import note_seq  # pylint: disable=g-import-not-at-top
  sequence = note_seq.NoteSequence(ticks_per_quarter=220)
  sequence.tempos.add(qpm=120)
  sequence.time_signatures.add(numerator=4, denominator=4)
  for bar in range(bars):
    for step, pitch in [(0, KICK), (8, KICK), (4, SNARE), (12, SNARE)] + [
        (s, CLOSED_HAT) for s in range(0, 16, 2)]:
      start = (bar * 16 + step) * 0.125
      sequence.notes.add(pitch=pitch, velocity=100, is_drum=True, instrument=9,
                         start_time=start, end_time=start + 0.1)
  sequence.total_time = bars * 2.0
  note_seq.sequence_proto_to_midi_file(sequence, str(path))
  return path


def test_short_loops_are_repeated_to_4_bars_and_interpolate(tmp_path):
  """A 1-bar and a 2-bar loop as the two ends of one interpolation."""
  loops = [write_loop(tmp_path / f'loop{bars}.mid', bars) for bars in (1, 2)]
  result = run_generate('--mode=interpolate', '--num_outputs=3',
                        f'--input_midi_1={loops[0]}', f'--input_midi_2={loops[1]}',
                        f'--output_dir={tmp_path / "out"}', '--temperature=0.01')
  for bars in (1, 2):
    assert f'loop{bars}.mid: a {bars}-bar loop, repeated to fill 4 bars' in result.stderr
  first, _, last = [hits(path) for path in result.stdout.split()]
  expected = hits(write_loop(tmp_path / 'loop4.mid', 4))
  # The ends decode the loops' own codes: each plays its loop back over 4 bars.
  for end in (first, last):
    steps_right = np.mean(np.all(end == expected, axis=0))
    assert steps_right >= 0.75, steps_right


ROCK = os.path.join(REPO, 'dataset', 'grooves', 'rock_0_96bpm.mid')
FUNK = os.path.join(REPO, 'dataset', 'grooves', 'funk_0_92bpm.mid')


def tempo(path):
  import pretty_midi  # pylint: disable=g-import-not-at-top
  return pretty_midi.PrettyMIDI(path).get_tempo_changes()[1][0]


def test_interpolation_starts_and_ends_on_its_inputs_at_their_tempo(tmp_path):
  result = run_generate('--mode=interpolate', '--num_outputs=5', f'--input_midi_1={ROCK}',
                        f'--input_midi_2={FUNK}', f'--output_dir={tmp_path}', '--seed=0')
  paths = result.stdout.split()
  for path, source in [(paths[0], ROCK), (paths[-1], FUNK)]:
    steps_right = np.mean(np.all(hits(path) == hits(source), axis=0))
    assert steps_right >= 0.85, (path, steps_right)
  # Written at the first input's tempo (96 qpm), not Magenta's 120.
  assert {round(tempo(path), 3) for path in paths} == {96.0}
  faster = run_generate('--mode=interpolate', '--num_outputs=2', f'--input_midi_1={ROCK}',
                        f'--input_midi_2={FUNK}', f'--output_dir={tmp_path / "fast"}',
                        '--qpm=140', '--refine_steps=0')  # the tempo alone
  assert {round(tempo(path), 3) for path in faster.stdout.split()} == {140.0}


def test_same_seed_writes_the_same_midi_and_another_seed_other_midi(tmp_path):
  """generate.py's files with --seed=7 again in this process (seeds 7 and 8, the job function)."""
  from drumvae import runtime  # pylint: disable=g-import-not-at-top
  runtime.load_tensorflow()
  import configs  # pylint: disable=g-import-not-at-top,unused-import
  from drumvae import generation  # pylint: disable=g-import-not-at-top
  read = lambda paths: [open(path, 'rb').read() for path in paths]
  for mode in ('sample', 'interpolate'):
    inputs = {'input_midi_1': ROCK, 'input_midi_2': FUNK} if mode == 'interpolate' else {}
    script = run_generate(f'--mode={mode}', '--num_outputs=3', '--seed=7', '--refine_steps=20',
                          f'--output_dir={tmp_path / mode}',
                          *[f'--{flag}={path}' for flag, path in inputs.items()])
    again, other = [read(generation.generate(generation.Options(
        mode=mode, num_outputs=3, seed=seed, refine_steps=20,
        output_dir=str(tmp_path / f'{mode}{seed}'), **inputs))) for seed in (7, 8)]
    assert read(script.stdout.split()) == again
    assert again != other


def test_similarity_one_gives_the_input_back_and_lower_moves_away(tmp_path):
  """In one process (generate.py's job function): three TensorFlow start-ups fewer."""
  from drumvae import runtime  # pylint: disable=g-import-not-at-top
  runtime.load_tensorflow()
  import configs  # pylint: disable=g-import-not-at-top,unused-import
  from drumvae import generation  # pylint: disable=g-import-not-at-top
  source = hits(ROCK)
  share = {}
  for similarity in (1.0, 0.5, 0.0):
    paths = generation.generate(generation.Options(
        mode='similar', input_midi_1=ROCK, num_outputs=4, similarity=similarity, seed=0,
        temperature=0.1, output_dir=str(tmp_path / str(similarity))))
    share[similarity] = np.mean([np.mean(np.all(hits(path) == source, axis=0))
                                 for path in paths])
  assert share[1.0] >= 0.7 and share[1.0] > share[0.5] > share[0.0], share
