"""Tests of WAV rendering (real FluidSynth), drum grids and render_midi.py."""
import os
import subprocess
import sys
import wave

import matplotlib.image
import numpy as np
import pytest

from drumvae import audio
from drumvae import drum_grid
from conftest import REPO

RENDER_MIDI = os.path.join(REPO, 'render_midi.py')
SECONDS_PER_STEP = 0.125  # A 16th note at 120 qpm, the tempo of every sequence built here.
KICK, SNARE, CLOSED_HAT, RIDE = 36, 38, 42, 59


def make_sequence(hits, qpm=120.0):
  """A drum NoteSequence from (pitch, step, velocity) hits, one 16th note long each."""
  import note_seq  # pylint: disable=g-import-not-at-top  # After drumvae: it quiets pydub.
  sequence = note_seq.NoteSequence(ticks_per_quarter=220)
  sequence.tempos.add(qpm=qpm)
  sequence.time_signatures.add(numerator=4, denominator=4)
  step_seconds = 15 / qpm
  for pitch, step, velocity in hits:
    sequence.notes.add(pitch=pitch, velocity=velocity, is_drum=True, instrument=9,
                       start_time=step * step_seconds, end_time=(step + 1) * step_seconds)
  sequence.total_time = max((note.end_time for note in sequence.notes), default=0.0)
  return sequence


def rock_beat(bars=4):
  """Kick on beats 1 and 3, snare on 2 and 4, closed hi-hat on the other 8ths."""
  hits = []
  for bar_start in range(0, 16 * bars, 16):
    hits += [(KICK, bar_start + s, 110) for s in (0, 8)]
    hits += [(SNARE, bar_start + s, 100) for s in (4, 12)]
    hits += [(CLOSED_HAT, bar_start + s, 60) for s in (2, 6, 10, 14)]
  return make_sequence(hits)


def rms(samples):
  return float(np.sqrt(np.mean(np.square(samples))))


def read_wav(path):
  with wave.open(str(path)) as wav:
    assert (wav.getnchannels(), wav.getsampwidth()) == (1, 2)
    frames = np.frombuffer(wav.readframes(wav.getnframes()), dtype='<i2')
    return frames / 32768, wav.getframerate()


@pytest.fixture(name='groove_fill')
def fixture_groove_fill(groove_dir):
  """A short real Groove file: a 1-bar funk fill at 95 qpm."""
  return str(groove_dir / 'drummer1' / 'session1' / '103_funk_95_fill_4-4.mid')


def run_render_midi(*args, python_prelude=None):
  """Runs render_midi.py in a fresh interpreter, optionally after some set-up code."""
  if python_prelude is None:
    command = [sys.executable, RENDER_MIDI, *args]
  else:
    script = (f'{python_prelude}\nimport runpy, sys\n'
              f'sys.argv = [{RENDER_MIDI!r}, *{list(args)!r}]\n'
              f'runpy.run_path({RENDER_MIDI!r}, run_name="__main__")')
    command = [sys.executable, '-c', script]
  # With $CI set, pyfluidsynth prints to stdout on import; stdout must stay the list of files.
  return subprocess.run(command, capture_output=True, text=True, timeout=300, check=False,
                        env={**os.environ, 'CI': '1'})


# --- WAV rendering ---------------------------------------------------------


def test_wav_of_4_bar_groove_lasts_4_bars_plus_tail_and_is_loud(tmp_path):
  sequence = rock_beat()  # Last hit ends at step 63: 7.875 s, rounded up to 8 s.
  wav_path = tmp_path / 'beat.wav'
  seconds = audio.render_wav(sequence, str(wav_path))
  samples, sample_rate = read_wav(wav_path)
  assert sample_rate == audio.DEFAULT_SAMPLE_RATE
  expected = 4 * 4 * 0.5 + audio.RELEASE_TAIL_SECONDS  # 4 bars of 4 beats at 120 qpm.
  assert len(samples) / sample_rate == pytest.approx(expected, abs=1e-3)
  assert seconds == pytest.approx(expected, abs=1e-3)
  assert rms(samples) > 0.03


def test_a_late_last_hit_rings_into_the_tail_and_adds_no_silent_bar():
  """A humanized groove's last hit may be played late, ending past the 4th bar line."""
  sequence = rock_beat()
  last = max(sequence.notes, key=lambda note: note.start_time)
  last.start_time, last.end_time = 7.89, 8.02  # just after step 63 (7.875 s)
  sequence.total_time = 8.02
  assert audio.rendered_seconds(sequence) == pytest.approx(8 + audio.RELEASE_TAIL_SECONDS)
  sequence.notes.add(pitch=KICK, velocity=100, start_time=8.0, end_time=8.1, is_drum=True)
  assert audio.rendered_seconds(sequence) == pytest.approx(10 + audio.RELEASE_TAIL_SECONDS)


def test_each_kick_onset_is_loud_and_the_moment_before_is_quiet(tmp_path):
  kick_steps = list(range(0, 64, 8))
  wav_path = tmp_path / 'kicks.wav'
  audio.render_wav(make_sequence([(KICK, s, 110) for s in kick_steps]), str(wav_path))
  samples, sample_rate = read_wav(wav_path)
  window = int(0.03 * sample_rate)
  for step in kick_steps:
    onset = int(step * SECONDS_PER_STEP * sample_rate)
    after = rms(samples[onset:onset + window])
    assert after > 0.1, f'kick at step {step} is silent'
    if onset >= window:
      assert rms(samples[onset - window:onset]) < after / 10, f'no onset at step {step}'


def test_drum_notes_play_the_drum_kit_not_a_melodic_instrument():
  samples = audio.synthesize(make_sequence([(KICK, 0, 110), (CLOSED_HAT, 8, 110)]))
  sample_rate = audio.DEFAULT_SAMPLE_RATE

  def spectral_centroid(start_seconds):
    start = int(start_seconds * sample_rate)
    spectrum = np.abs(np.fft.rfft(samples[start:start + 4096]))
    return spectrum @ np.fft.rfftfreq(4096, 1 / sample_rate) / spectrum.sum()

  # On a melodic program pitches 36 and 42 sound a fifth apart (centroid ratio
  # about 1.4); on the drum kit the hi-hat is many times brighter than the kick.
  assert spectral_centroid(8 * SECONDS_PER_STEP) > 3 * spectral_centroid(0)


def test_empty_sequence_renders_the_release_tail_of_silence():
  samples = audio.synthesize(make_sequence([]))
  assert len(samples) == round(audio.RELEASE_TAIL_SECONDS * audio.DEFAULT_SAMPLE_RATE)
  assert not samples.any()


# --- Drum grids ------------------------------------------------------------


def cell_pixel(figure, ax, step, row):
  """RGB of the centre of grid cell (step, row) in the drawn figure."""
  figure.canvas.draw()
  pixels = np.asarray(figure.canvas.buffer_rgba())
  x, y = ax.transData.transform((step, row))
  return pixels[int(pixels.shape[0] - y), int(x), :3]


def drawn_hits(ax):
  """{(row, step): (offset in steps from the step's centre, RGBA)} of the hits drawn on `ax`."""
  collection, = ax.collections
  hits = {}
  for path, colour in zip(collection.get_paths(), collection.get_facecolors()):
    low, high = path.vertices.min(axis=0), path.vertices.max(axis=0)
    (x, y) = (low + high) / 2
    hits[(round(y), round(x))] = (x - round(x), tuple(colour))
  return hits


def test_drum_grid_rows_columns_and_a_hit_at_a_known_cell(tmp_path):
  sequence = make_sequence([(SNARE, 4, 127), (RIDE, 63, 90)])
  sequence.notes.add(pitch=SNARE, velocity=127, start_time=0.0, end_time=0.1,
                     is_drum=False)  # A melodic note: not drawn.
  png_path = tmp_path / 'grid.png'
  figure = drum_grid.plot_drum_grid(sequence, str(png_path), title='known hits')
  ax, = figure.axes
  assert [label.get_text() for label in ax.get_yticklabels()] == [
      'kick', 'snare', 'closed hi-hat', 'open hi-hat', 'low tom', 'mid tom',
      'high tom', 'crash', 'ride']
  assert ax.get_xlim() == (-0.5, 63.5) and ax.get_ylim() == (-0.5, 8.5)
  hits = drawn_hits(ax)
  assert sorted(hits) == [(1, 4), (8, 63)]  # Only the two drum hits are drawn.
  assert hits[(1, 4)][0] == pytest.approx(0) and hits[(8, 63)][0] == pytest.approx(0)
  assert sum(hits[(1, 4)][1][:3]) < sum(hits[(8, 63)][1][:3])  # the louder, the darker
  assert cell_pixel(figure, ax, 4, 1).max() < 60  # Snare at step 4: dark.
  assert cell_pixel(figure, ax, 0, 1).min() > 240  # Snare at step 0: white.
  assert cell_pixel(figure, ax, 4, 0).min() > 240  # Kick at step 4: white.
  assert ax.get_title(loc='left') == 'known hits'
  height, width, _ = matplotlib.image.imread(png_path).shape
  assert (width, height) == (1200, 320)


def test_every_gm_drum_pitch_lands_in_a_row():
  velocities = drum_grid.drum_grid(make_sequence([(p, 0, 100) for p in range(35, 82)])).velocities
  assert velocities[:, 0].all()


def test_longer_sequence_shows_its_first_4_bars_and_says_so(tmp_path):
  figure = drum_grid.plot_drum_grid(rock_beat(bars=8), str(tmp_path / 'long.png'))
  ax, = figure.axes
  assert ax.get_xlim() == (-0.5, 63.5)
  assert max(step for _, step in drawn_hits(ax)) == 62  # the last 8th note of bar 4
  assert ax.get_title(loc='left') == 'drum grid (first 4 of 8 bars)'


def test_empty_sequence_draws_a_blank_grid(tmp_path):
  png_path = tmp_path / 'empty.png'
  figure = drum_grid.plot_drum_grid(make_sequence([]), str(png_path))
  assert not drawn_hits(figure.axes[0])
  assert png_path.stat().st_size > 0


def test_interpolation_stacks_every_step_from_a_to_b(tmp_path):
  steps = [make_sequence([(KICK, 0, 100)]), make_sequence([(SNARE, 4, 100)]),
           make_sequence([(RIDE, 8, 100)])]
  figure = drum_grid.plot_interpolation(steps, str(tmp_path / 'morph.png'))
  assert [ax.get_title(loc='left') for ax in figure.axes] == ['A (1/3)', '2/3', 'B (3/3)']
  hits = [tuple(drawn_hits(ax)) for ax in figure.axes]
  assert hits == [((0, 0),), ((1, 4),), ((8, 8),)]


# --- render_midi.py --------------------------------------------------------


def test_render_midi_writes_wav_and_png_of_a_groove_file_and_never_overwrites(
    tmp_path, groove_fill):
  first = run_render_midi(f'--input_midi={groove_fill}', f'--output_dir={tmp_path}')
  assert first.returncode == 0, first.stderr
  wav_path, png_path = tmp_path / '103_funk_95_fill_4-4.wav', tmp_path / '103_funk_95_fill_4-4.png'
  assert first.stdout.split() == [str(wav_path), str(png_path)]
  samples, sample_rate = read_wav(wav_path)
  one_bar_at_95_qpm = 4 * 60 / 95
  assert len(samples) / sample_rate == pytest.approx(
      one_bar_at_95_qpm + audio.RELEASE_TAIL_SECONDS, abs=0.01)
  assert rms(samples) > 0.01
  assert matplotlib.image.imread(png_path).shape[:2] == (320, 1200)

  wav_bytes = wav_path.read_bytes()
  second = run_render_midi(f'--input_midi={groove_fill}', f'--output_dir={tmp_path}',
                           '--plot')
  assert second.returncode == 0, second.stderr
  assert second.stdout.split() == [str(tmp_path / '103_funk_95_fill_4-4_1.png')]
  assert wav_path.read_bytes() == wav_bytes
  assert sorted(p.name for p in tmp_path.iterdir()) == [
      '103_funk_95_fill_4-4.png', '103_funk_95_fill_4-4.wav', '103_funk_95_fill_4-4_1.png']


def test_render_midi_on_a_non_midi_file_fails_in_one_line(tmp_path):
  not_midi = tmp_path / 'notes.mid'
  not_midi.write_text('not a MIDI file\n')
  result = run_render_midi(f'--input_midi={not_midi}', f'--output_dir={tmp_path / "out"}')
  assert result.returncode != 0
  assert 'Traceback' not in result.stderr
  assert len(result.stderr.strip().splitlines()) == 1, result.stderr
  assert str(not_midi) in result.stderr and 'not a readable MIDI file' in result.stderr
  assert not (tmp_path / 'out').exists()


# Without libfluidsynth on this machine, "not installed" is simulated in a child
# interpreter by making ctypes.util.find_library (which pyfluidsynth uses to
# look the library up) find nothing for it; everything above that runs as is.
_HIDE_LIBFLUIDSYNTH = ('import ctypes.util\n'
                       'find_library = ctypes.util.find_library\n'
                       'ctypes.util.find_library = (lambda name: None '
                       'if "fluidsynth" in name else find_library(name))')


def test_missing_libfluidsynth_fails_in_one_line_with_install_hint(tmp_path, groove_fill):
  result = run_render_midi(f'--input_midi={groove_fill}', f'--output_dir={tmp_path}',
                           python_prelude=_HIDE_LIBFLUIDSYNTH)
  assert result.returncode == 1
  assert len(result.stderr.strip().splitlines()) == 1, result.stderr
  assert 'apt-get install libfluidsynth3' in result.stderr
  assert 'brew install fluid-synth' in result.stderr
  assert list(tmp_path.iterdir()) == []


def test_plots_need_no_libfluidsynth(tmp_path, groove_fill):
  result = run_render_midi(f'--input_midi={groove_fill}', f'--output_dir={tmp_path}',
                           '--plot', python_prelude=_HIDE_LIBFLUIDSYNTH)
  assert result.returncode == 0, result.stderr
  assert [p.name for p in tmp_path.iterdir()] == ['103_funk_95_fill_4-4.png']
