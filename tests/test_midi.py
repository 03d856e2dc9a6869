"""drumvae.midi against Magenta's converter, and the default drum set's files."""
import os
import pickle
import subprocess
import sys
import textwrap

import mido
import note_seq
import pretty_midi

from drumvae import midi
from conftest import REPO, write_bad_midi_files

GROOVES_DIR = REPO / 'dataset' / 'grooves'
GM_KIT_PITCHES = {36, 37, 38, 42, 45, 46, 48, 49, 50, 51}
GROOVE_FILES = [  # Different drummers, styles and tempos.
    'drummer1/eval_session/1_funk-groove1_138_beat_4-4.mid',
    'drummer1/session1/10_jazz-funk_116_fill_4-4.mid',
    'drummer5/session2/10_neworleans-funk_102_beat_4-4.mid',
    'drummer7/session3/108_rock_95_beat_4-4.mid',
    'drummer10/session1/1_jazz-swing_124_beat_4-4.mid',
]


def test_make_grooves_rewrites_the_committed_files_byte_for_byte(tmp_path):
  subprocess.run([sys.executable, 'dataset/make_grooves.py', f'--output_dir={tmp_path}'],
                 cwd=REPO, check=True, capture_output=True)
  committed = sorted(p.name for p in GROOVES_DIR.glob('*.mid'))
  assert committed and sorted(p.name for p in tmp_path.iterdir()) == committed
  for name in committed:
    assert (tmp_path / name).read_bytes() == (GROOVES_DIR / name).read_bytes(), name


def test_default_grooves_are_4_4_gm_drums_on_channel_10_in_many_styles():
  paths = sorted(GROOVES_DIR.glob('*.mid'))
  assert 40 <= len(paths) <= 60
  assert len({p.name.split('_')[0] for p in paths}) >= 8
  for path in paths:
    channels = {m.channel for track in mido.MidiFile(path).tracks for m in track
                if m.type == 'note_on'}
    assert channels == {9}, path.name  # Channel 10, counted from 1.
    groove = pretty_midi.PrettyMIDI(str(path))
    [drums] = groove.instruments
    assert drums.is_drum and {n.pitch for n in drums.notes} <= GM_KIT_PITCHES, path.name
    [signature] = groove.time_signature_changes
    assert (signature.numerator, signature.denominator) == (4, 4)
    [tempo] = groove.get_tempo_changes()[1]
    assert 80 <= round(tempo) <= 140, path.name  # MIDI stores tempo in whole µs/beat.
    bars = groove.get_end_time() * tempo / 60 / 4
    assert 8 <= round(bars) <= 16, path.name


def test_same_note_sequences_as_magentas_convert_midi(groove_dir, tmp_path):
  """Magenta's module defines clashing absl flags: it runs in a subprocess."""
  cases = [(str(groove_dir), path) for path in GROOVE_FILES[1:]]
  cases += [(str(GROOVES_DIR), name) for name in ('funk_0_92bpm.mid', 'shuffle_5_112bpm.mid')]
  magenta_script = textwrap.dedent('''
      import os, pickle, sys
      from magenta.scripts import convert_dir_to_note_sequences as magenta
      sequences = [magenta.convert_midi(root, os.path.dirname(path), os.path.join(root, path))
                   for root, path in pickle.loads(sys.stdin.buffer.read())]
      with open(sys.argv[1], 'wb') as f:  # Not stdout: libraries print there on import.
        pickle.dump([s.SerializeToString() for s in sequences], f)
  ''')
  magentas_path = tmp_path / 'magentas.pickle'
  subprocess.run([sys.executable, '-c', magenta_script, str(magentas_path)],
                 input=pickle.dumps(cases), capture_output=True, check=True,
                 env={**os.environ, 'TF_USE_LEGACY_KERAS': '1'})
  with open(magentas_path, 'rb') as f:
    magentas = [note_seq.NoteSequence.FromString(s) for s in pickle.load(f)]
  ours = [midi.convert_midi_file(root, path).sequence for root, path in cases]
  assert len(ours) == len(magentas) == 6
  for mine, magentas_sequence in zip(ours, magentas):
    assert len(mine.notes) >= 10  # Not two empty sequences compared.
    assert mine == magentas_sequence, mine.filename


def test_fields_name_the_file_relative_to_the_root(groove_dir):
  sequence = midi.convert_midi_file(str(groove_dir), GROOVE_FILES[1]).sequence
  assert sequence.filename == GROOVE_FILES[1]
  assert sequence.collection_name == groove_dir.name
  assert sequence.id.startswith(f'/id/midi/{groove_dir.name}/')
  assert sequence.id != midi.convert_midi_file(str(groove_dir), GROOVE_FILES[2]).sequence.id


def test_each_bad_file_is_skipped_with_its_reason(tmp_path):
  expected_reasons = write_bad_midi_files(tmp_path)
  # Every reason but UNREADABLE, which a test run as root (as in CI) cannot provoke.
  assert set(expected_reasons.values()) == set(midi.SkipReason) - {midi.SkipReason.UNREADABLE}
  for name, reason in expected_reasons.items():
    conversion = midi.convert_midi_file(str(tmp_path), name)
    assert (conversion.sequence, conversion.skip_reason) == (None, reason), name
