"""Drum-grid pictures: MusicVAE's 9 drum classes against 16th-note steps.

Rows are the drum classes (kick at the bottom, cymbals on top, as on a drum
machine); every General MIDI drum pitch lands in its class by note_seq's
DEFAULT_DRUM_TYPE_PITCHES, and non-drum notes are left out. Columns are
16th-note steps at the sequence's tempo, with bar and beat lines. The darker
a cell, the louder its loudest hit; a hit played ahead of or behind its
sixteenth (a drummer's, or a humanizer's) is drawn that far left or right of
the step's faint line.

A picture shows the first DEFAULT_BARS bars, the length MusicVAE's drum models
work in, so grids of different grooves line up column for column; a longer
sequence is cut there and its title says how many bars it has in all.
"""
import math
from typing import NamedTuple
import warnings

import matplotlib
import matplotlib.collections
import matplotlib.patches
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
import numpy as np

from drumvae import midi

# pydub, which note_seq imports, warns about ffmpeg, which nothing here uses.
warnings.filterwarnings('ignore', message="Couldn't find ffmpeg or avconv")

DRUM_CLASS_NAMES = ('kick', 'snare', 'closed hi-hat', 'open hi-hat', 'low tom',
                    'mid tom', 'high tom', 'crash', 'ride')
STEPS_PER_QUARTER = midi.STEPS_PER_QUARTER
DEFAULT_BARS = midi.BARS
# Shading starts below velocity 0 so that even the softest ghost note shows.
_LIGHTEST_VELOCITY = -40
_X_LABEL = '16th-note steps (darker = louder; left of its line = early)'
_CELL_WIDTH = 0.8  # of a step: the gap between cells lets a shifted hit show


def _pitch_to_class() -> dict[int, int]:
  from note_seq import drums_encoder_decoder  # pylint: disable=g-import-not-at-top
  return {pitch: drum_class
          for drum_class, pitches in enumerate(drums_encoder_decoder.DEFAULT_DRUM_TYPE_PITCHES)
          for pitch in pitches}


class DrumGrid(NamedTuple):
  """velocities[drum_class, step]: the loudest hit of that class starting on
  that 16th-note step, 0 where there is none; offsets[drum_class, step]: how
  far from the step it starts, in steps (negative = early)."""
  velocities: np.ndarray
  offsets: np.ndarray
  steps_per_bar: int
  steps_per_beat: int
  total_bars: int  # Of the whole sequence, not only of the part shown.


def _steps_per_beat(numerator: int, denominator: int) -> int:
  """A dotted quarter in 6/8, 9/8 and 12/8; one 1/denominator note otherwise."""
  steps_per_unit = max(1, STEPS_PER_QUARTER * 4 // denominator)
  compound = denominator == 8 and numerator % 3 == 0 and numerator > 3
  return 3 * steps_per_unit if compound else steps_per_unit


def drum_grid(sequence, bars: int = DEFAULT_BARS) -> DrumGrid:
  """The drum grid of the first `bars` bars of `sequence`."""
  quantized = midi.quantize(sequence)
  signature = quantized.time_signatures[0]
  steps_per_bar = round(STEPS_PER_QUARTER * signature.numerator * 4 / signature.denominator)
  velocities = np.zeros((len(DRUM_CLASS_NAMES), bars * steps_per_bar))
  offsets = np.zeros_like(velocities)
  step_seconds = 60.0 / midi.qpm_of(quantized) / STEPS_PER_QUARTER
  pitch_to_class = _pitch_to_class()
  for note in quantized.notes:
    drum_class = pitch_to_class.get(note.pitch)
    step = note.quantized_start_step
    if (note.is_drum and drum_class is not None and step < velocities.shape[1]
        and note.velocity > velocities[drum_class, step]):
      velocities[drum_class, step] = note.velocity
      offsets[drum_class, step] = note.start_time / step_seconds - step
  return DrumGrid(velocities, offsets, steps_per_bar,
                  _steps_per_beat(signature.numerator, signature.denominator),
                  total_bars=math.ceil(quantized.total_quantized_steps / steps_per_bar))


def _draw(ax, grid: DrumGrid, title: str) -> None:
  """Draws one grid on `ax`: shaded hits, row labels, bar and beat lines, title."""
  cmap = matplotlib.colormaps['Greys']
  norm = matplotlib.colors.Normalize(vmin=_LIGHTEST_VELOCITY, vmax=127)
  rows, steps_hit = np.nonzero(grid.velocities)
  ax.add_collection(matplotlib.collections.PatchCollection(
      [matplotlib.patches.Rectangle(
          (step + grid.offsets[row, step] - _CELL_WIDTH / 2, row - 0.45),
          _CELL_WIDTH, 0.9) for row, step in zip(rows, steps_hit)],
      facecolors=cmap(norm(grid.velocities[rows, steps_hit])), edgecolors='none'))
  steps = grid.velocities.shape[1]
  ax.set_xlim(-0.5, steps - 0.5)
  ax.set_ylim(-0.5, len(DRUM_CLASS_NAMES) - 0.5)
  bars_shown = steps // grid.steps_per_bar
  for step in range(steps):
    ax.axvline(step, color='0.93', linewidth=0.5, zorder=0)
  for step in range(0, steps + 1, grid.steps_per_beat):
    on_bar = step % grid.steps_per_bar == 0
    ax.axvline(step - 0.5, color='black' if on_bar else '0.6', linewidth=1.5 if on_bar else 0.6)
  for row in range(1, len(DRUM_CLASS_NAMES)):
    ax.axhline(row - 0.5, color='0.85', linewidth=0.5)
  ax.set_yticks(range(len(DRUM_CLASS_NAMES)), DRUM_CLASS_NAMES)
  ax.set_xticks(range(0, steps, grid.steps_per_bar),
                [f'bar {bar + 1}' for bar in range(bars_shown)], ha='left')
  ax.tick_params(axis='both', length=0)
  if grid.total_bars > bars_shown:
    title = f'{title} (first {bars_shown} of {grid.total_bars} bars)'
  ax.set_title(title, loc='left')


def _new_figure(height_inches: float) -> Figure:
  """A Figure drawn by Agg, without pyplot's global state."""
  figure = Figure(figsize=(12, height_inches), layout='constrained')
  FigureCanvasAgg(figure)
  return figure


def plot_drum_grid(sequence, png_path: str, title: str | None = None) -> Figure:
  """Saves one sequence's drum grid as a PNG and returns the Figure."""
  figure = _new_figure(3.2)
  ax = figure.add_subplot()
  _draw(ax, drum_grid(sequence), title or 'drum grid')
  ax.set_xlabel(_X_LABEL)
  figure.savefig(png_path, format='png', dpi=100)
  return figure


def plot_interpolation(sequences, png_path: str) -> Figure:
  """Saves the grids of an interpolation's steps, A on top to B below, as one PNG.

  Titled 'A (1/n)', '2/n', ..., 'B (n/n)'. Returns the Figure.
  """
  count = len(sequences)
  if count == 0:
    raise ValueError('plot_interpolation needs at least one sequence')
  titles = [f'{i + 1}/{count}' for i in range(count)]
  titles[0], titles[-1] = f'A ({titles[0]})', f'B ({titles[-1]})'
  return plot_stack(sequences, titles, png_path)


def plot_variations(groove, variations, png_path: str) -> Figure:
  """Saves the grids of a groove (on top) and its variations below it, as one PNG."""
  return plot_stack([groove, *variations],
                    ['input'] + [f'variation {i + 1}/{len(variations)}'
                                 for i in range(len(variations))], png_path)


def plot_stack(sequences, titles, png_path: str) -> Figure:
  """Saves the grids of `sequences`, one above the other, titled, as one PNG."""
  count = len(sequences)
  figure = _new_figure(0.4 + 2.1 * count)
  axes = figure.subplots(count, 1, sharex=True, squeeze=False)[:, 0]
  for ax, sequence, title in zip(axes, sequences, titles):
    _draw(ax, drum_grid(sequence), title)
  axes[-1].set_xlabel(_X_LABEL)
  figure.savefig(png_path, format='png', dpi=100)
  return figure
