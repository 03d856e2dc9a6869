"""Shared helpers and fixtures: the repository, a tiny model, the Groove MIDI Dataset,
MIDI files that fail to convert, the project's own grooves as a TFRecord.

Test modules import the helpers (`from conftest import REPO, ...`).
"""
import os
import pathlib
import random
import subprocess
import sys

import pytest

from drumvae import runtime

runtime.setup()  # as each script's main() does first; tests that need graph mode load TF

REPO = pathlib.Path(__file__).resolve().parent.parent
# A model small enough that building and training its graph takes seconds.
TINY_HPARAMS = 'batch_size=4,z_size=8,enc_rnn_size=[16],dec_rnn_size=[16,16]'
# A real drum MIDI file that needs no download: one of the project's own grooves.
OWN_GROOVE = REPO / 'dataset' / 'grooves' / 'rock_0_96bpm.mid'


# The test files that take longest, longest first (`pytest --durations`, 2 cores):
# `make test` hands files to its two workers in this order (--no-loadscope-reorder),
# so neither is left running a long file alone at the end. The rest follow in
# their usual order.
SLOWEST_FILES = ['test_train_generate.py', 'test_shipped_inputs.py', 'test_distributed.py',
                 'test_notebook.py', 'test_errors.py', 'test_run_dirs.py', 'test_humanize.py',
                 'test_web.py', 'test_speed.py', 'test_beam.py']


def pytest_collection_modifyitems(items):
  rank = {name: i for i, name in enumerate(SLOWEST_FILES)}
  items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # stable


def run_script(script, *args, timeout=300, **kwargs):
  """Runs `python script args` from the repository root; the CompletedProcess (text)."""
  return subprocess.run([sys.executable, str(REPO / script), *map(str, args)],
                        capture_output=True, text=True, cwd=REPO, timeout=timeout,
                        **kwargs)


@pytest.fixture(scope='session')
def groove_dir() -> pathlib.Path:
  """The Groove MIDI Dataset: $GROOVE_DIR, else ../shared/data/groove beside the repo.

  Without it the tests that need it are skipped, except in CI ($CI set), which
  has it: there a missing data set fails them.
  """
  path = pathlib.Path(os.environ.get('GROOVE_DIR', REPO.parent / 'shared' / 'data' / 'groove'))
  if not (path / 'info.csv').is_file():
    message = (f'Groove MIDI Dataset not found: {path} has no info.csv; '
               'set GROOVE_DIR to the directory holding info.csv and drummer*/')
    if os.environ.get('CI'):
      pytest.fail(message, pytrace=False)
    pytest.skip(message)
  return path


def run_generate(*args):
  """generate.py with `args`; asserts it succeeded without a traceback."""
  result = subprocess.run([sys.executable, str(REPO / 'generate.py'), *args],
                          capture_output=True, text=True, cwd=REPO)
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'Traceback' not in result.stderr
  return result


def hits(path):
  """[9, 64] bool drum grid of a MIDI file's first 4 bars."""
  import note_seq  # pylint: disable=g-import-not-at-top
  from drumvae import drum_grid  # pylint: disable=g-import-not-at-top
  return drum_grid.drum_grid(note_seq.midi_file_to_note_sequence(path)).velocities > 0


def write_bad_midi_files(directory: pathlib.Path, prefix: str = '') -> dict:
  """Writes into `directory` one *.mid per way conversion fails (needs no Groove).

  Returns {file name: the drumvae.midi.SkipReason expected for it}; a reason's
  value is what the user is shown.
  """
  from drumvae import midi  # pylint: disable=g-import-not-at-top
  real_midi = OWN_GROOVE.read_bytes()
  contents = {
      'empty.mid': (b'', midi.SkipReason.EMPTY),
      'random.mid': (random.Random(0).randbytes(3000), midi.SkipReason.NOT_MIDI),
      'text.mid': (b'These are not the drums you are looking for.\n', midi.SkipReason.NOT_MIDI),
      'truncated.mid': (real_midi[:len(real_midi) // 2], midi.SkipReason.TRUNCATED),
      # Well-formed chunks (a header of one track), but the track starts with a
      # data byte, not a status.
      'corrupt.mid': (real_midi[:8] + b'\x00\x00\x00\x01' + real_midi[12:14]
                      + b'MTrk\x00\x00\x00\x03\x00\x40\x40',
                      midi.SkipReason.CORRUPT),
      'piano.mid': (_one_instrument_midi(is_drum=False), midi.SkipReason.NO_DRUMS),
  }
  for name, (data, _) in contents.items():
    (directory / f'{prefix}{name}').write_bytes(data)
  (directory / f'{prefix}directory.mid').mkdir()
  return {**{f'{prefix}{name}': reason for name, (_, reason) in contents.items()},
          f'{prefix}directory.mid': midi.SkipReason.NOT_A_FILE}


def _one_instrument_midi(is_drum: bool) -> bytes:
  """The bytes of a 2-bar MIDI file of 8 notes, drums on channel 10 or piano."""
  import io  # pylint: disable=g-import-not-at-top
  import note_seq  # pylint: disable=g-import-not-at-top
  sequence = note_seq.NoteSequence(ticks_per_quarter=220)
  sequence.tempos.add(qpm=120)
  for i in range(8):
    sequence.notes.add(pitch=36 if is_drum else 60, velocity=100, start_time=i * 0.5,
                       end_time=i * 0.5 + 0.1, is_drum=is_drum)
  sequence.total_time = 4.0
  buffer = io.BytesIO()
  note_seq.midi_io.note_sequence_to_pretty_midi(sequence).write(buffer)
  return buffer.getvalue()


@pytest.fixture(scope='session')
def dataset_tfrecord(tmp_path_factory) -> pathlib.Path:
  """The project's own dataset/grooves as a TFRecord of NoteSequences (no Groove needed)."""
  from drumvae import conversion  # pylint: disable=g-import-not-at-top
  path = tmp_path_factory.mktemp('dataset') / 'grooves.tfrecord'
  conversion.convert(conversion.Options(str(REPO / 'dataset' / 'grooves'), str(path),
                                        num_workers=1))
  return path
