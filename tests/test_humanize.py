"""The humanizer (GrooVAE): its measures, a tiny real run trained on dataset/grooves,
generate.py --mode=humanize and --humanize, and its bad inputs."""
import json
import pathlib

import note_seq
import numpy as np
import pytest

from conftest import OWN_GROOVE, REPO, run_generate, run_script
from drumvae import drum_grid
from drumvae import humanization

CONFIG = 'groovae-drums_4bar_humanize_cpu'
# Small, and trained long enough to keep many of the hits it is given (an
# untrained one keeps none: its hit probabilities start near 0.5 and fall).
HPARAMS = ('batch_size=32,z_size=32,enc_rnn_size=[64],dec_rnn_size=[64,64],'
           'dropout_keep_prob=1.0,learning_rate=0.003')
STEPS = 200


def window(hits, velocity=0.5, offset=0.0):
  """[64, 27] windows of `hits` [n, 64, 9] at one velocity and offset."""
  return humanization.join(hits, np.full(hits.shape, velocity), np.full(hits.shape, offset))


def test_measures_give_the_error_in_midi_units_and_milliseconds():
  hits = np.zeros((2, 64, 9), bool)
  hits[:, ::4, 0] = True  # kick on every beat
  hits[:, 2::4, 2] = True  # hi-hat between
  drummer = window(hits, 0.5, 0.0)
  drummer[:, 2::4, 9 + 2] = 0.25  # hi-hats softer: the drummer's spread
  played = window(hits, 0.5 + 10 / 127, 0.2)  # 10 louder; 0.1 of a sixteenth early
  measured = humanization.measures(played, drummer, qpm=np.array([120.0, 60.0]))
  assert measured['velocity_mae'] == pytest.approx(10 + 0.25 * 127 / 2, rel=1e-5)
  # A sixteenth is 125 ms at 120 qpm, 250 ms at 60: 0.1 of one is 12.5 and 25 ms.
  assert measured['timing_mae_ms'] == pytest.approx((12.5 + 25) / 2, rel=1e-5)
  assert measured['hits_kept'] == 1 and measured['hits_added'] == 0
  assert measured['velocity_spread'] == pytest.approx(0, abs=1e-6)  # every hit alike
  assert humanization.measures(drummer, drummer, [120, 120])['velocity_spread'] == (
      pytest.approx(1))
  fewer = played.copy()
  fewer[:, ::4, 0] = 0  # no kicks
  assert humanization.measures(fewer, drummer, [120, 120])['hits_kept'] == 0.5


def test_the_average_drummer_plays_each_drum_at_its_mean_for_that_sixteenth():
  hits = np.zeros((2, 64, 9), bool)
  hits[:, ::2, 2] = True  # 8th-note hi-hats
  drummer = window(hits, 0.4, 0.0)
  drummer[0, ::4, 9 + 2] = 0.8  # on the beat louder in one window
  drummer[:, 2::4, 18 + 2] = -0.2  # off the beat late
  average = humanization.AverageDrummer.fit(drummer)
  played = average.play(hits)
  assert played[0, 0, 9 + 2] == pytest.approx(0.6) and played[1, 4, 9 + 2] == pytest.approx(0.6)
  assert played[0, 2, 9 + 2] == pytest.approx(0.4)
  assert played[0, 2, 18 + 2] == pytest.approx(-0.2) and played[0, 0, 18 + 2] == 0
  assert not played[:, :, [0, 1]].any()  # no kick or snare where none is hit


def test_played_given_divides_velocity_by_the_hit_probability_and_keeps_the_hits():
  hits = np.zeros((1, 64, 9), bool)
  hits[0, [0, 8], 0] = True
  logits = np.full((1, 64, 27), -20.0)
  logit = lambda p: np.log(p / (1 - p))
  logits[0, 0, 0], logits[0, 0, 9], logits[0, 0, 18] = logit(0.5), logit(0.3), np.arctanh(0.1)
  logits[0, 8, 0], logits[0, 8, 9] = logit(0.01), logit(0.05)  # a hit the model doubts
  logits[0, 20, 0] = 5.0  # and one it would add
  played = humanization.played_given(logits, hits)
  np.testing.assert_array_equal(humanization.split(played)[0], hits)
  assert played[0, 0, 9] == pytest.approx(0.6) and played[0, 0, 18] == pytest.approx(0.2)
  assert played[0, 8, 9] == pytest.approx(0.5)  # p taken as MIN_HIT_PROBABILITY
  assert humanization.model_hits(logits)[0, 20, 0] and not humanization.model_hits(logits)[0, 8, 0]


def test_the_drum_grid_shows_how_early_or_late_each_hit_is():
  sequence = note_seq.NoteSequence()
  sequence.tempos.add(qpm=120)  # a sixteenth: 0.125 s
  for step, shift, velocity in ((0, 0.0, 100), (4, 0.03125, 60), (8, -0.025, 30)):
    start = step * 0.125 + shift
    sequence.notes.add(pitch=36, velocity=velocity, start_time=start,
                       end_time=start + 0.1, is_drum=True)
  grid = drum_grid.drum_grid(sequence)
  np.testing.assert_allclose(grid.offsets[0, [0, 4, 8]], [0, 0.25, -0.2], atol=1e-9)
  np.testing.assert_array_equal(grid.velocities[0, [0, 4, 8]], [100, 60, 30])


@pytest.fixture(scope='module')
def humanizer(dataset_tfrecord, tmp_path_factory):
  """A small humanizer trained on the project's own grooves; its run dir."""
  run_dir = tmp_path_factory.mktemp('humanizer')
  result = run_script('train.py', f'--config={CONFIG}', f'--run_dir={run_dir}',
                      f'--examples_path={dataset_tfrecord}', f'--num_steps={STEPS}',
                      f'--hparams={HPARAMS}', '--progress_secs=0', '--seed=0')
  assert result.returncode == 0, result.stderr[-3000:]
  return run_dir


def notes_of(path):
  sequence = note_seq.midi_file_to_note_sequence(str(path))
  return sequence, sorted(sequence.notes, key=lambda n: (n.start_time, n.pitch))


def test_eval_measures_the_humanizer_beside_both_baselines(humanizer, dataset_tfrecord):
  result = run_script('train.py', '--mode=eval', f'--run_dir={humanizer}',
                      f'--examples_path={dataset_tfrecord}')
  assert result.returncode == 0, result.stderr[-3000:]
  metrics = json.loads((pathlib.Path(humanizer) / 'eval' / 'metrics.json').read_text())
  assert set(metrics) >= {'humanizer', 'on_the_grid', 'average_drummer'}
  grid, average, model = (metrics[k] for k in ('on_the_grid', 'average_drummer', 'humanizer'))
  assert grid['velocity_spread'] < 1e-6 and grid['hits_kept'] == 1
  assert 0 < average['velocity_mae'] < grid['velocity_mae']
  assert average['velocity_spread'] > 0.1
  assert model['hits_kept'] > 0.3  # it learned to play some of what it is given
  assert model['velocity_spread'] > 0.2  # and not every hit alike
  assert 0 < model['velocity_mae'] < 127
  assert 'humanizer.velocity_mae' in result.stdout


def test_humanize_keeps_every_note_and_the_tempo_and_varies_velocity(humanizer, tmp_path):
  result = run_generate('--mode=humanize', f'--run_dir={humanizer}',
                        f'--input_midi_1={OWN_GROOVE}', f'--output_dir={tmp_path}', '--plot')
  midi_path, = [p for p in result.stdout.split() if p.endswith('.mid')]
  assert any(p.endswith('-before-after.png') for p in result.stdout.split())
  source, source_notes = notes_of(OWN_GROOVE)  # 96 qpm, 4 bars
  played, played_notes = notes_of(midi_path)
  assert played.tempos[0].qpm == pytest.approx(source.tempos[0].qpm, rel=0.01)
  sixteenth = 60 / source.tempos[0].qpm / 4
  four_bars = [n for n in source_notes if n.start_time < 64 * sixteenth - sixteenth / 2]
  assert [n.pitch for n in sorted(played_notes, key=lambda n: (round(n.start_time / sixteenth), n.pitch))] == [
      n.pitch for n in sorted(four_bars, key=lambda n: (round(n.start_time / sixteenth), n.pitch))]
  steps = np.array([round(n.start_time / sixteenth) for n in four_bars])
  onsets = np.array([n.start_time / sixteenth for n in sorted(
      played_notes, key=lambda n: (round(n.start_time / sixteenth), n.pitch))])
  assert np.all(np.abs(onsets - np.sort(steps)) <= 0.5)
  assert len({n.velocity for n in played_notes}) > 3
  assert np.abs(onsets - np.round(onsets)).max() > 0.01  # not all on the grid


def test_humanize_flag_plays_the_shipped_models_samples(humanizer, tmp_path):
  result = run_generate('--mode=sample', '--num_outputs=2', '--seed=0', '--humanize',
                        f'--humanizer_run_dir={humanizer}', f'--output_dir={tmp_path}')
  paths = result.stdout.split()
  assert len(paths) == 2 and all('_sample_humanized_' in p for p in paths)
  for path in paths:
    _, notes = notes_of(path)
    assert len({n.velocity for n in notes}) > 3, path


def write_midi(path, notes, numerator=4, is_drum=True):
  sequence = note_seq.NoteSequence(ticks_per_quarter=220)
  sequence.tempos.add(qpm=100)
  sequence.time_signatures.add(numerator=numerator, denominator=4)
  for step, pitch in notes:
    sequence.notes.add(pitch=pitch, velocity=90, start_time=step * 0.15,
                       end_time=step * 0.15 + 0.1, is_drum=is_drum)
  note_seq.sequence_proto_to_midi_file(sequence, str(path))
  return path


@pytest.mark.parametrize('name, notes, numerator, is_drum, words', [
    ('waltz.mid', [(s, 36) for s in range(0, 48, 4)], 3, True, 'in 3/4'),
    ('piano.mid', [(s, 60) for s in range(0, 64, 4)], 4, False, 'no drum notes'),
    ('silent.mid', [], 4, True, 'no drum notes'),
])
def test_humanize_names_a_bad_input_in_one_line(tmp_path, humanizer, name, notes,
                                                numerator, is_drum, words):
  path = write_midi(tmp_path / name, notes, numerator, is_drum)
  result = run_script('generate.py', '--mode=humanize', f'--run_dir={humanizer}',
                      f'--input_midi_1={path}', f'--output_dir={tmp_path / "out"}')
  assert result.returncode == 1 and 'Traceback' not in result.stderr, result.stderr[-3000:]
  last = result.stderr.strip().splitlines()[-1]
  assert last.startswith('generate.py: error: ') and name in last and words in last, last
  assert not (tmp_path / 'out').exists() or not any((tmp_path / 'out').iterdir())


def test_a_groove_model_is_refused_for_humanize_and_a_humanizer_for_sample(humanizer, tmp_path):
  result = run_script('generate.py', '--mode=humanize', f'--input_midi_1={OWN_GROOVE}',
                      f'--run_dir={REPO / "models" / "groove_4bar_cpu"}',
                      f'--output_dir={tmp_path}')
  assert result.returncode == 1 and 'not a humanizer' in result.stderr.splitlines()[-1]
  result = run_script('generate.py', '--mode=sample', f'--run_dir={humanizer}',
                      f'--output_dir={tmp_path}')
  assert result.returncode == 1 and '--humanize' in result.stderr.splitlines()[-1]


def test_an_exported_humanizer_has_no_latent_prior_and_humanizes(humanizer, tmp_path):
  exported = tmp_path / 'export'
  result = run_script('export_model.py', f'--run_dir={humanizer}', f'--output_dir={exported}')
  assert result.returncode == 0, result.stderr[-3000:]
  assert not (exported / 'latent_prior.npz').exists() and 'prior' not in result.stderr
  result = run_generate('--mode=humanize', f'--run_dir={exported}',
                        f'--input_midi_1={OWN_GROOVE}', f'--output_dir={tmp_path / "out"}')
  assert len(result.stdout.split()) == 1
