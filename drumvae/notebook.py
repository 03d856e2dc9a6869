"""Small helpers that keep 4bar_drums.ipynb short: pictures and players.

Pictures are written with `files.write_new_file`, as generate.py writes MIDI
files, so a rerun never overwrites an earlier output. Players embed their WAV in the notebook,
so they are rendered at EMBED_SAMPLE_RATE to keep a saved notebook small;
render_midi.py makes full-rate WAV files.
"""
import copy

import numpy as np

from drumvae import audio
from drumvae import drum_grid
from drumvae import files
from drumvae import midi

# A quarter of CD rate, mono 16-bit: ~29 KB of notebook per second of audio
# (base64), so the default players (4 samples, a 5-step morph) stay near 2 MB.
# Drums keep their attack; cymbals lose their shimmer above 5.5 kHz.
EMBED_SAMPLE_RATE = 11025


def save_drum_grid(sequence, png_path, title):
  """Writes `sequence`'s drum grid to a new PNG (never over a file); returns the Figure."""
  figures = []
  files.write_new_file(png_path, lambda tmp: figures.append(
      drum_grid.plot_drum_grid(sequence, tmp, title)))
  return figures[0]


def _at_least_bars(sequence, bars=midi.BARS):
  """`sequence`, or a copy lengthened to `bars` 4/4 bars if it is shorter.

  A groove whose last hits come early (or an untrained model's silence)
  still plays for the full 4 bars.
  """
  seconds = bars * 4 * 60.0 / midi.qpm_of(sequence)
  if sequence.total_time >= seconds:
    return sequence
  longer = copy.deepcopy(sequence)
  longer.total_time = seconds
  return longer


def player(sequences, sample_rate=EMBED_SAMPLE_RATE):
  """An inline audio player of one NoteSequence, or of several played in turn.

  Each sequence lasts at least 4 whole bars; only the last keeps its release
  tail, so an interpolation plays as one continuous groove from A to B.
  """
  from IPython.display import Audio  # pylint: disable=g-import-not-at-top
  if not isinstance(sequences, (list, tuple)):
    sequences = [sequences]
  parts = []
  for i, sequence in enumerate(sequences):
    sequence = _at_least_bars(sequence)
    samples = audio.synthesize(sequence, sample_rate=sample_rate)
    if i < len(sequences) - 1:
      samples = samples[:round((audio.rendered_seconds(sequence)
                                - audio.RELEASE_TAIL_SECONDS) * sample_rate)]
    parts.append(samples)
  return Audio(np.concatenate(parts), rate=sample_rate, normalize=False)

