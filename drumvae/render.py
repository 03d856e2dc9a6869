"""Rendering MIDI files to WAV and drum-grid PNG files beside them (or elsewhere).

Used by render_midi.py and generate.py. Existing files are never overwritten:
the outputs then take the first free name NAME_1, NAME_2, ...
"""
import os

from drumvae import cli
from drumvae import files
from drumvae import midi


def expand_midi_paths(paths: list[str]) -> list[str]:
  """The given files, with each directory replaced by its MIDI files, sorted."""
  found = []
  for path in paths:
    if os.path.isdir(path):
      inside = sorted(os.path.join(path, name) for name in os.listdir(path)
                      if name.lower().endswith(midi.MIDI_SUFFIXES))
      if not inside:
        raise cli.UserError(f'{path}: no .mid or .midi files in this directory')
      found.extend(inside)
    elif os.path.isfile(path):
      found.append(path)
    else:
      raise cli.UserError(f'{path}: no such file or directory')
  return found


def free_output_paths(midi_path: str, output_dir: str | None,
                      suffixes: list[str]) -> list[str]:
  """Paths NAME<suffix> beside the input (or in output_dir), with the first
  NAME, NAME_1, NAME_2, ... under which no output exists yet."""
  directory = output_dir or os.path.dirname(midi_path)
  stem = os.path.splitext(os.path.basename(midi_path))[0]
  candidate, number = stem, 0
  while any(os.path.exists(os.path.join(directory, candidate + s)) for s in suffixes):
    number += 1
    candidate = f'{stem}_{number}'
  return [os.path.join(directory, candidate + s) for s in suffixes]


def render_midi_files(midi_paths: list[str], output_dir: str | None = None,
                      wav: bool = True, plot: bool = True,
                      soundfont: str | None = None) -> list[str]:
  """Writes a WAV and/or a drum-grid PNG per MIDI file; returns the paths written.

  Every input is read, and FluidSynth and the SoundFont checked, before
  anything is written.
  """
  from drumvae import audio  # pylint: disable=g-import-not-at-top
  sequences = [audio.read_midi(path) for path in midi_paths]
  if wav:
    audio.require_fluidsynth()
    audio.check_soundfont(soundfont or audio.default_soundfont())
  if output_dir:
    _make_output_dir(output_dir)
  suffixes = ['.wav'] * wav + ['.png'] * plot
  written = []
  for midi_path, sequence in zip(midi_paths, sequences):
    if plot and not any(note.is_drum for note in sequence.notes):
      cli.warning_line(f'{midi_path}: no drum notes, so its drum grid is blank')
    for path in free_output_paths(midi_path, output_dir, suffixes):
      written.append(files.write_output(
          path, lambda temp: _write_output(temp, sequence, midi_path, soundfont)))
  return written


def _write_output(path: str, sequence, midi_path: str, soundfont: str | None) -> None:
  """Writes the WAV or the PNG of `sequence`, as the suffix of `path` says."""
  from drumvae import audio  # pylint: disable=g-import-not-at-top
  from drumvae import drum_grid  # pylint: disable=g-import-not-at-top
  if path.endswith('.wav'):
    audio.render_wav(sequence, path, soundfont)
  else:
    drum_grid.plot_drum_grid(sequence, path, title=os.path.basename(midi_path))


def _make_output_dir(output_dir: str) -> None:
  try:
    os.makedirs(output_dir, exist_ok=True)
  except OSError as e:
    raise cli.UserError(f'--output_dir={output_dir}: cannot create it ({e.strerror})') from e
