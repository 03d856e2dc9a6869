r"""Writes the project's default drum set: 54 seeded 4/4 grooves as MIDI files.

Nine styles, six grooves each. A groove repeats its style's one-bar pattern
for 8, 12 or 16 bars at a tempo between 80 and 140 bpm, varied from a random
generator seeded by the groove's name: ghost notes, open hats, an extra kick,
velocity and timing humanisation, a fill ending every 4th bar and a crash
opening the next. Drums are General MIDI pitches on channel 10. Running the
script again writes byte-identical files.

Usage:
  python dataset/make_grooves.py [--output_dir=dataset/grooves]
"""
import dataclasses
import os
import random
import sys

from absl import flags

# Run as `python dataset/make_grooves.py`, which puts dataset/ on sys.path
# instead of the repository root that holds the drumvae package.
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from drumvae import cli  # pylint: disable=g-import-not-at-top,wrong-import-position

flags.DEFINE_string(
    'output_dir', os.path.join(os.path.dirname(os.path.abspath(__file__)), 'grooves'),
    'Directory to write the .mid files to; created if missing, and files of '
    'the same names are overwritten.')

FLAGS = flags.FLAGS

# General MIDI drum pitches.
KICK, SIDE_STICK, SNARE = 36, 37, 38
CLOSED_HAT, OPEN_HAT = 42, 46
LOW_TOM, MID_TOM, HIGH_TOM = 45, 48, 50
CRASH, RIDE = 49, 51

STEPS_PER_BAR = 16  # 16th notes in a 4/4 bar.
VELOCITIES = {'X': 112, 'x': 92, 'g': 38}  # accent, normal hit, ghost note.
GROOVES_PER_STYLE = 6
BAR_COUNTS = (8, 12, 16)
FILLS = {
    # One beat (4 sixteenths) of snare or toms, loudest last.
    'snare': (SNARE, SNARE, SNARE, SNARE),
    'toms': (HIGH_TOM, HIGH_TOM, MID_TOM, LOW_TOM),
    'mixed': (SNARE, HIGH_TOM, MID_TOM, LOW_TOM),
}


@dataclasses.dataclass(frozen=True)
class Style:
  """A one-bar pattern: per pitch, 16 steps of 'X', 'x', 'g' or '.' (rest)."""
  tempos: tuple[int, ...]
  pattern: dict[int, str]
  swing8: float = 0.0  # Delay of off-beat 8ths in 16th steps (2/3: triplet shuffle).
  swing16: float = 0.0  # Delay of off-beat 16ths in 16th steps.


STYLES = {
    'rock': Style((96, 112, 120, 132), {
        KICK: 'x.......x.x.....',
        SNARE: '....X.......X...',
        CLOSED_HAT: 'X.x.X.x.X.x.X.x.'}),
    'funk': Style((92, 100, 108), {
        KICK: 'x.x.......x..x..',
        SNARE: '....X..g.g..X..g',
        CLOSED_HAT: 'XxxxXxxxXxxxXx.x',
        OPEN_HAT: '..............x.'}),
    'hiphop': Style((80, 86, 92), {
        KICK: 'x......x..x.....',
        SNARE: '....X.......X...',
        CLOSED_HAT: 'x.x.x.x.x.x.x.x.'}, swing16=0.3),
    'disco': Style((116, 120, 124, 128), {
        KICK: 'X...X...X...X...',
        SNARE: '....X.......X...',
        CLOSED_HAT: 'xx.xxx.xxx.xxx.x',
        OPEN_HAT: '..x...x...x...x.'}),
    'shuffle': Style((88, 100, 112), {
        KICK: 'x.....x.x.......',
        SNARE: '....X.......X...',
        CLOSED_HAT: 'X.x.X.x.X.x.X.x.'}, swing8=2 / 3),
    'bossa': Style((124, 132, 140), {
        KICK: 'x..xx..xx..xx..x',
        SIDE_STICK: 'x..x..x...x..x..',
        CLOSED_HAT: 'x.x.x.x.x.x.x.x.'}),
    'halftime': Style((128, 136, 140), {
        KICK: 'x......x..x.....',
        SNARE: '........X.......',
        CLOSED_HAT: 'X.x.x.x.X.x.x.x.'}),
    'onedrop': Style((80, 84, 90), {
        KICK: '........X.......',
        SIDE_STICK: '........X.......',
        CLOSED_HAT: 'x.x.x.x.x.x.x.x.'}, swing8=0.5),
    'pop': Style((100, 108, 116), {
        KICK: 'x.....x.x.......',
        SNARE: '....X.......X...',
        CLOSED_HAT: 'XxxxXxxxXxxxXxxx'}),
}


@dataclasses.dataclass(frozen=True)
class Hit:
  step: int  # 16th steps from the start of the groove.
  pitch: int
  velocity: int


def bar_hits(style: Style, bar: int, bars: int, use_ride: bool,
             rng: random.Random) -> list[Hit]:
  """The hits of one bar: the pattern, its variations, a fill every 4th bar."""
  hits = []
  is_fill_bar = bar % 4 == 3 or bar == bars - 1
  fill_start = STEPS_PER_BAR - 4 if is_fill_bar else STEPS_PER_BAR
  open_hat_chance = rng.uniform(0.0, 0.4)
  for pitch, steps in style.pattern.items():
    for step, symbol in enumerate(steps[:fill_start]):
      if symbol == '.':
        continue
      if pitch == CLOSED_HAT and use_ride:
        pitch_played = RIDE
      elif pitch == CLOSED_HAT and step == 14 and rng.random() < open_hat_chance:
        pitch_played = OPEN_HAT
      else:
        pitch_played = pitch
      hits.append(Hit(step, pitch_played, VELOCITIES[symbol]))
  hits += varied_hits(style, fill_start, rng)
  if is_fill_bar:
    fill = FILLS[rng.choice(sorted(FILLS))]
    hits += [Hit(fill_start + i, pitch, 70 + 12 * i) for i, pitch in enumerate(fill)]
  if bar % 4 == 0:
    hits.append(Hit(0, CRASH, VELOCITIES['X']))
  return [dataclasses.replace(hit, step=bar * STEPS_PER_BAR + hit.step) for hit in hits]


def varied_hits(style: Style, fill_start: int, rng: random.Random) -> list[Hit]:
  """Ghost snares on free off-beat 16ths, and now and then an extra kick."""
  hits = []
  ghost_chance = rng.uniform(0.0, 0.25)
  snare = style.pattern.get(SNARE, '.' * STEPS_PER_BAR)
  for step in range(1, fill_start, 2):
    if snare[step] == '.' and rng.random() < ghost_chance:
      hits.append(Hit(step, SNARE, VELOCITIES['g']))
  kick = style.pattern[KICK]
  free_kick_steps = [step for step in range(fill_start) if kick[step] == '.']
  if free_kick_steps and rng.random() < 0.25:
    hits.append(Hit(rng.choice(free_kick_steps), KICK, VELOCITIES['x']))
  return hits


def groove_midi(style: Style, tempo: int, bars: int, use_ride: bool,
                rng: random.Random):
  """Returns a pretty_midi.PrettyMIDI of one groove, humanised with `rng`."""
  import pretty_midi  # pylint: disable=g-import-not-at-top
  midi = pretty_midi.PrettyMIDI(resolution=480, initial_tempo=tempo)
  midi.time_signature_changes.append(pretty_midi.TimeSignature(4, 4, 0.0))
  drums = pretty_midi.Instrument(program=0, is_drum=True, name='Drums')
  step_seconds = 60.0 / tempo / 4
  for bar in range(bars):
    for hit in bar_hits(style, bar, bars, use_ride, rng):
      swing = style.swing8 if hit.step % 4 == 2 else style.swing16 if hit.step % 2 else 0.0
      jitter = rng.uniform(-0.06, 0.06)  # Of a 16th step: felt, not heard as wrong.
      start = max(0.0, (hit.step + swing + jitter) * step_seconds)
      # Sum of two uniforms: a humanised velocity mostly near the nominal one.
      velocity = hit.velocity + round(rng.uniform(-6, 6) + rng.uniform(-6, 6))
      drums.notes.append(pretty_midi.Note(
          velocity=max(1, min(127, velocity)), pitch=hit.pitch,
          start=start, end=start + step_seconds / 2))
  drums.notes.sort(key=lambda note: (note.start, note.pitch))
  midi.instruments.append(drums)
  return midi


def write_grooves(output_dir: str) -> list[str]:
  """Writes every groove to `output_dir`; returns the paths written."""
  os.makedirs(output_dir, exist_ok=True)
  paths = []
  for style_name, style in STYLES.items():
    for variant in range(GROOVES_PER_STYLE):
      tempo = style.tempos[variant % len(style.tempos)]
      name = f'{style_name}_{variant}_{tempo}bpm'
      # A string seed is hashed the same way on every platform and run.
      rng = random.Random(name)
      midi = groove_midi(style, tempo, bars=BAR_COUNTS[variant % len(BAR_COUNTS)],
                         use_ride=variant >= 4, rng=rng)
      paths.append(os.path.join(output_dir, name + '.mid'))
      midi.write(paths[-1])
  return paths


def main(argv):
  if len(argv) > 1:
    raise cli.UserError(f'unexpected arguments: {" ".join(argv[1:])}')
  try:
    paths = write_grooves(FLAGS.output_dir)
  except OSError as e:
    raise cli.UserError(f'--output_dir: cannot write to {FLAGS.output_dir}: {e.strerror}') from e
  print(f'wrote {len(paths)} grooves to {FLAGS.output_dir}')


if __name__ == '__main__':
  cli.run(main)
