"""Fuzzing the MIDI path: bytes -> NoteSequence (drumvae.midi) -> DrumsConverter tensors.

Property: whatever the bytes, `midi.convert_midi_file` either gives a
NoteSequence with drum notes, which Magenta's DrumsConverter (of
hierdec-drums_4bar_small) turns into well-formed 4-bar tensors or into none,
or it names one of the documented `midi.SkipReason`s. No other exception may
escape: make_tfrecord.py and train.py run exactly this path.

The suite runs a short, repeatable fuzz (160 examples, ~30 s of CPU). The long
run draws fresh random examples each time, FUZZ_EXAMPLES per test (1000 took 3
minutes of CPU here); the memory limit turns a runaway allocation into a failure
here instead of the kernel's OOM killer ending some other process:

  (ulimit -v 8000000; FUZZ_EXAMPLES=5000 .venv/bin/python -m pytest -q -p no:xdist \
      --hypothesis-show-statistics tests/test_fuzz.py)
"""
import io
import os

import hypothesis
from hypothesis import strategies as st
import pytest

from drumvae import midi

FUZZ_EXAMPLES = os.environ.get('FUZZ_EXAMPLES')
# Failures are not stored in a .hypothesis/ directory of the work tree; each
# shrunk failing input is printed instead.
SETTINGS = dict(deadline=None, database=None,
                derandomize=FUZZ_EXAMPLES is None,  # the suite's run repeats
                suppress_health_check=list(hypothesis.HealthCheck))


def examples(default):
  return hypothesis.settings(max_examples=int(FUZZ_EXAMPLES or default),
                             **SETTINGS)


@pytest.fixture(scope='module')
def check(tmp_path_factory):
  """A function that runs the MIDI path on some bytes and checks the outcome."""
  import configs  # pylint: disable=g-import-not-at-top  (Magenta: slow import)
  from drumvae import models  # pylint: disable=g-import-not-at-top
  converter = models.get_config('hierdec-drums_4bar_small').data_converter
  converter.set_mode('train')  # as train.py converts examples
  directory = tmp_path_factory.mktemp('fuzz')

  def run(data: bytes):
    """The skip reason, or the number of 4-bar examples (maybe 0)."""
    (directory / 'fuzzed.mid').write_bytes(data)
    conversion = midi.convert_midi_file(str(directory), 'fuzzed.mid')
    if conversion.sequence is None:
      assert isinstance(conversion.skip_reason, midi.SkipReason)
      assert 'MemoryError' not in conversion.detail
      count_outcome(f'skipped: {conversion.skip_reason.value}')
      return conversion.skip_reason
    assert conversion.skip_reason is None
    assert any(note.is_drum for note in conversion.sequence.notes)
    tensors = converter.to_tensors(conversion.sequence)
    for inputs, outputs in zip(tensors.inputs, tensors.outputs):
      assert inputs.shape == (64, converter.input_depth)
      assert outputs.shape == (64, converter.output_depth)
    count_outcome('4-bar examples' if tensors.inputs else 'converted, no 4-bar example')
    return len(tensors.inputs)

  return run


@pytest.fixture(scope='module')
def groove_files(groove_dir):
  """The bytes of a few short Groove files: four beats and two fills."""
  session = groove_dir / 'drummer1' / 'session1'
  by_size = sorted(session.glob('*.mid'), key=lambda p: p.stat().st_size)
  beats = [p for p in by_size if '_beat_' in p.name][:4]
  fills = [p for p in by_size if '_fill_' in p.name][:2]
  return [p.read_bytes() for p in beats + fills]


MIDI_HEADER = b'MThd\x00\x00\x00\x06'


def count_outcome(outcome):
  """Counts outcomes for --hypothesis-show-statistics."""
  if hypothesis.currently_in_test_context():
    hypothesis.event(outcome)


@examples(50)
@hypothesis.given(data=st.one_of(
    st.binary(max_size=3000),
    st.binary(max_size=3000).map(lambda b: MIDI_HEADER + b),  # past the magic
    st.binary(min_size=6, max_size=6).map(  # a header, then a random track
        lambda b: MIDI_HEADER + b) .flatmap(lambda header: st.binary(
            max_size=500).map(lambda body: header + b'MTrk' + len(body).to_bytes(
                4, 'big') + body))))
def test_random_bytes(check, data):
  check(data)


@st.composite
def mutated(draw, originals):
  """A real file with bytes flipped, inserted or deleted, and maybe truncated."""
  data = bytearray(draw(st.sampled_from(originals)))
  for _ in range(draw(st.integers(0, 8))):
    position = draw(st.integers(0, len(data) - 1))
    kind = draw(st.sampled_from(['flip', 'set', 'insert', 'delete']))
    if kind == 'flip':
      data[position] ^= 1 << draw(st.integers(0, 7))
    elif kind == 'set':  # extreme values: lengths, tempos, status bytes
      data[position] = draw(st.sampled_from([0x00, 0x7F, 0x80, 0xFF, 0x90, 0x99]))
    elif kind == 'insert':
      data[position:position] = draw(st.binary(min_size=1, max_size=8))
    elif len(data) > 1:
      del data[position:position + draw(st.integers(1, 8))]
  if draw(st.booleans()):
    data = data[:draw(st.integers(0, len(data)))]
  return bytes(data)


def track(events: bytes) -> bytes:
  return b'MTrk' + len(events).to_bytes(4, 'big') + events


def test_huge_delta_time_is_refused_before_allocating(check):
  """64 bytes, one drum note at tick 1.4e8: note_seq would let pretty_midi
  allocate 1.1 GB for it (and 80 GB for a note at tick 10^10)."""
  data = (MIDI_HEADER + b'\x00\x01\x00\x02\x00\x01'  # format 1, 2 tracks, 1 tick a beat
          + track(b'\x00\xff\x51\x03\x00\x00\x45\x00\xff\x2f\x00')  # tempo: 69 us a beat
          + track(b'\xc4\xce\x99\x0c\x99\x24\x40'  # delta 143887500, kick on channel 10
                  b'\x01\x89\x24\x00\x00\xff\x2f\x00'))
  assert check(data) == midi.SkipReason.CORRUPT


def test_mutated_groove_files(check, groove_files):
  assert all(check(data) > 0 for data in groove_files[:4])  # each gives examples

  @examples(60)
  @hypothesis.given(data=mutated(groove_files))
  def fuzz(data):
    check(data)

  fuzz()


GM_DRUM_PITCHES = [35, 36, 37, 38, 40, 42, 44, 46, 49, 51, 55, 57, 59]


@st.composite
def built_midi(draw):
  """A drum MIDI file made with pretty_midi, with extreme tempos, velocities and meters."""
  import pretty_midi  # pylint: disable=g-import-not-at-top
  # MIDI stores a tempo as 1..2^24-1 microseconds per quarter note.
  qpm = draw(st.one_of(st.floats(40, 300), st.floats(3.6, 6e7),
                       st.sampled_from([3.6, 1e3, 1e5, 6e7])))
  pm = pretty_midi.PrettyMIDI(initial_tempo=qpm, resolution=draw(
      st.sampled_from([1, 3, 96, 220, 480, 960, 32767])))
  sixteenth = 15.0 / qpm
  for _ in range(draw(st.integers(0, 2))):  # 4/4 if none; a change if two
    pm.time_signature_changes.append(pretty_midi.TimeSignature(
        draw(st.sampled_from([4, 3, 5, 7, 1, 32])), draw(st.sampled_from([4, 8, 2, 1, 32])),
        draw(st.sampled_from([0.0, 0.0, 16 * sixteenth, 17.5 * sixteenth]))))
  if draw(st.sampled_from([False, False, True])):  # a tempo change, maybe at tick 0
    new_qpm = min(max(qpm * draw(st.floats(0.25, 4)), 3.6), 6e7)
    # pylint: disable=protected-access
    pm._tick_scales.append((draw(st.integers(0, 10**5)), 60.0 / (new_qpm * pm.resolution)))
    pm._update_tick_to_time(pm._tick_scales[-1][0] + 1)
  on_grid = st.integers(0, 16 * 8).map(lambda step: step * sixteenth)  # 8 bars
  off_grid = st.one_of(on_grid, st.floats(0, 16 * 8 * sixteenth))
  extremes = st.one_of(off_grid, st.sampled_from([1e-9, 1e4, 1e6]))  # seconds
  start_times = draw(st.sampled_from([on_grid, off_grid, extremes]))
  lengths = [sixteenth, 4 * sixteenth] + draw(st.sampled_from([[], [0.0, 1e-6, 100.0]]))
  for _ in range(draw(st.integers(1, 2))):
    instrument = pretty_midi.Instrument(program=draw(st.integers(0, 127)),
                                        is_drum=draw(st.sampled_from([True, True, False])))
    for _ in range(draw(st.integers(0, 100))):
      start = draw(start_times)
      length = draw(st.sampled_from(lengths))
      instrument.notes.append(pretty_midi.Note(
          velocity=draw(st.sampled_from([64, 127, 1, 126, 0])),  # 0: a note-off
          pitch=draw(st.one_of(st.sampled_from(GM_DRUM_PITCHES), st.integers(0, 127))),
          start=start, end=start + length))
    pm.instruments.append(instrument)
  buffer = io.BytesIO()
  try:
    pm.write(buffer)
  except (ValueError, OverflowError):  # pretty_midi cannot write every choice
    hypothesis.reject()
  return buffer.getvalue()


@examples(50)
@hypothesis.given(data=built_midi())
def test_built_midi(check, data):
  check(data)
