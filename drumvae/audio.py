"""Renders NoteSequences and MIDI files to WAV files with FluidSynth, offline.

Drum notes (MIDI channel 10, `is_drum`) play on the SoundFont's bank-128 drum
kit. The default SoundFont is TimGM6mb.sf2, which ships inside pretty_midi.
libfluidsynth, the C library under pyfluidsynth, is looked for once, on the
first render; without it a render raises `FluidSynthMissing` with an install hint.
"""
import functools
import math
import os
import wave
import warnings

import numpy as np

from drumvae import cli

# pydub, which note_seq imports, warns about ffmpeg, which nothing here uses.
warnings.filterwarnings('ignore', message="Couldn't find ffmpeg or avconv")

DEFAULT_SAMPLE_RATE = 44100  # CD rate, and pretty_midi's default.
# Long enough for a crash cymbal to fade out, short enough that loops stay tight.
RELEASE_TAIL_SECONDS = 1.0
# Peak level after normalising: -1 dBFS, so rounding to 16 bits never clips.
PEAK_LEVEL = 10 ** (-1 / 20)
_INSTALL_HINT = ('install it: Debian/Ubuntu `apt-get install libfluidsynth3`, '
                 'macOS `brew install fluid-synth`')


class FluidSynthMissing(cli.UserError):
  """pyfluidsynth or the libfluidsynth library it drives is not installed."""


@functools.cache
def _fluidsynth_problem() -> str | None:
  """Why pyfluidsynth cannot be used, or None if it can. Looked up once."""
  try:
    import fluidsynth  # pylint: disable=g-import-not-at-top,unused-import
  except ModuleNotFoundError as e:
    if e.name != 'fluidsynth':
      raise
    return 'the pyfluidsynth package is missing: `pip install pyfluidsynth`'
  except (ImportError, OSError) as e:
    return f'cannot load the FluidSynth library ({e}); {_INSTALL_HINT}'
  return None


def require_fluidsynth() -> None:
  """Raises FluidSynthMissing unless pyfluidsynth and libfluidsynth load."""
  problem = _fluidsynth_problem()
  if problem:
    raise FluidSynthMissing(problem)


def default_soundfont() -> str:
  """Path of the General MIDI SoundFont bundled with pretty_midi."""
  import pretty_midi  # pylint: disable=g-import-not-at-top
  return os.path.join(os.path.dirname(pretty_midi.__file__), 'TimGM6mb.sf2')


def read_midi(midi_path: str | os.PathLike):
  """Reads a MIDI file into a NoteSequence; UserError names a bad file."""
  import note_seq  # pylint: disable=g-import-not-at-top
  if not os.path.isfile(midi_path):
    raise cli.UserError(f'{midi_path}: no such file')
  from drumvae import midi  # pylint: disable=g-import-not-at-top
  try:
    with open(midi_path, 'rb') as f:
      return midi.midi_to_note_sequence(f.read())  # with a tick limit
  except note_seq.MIDIConversionError as e:
    raise cli.UserError(f'{midi_path}: not a readable MIDI file ({e})') from e


def rendered_seconds(sequence) -> float:
  """The WAV length for `sequence`: whole bars, plus RELEASE_TAIL_SECONDS.

  Its total_time, less one sixteenth, is rounded up to the next bar line (at
  the first tempo and time signature, 120 qpm 4/4 if it has none), and so is
  its last onset: a 4-bar groove whose last step is silent still renders as
  4 bars and loops cleanly, and one whose last hit is played a little late
  (humanized), ringing past the bar line, gains no silent fifth bar.
  """
  qpm = min(sequence.tempos, key=lambda t: t.time).qpm if sequence.tempos else 120.0
  quarters_per_bar = 4.0
  if sequence.time_signatures:
    signature = min(sequence.time_signatures, key=lambda t: t.time)
    quarters_per_bar = signature.numerator * 4 / signature.denominator
  bar_seconds = quarters_per_bar * 60 / qpm
  sixteenth = 15 / qpm  # how long a drum hit sounds in the MIDI this toolkit writes
  # The tolerance keeps float noise at a bar line from adding a bar.
  bars = math.ceil((sequence.total_time - sixteenth) / bar_seconds - 1e-6)
  if sequence.notes:
    last_onset = max(note.start_time for note in sequence.notes)
    bars = max(bars, math.floor(last_onset / bar_seconds + 1e-6) + 1)
  bars = max(bars, 0)
  return bars * bar_seconds + RELEASE_TAIL_SECONDS


def check_soundfont(soundfont: str) -> None:
  """Fails in one line on a file FluidSynth would reject with C-level noise."""
  try:
    with open(soundfont, 'rb') as f:
      header = f.read(12)
  except OSError as e:
    raise cli.UserError(f'{soundfont}: cannot read the SoundFont ({e.strerror})') from e
  if header[:4] != b'RIFF' or header[8:12] != b'sfbk':
    raise cli.UserError(f'{soundfont}: not a SoundFont 2 (.sf2) file')


def synthesize(sequence, soundfont: str | None = None,
               sample_rate: int = DEFAULT_SAMPLE_RATE) -> np.ndarray:
  """Mono float samples peaking at PEAK_LEVEL, `rendered_seconds` long."""
  require_fluidsynth()
  import fluidsynth  # pylint: disable=g-import-not-at-top
  import note_seq  # pylint: disable=g-import-not-at-top
  soundfont = soundfont or default_soundfont()
  check_soundfont(soundfont)
  synth = fluidsynth.Synth(samplerate=float(sample_rate))
  try:
    soundfont_id = synth.sfload(soundfont)
    if soundfont_id == -1:
      raise cli.UserError(f'{soundfont}: FluidSynth could not load this SoundFont')
    midi = note_seq.sequence_proto_to_pretty_midi(sequence)
    samples = midi.fluidsynth(synthesizer=synth, sfid=soundfont_id, normalize=False)
  finally:
    synth.delete()
  length = round(rendered_seconds(sequence) * sample_rate)
  samples = np.pad(samples[:length], (0, max(0, length - len(samples))))
  peak = np.abs(samples).max(initial=0.0)
  return samples * (PEAK_LEVEL / peak) if peak > 0 else samples


def write_wav(samples: np.ndarray, wav_path: str,
              sample_rate: int = DEFAULT_SAMPLE_RATE) -> None:
  """Writes float samples in [-1, 1] as a mono 16-bit PCM WAV file."""
  pcm = np.round(np.clip(samples, -1, 1) * 32767).astype('<i2')
  with wave.open(wav_path, 'wb') as wav:
    wav.setnchannels(1)
    wav.setsampwidth(2)
    wav.setframerate(sample_rate)
    wav.writeframes(pcm.tobytes())


def render_wav(source, wav_path: str, soundfont: str | None = None,
               sample_rate: int = DEFAULT_SAMPLE_RATE) -> float:
  """Renders a NoteSequence or a MIDI file path to `wav_path`; returns seconds.

  The WAV lasts `rendered_seconds(sequence)`: the sequence rounded up to whole
  bars plus a RELEASE_TAIL_SECONDS release tail.
  """
  sequence = read_midi(source) if isinstance(source, (str, os.PathLike)) else source
  samples = synthesize(sequence, soundfont, sample_rate)
  write_wav(samples, wav_path, sample_rate)
  return len(samples) / sample_rate
