"""make_tfrecord.py on real Groove files, bad files and the default drum set."""
import collections
import csv
import os
import shutil
import subprocess
import sys

import pytest

from drumvae import cli
from drumvae import midi
from drumvae import conversion
from drumvae import dataset
from drumvae import midi_corpus
from conftest import REPO, write_bad_midi_files

GROOVE_SPLIT_SIZES = {'train': 897, 'validation': 124, 'test': 129}
IN_PROCESS = 1  # num_workers for small inputs, where starting workers costs more than it saves.


def read_records(path):
  """The NoteSequences in a TFRecord file, as training reads them (in eager or
  graph mode: another test file in the same worker may have turned graph mode on)."""
  return list(dataset.read_note_sequences(str(path)))


def run_script(*args):
  return subprocess.run([sys.executable, 'make_tfrecord.py', *map(str, args)],
                        cwd=REPO, capture_output=True, text=True, check=False)


@pytest.fixture(name='groove_subset')
def fixture_groove_subset(groove_dir, tmp_path):
  """10 Groove files of all splits, copied under tmp_path/groove with their info.csv rows."""
  with open(groove_dir / 'info.csv', newline='', encoding='utf-8') as f:
    all_rows = list(csv.DictReader(f))
  rows = [row for split, count in (('train', 4), ('validation', 3), ('test', 3))
          for row in [r for r in all_rows if r['split'] == split][::45][:count]]
  subset = tmp_path / 'groove'
  for row in rows:
    (subset / row['midi_filename']).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(groove_dir / row['midi_filename'], subset / row['midi_filename'])
  with open(subset / 'info.csv', 'w', newline='', encoding='utf-8') as f:
    writer = csv.DictWriter(f, fieldnames=rows[0].keys())
    writer.writeheader()
    writer.writerows(rows)
  return subset, rows


def test_converts_groove_files_readable_with_tf_data(groove_subset, tmp_path):
  subset, rows = groove_subset
  summary = conversion.convert_directory(str(subset), str(tmp_path / 'out.tfrecord'),
                                            recursive=True, num_workers=2)
  sequences = read_records(tmp_path / 'out.tfrecord')
  expected_paths = sorted(row['midi_filename'] for row in rows)
  assert (summary.converted, summary.skipped) == (10, {})
  assert [s.filename for s in sequences] == expected_paths
  for sequence in sequences:
    assert sequence == midi.convert_midi_file(str(subset), sequence.filename).sequence
    assert sequence.collection_name == 'groove' and all(n.is_drum for n in sequence.notes)


def test_same_records_as_magentas_converter(groove_subset, tmp_path):
  subset, _ = groove_subset
  subprocess.run([sys.executable, '-m', 'magenta.scripts.convert_dir_to_note_sequences',
                  f'--input_dir={subset}', f'--output_file={tmp_path / "magenta.tfrecord"}',
                  '--recursive', '--log=ERROR'],
                 check=True, capture_output=True, env={**os.environ, 'TF_USE_LEGACY_KERAS': '1'})
  conversion.convert_directory(str(subset), str(tmp_path / 'ours.tfrecord'), recursive=True,
                                  num_workers=IN_PROCESS)
  magentas = {s.id: s for s in read_records(tmp_path / 'magenta.tfrecord')}
  ours = {s.id: s for s in read_records(tmp_path / 'ours.tfrecord')}
  assert len(ours) == 10 and ours == magentas


def test_mixed_directory_converts_good_files_and_names_each_skip(
    groove_subset, tmp_path, capsys):
  subset, rows = groove_subset
  mixed = tmp_path / 'mixed'
  mixed.mkdir()
  good_names = [os.path.basename(row['midi_filename']) for row in rows[:3]]
  for row in rows[:3]:
    shutil.copy(subset / row['midi_filename'], mixed)
  expected_reasons = write_bad_midi_files(mixed)
  (mixed / 'notes.txt').write_text('not named like MIDI: ignored')
  summary = conversion.convert_directory(str(mixed), str(tmp_path / 'out' / 'x.tfrecord'))
  warnings = capsys.readouterr().err.splitlines()
  assert summary.midi_files == len(good_names) + len(expected_reasons)
  assert sorted(s.filename for s in read_records(tmp_path / 'out' / 'x.tfrecord')) == sorted(good_names)
  expected_skips = {}
  for name, reason in sorted(expected_reasons.items()):
    expected_skips.setdefault(reason.value, []).append(name)
  assert summary.skipped == expected_skips
  for name, reason in expected_reasons.items():
    assert sum(f'skipped {name}: {reason.value}' in line for line in warnings) == 1, name


def test_split_csv_writes_one_file_per_split_and_skips_unlisted(groove_subset, tmp_path):
  subset, rows = groove_subset
  shutil.copy(subset / rows[0]['midi_filename'], subset / 'unlisted.mid')
  summary = conversion.convert_directory(str(subset), str(tmp_path / 'g.tfrecord'), recursive=True,
                                            num_workers=IN_PROCESS, split_csv=str(subset / 'info.csv'))
  assert summary.skipped == {midi_corpus.NOT_IN_SPLIT_CSV: ['unlisted.mid']}
  for split in GROOVE_SPLIT_SIZES:
    filenames = {s.filename for s in read_records(tmp_path / f'g-{split}.tfrecord')}
    assert filenames == {row['midi_filename'] for row in rows if row['split'] == split}
    assert filenames, split


def test_groove_info_csv_puts_every_file_in_a_split_897_124_129(groove_dir):
  """The split logic on the full dataset, without converting it all (~45 CPU-seconds)."""
  split_by_file = midi_corpus.read_splits(str(groove_dir / 'info.csv'))
  found = midi_corpus.find_midi_files(str(groove_dir), recursive=True)
  assert collections.Counter(midi_corpus.split_of(path, split_by_file) for path in found) == \
      GROOVE_SPLIT_SIZES
  assert midi_corpus.output_paths('d/g.tfrecord', split_by_file) == {
      split: f'd/g-{split}.tfrecord' for split in GROOVE_SPLIT_SIZES}


def test_progress_lines_show_files_per_second(tmp_path, monkeypatch, capsys):
  monkeypatch.setattr(conversion, 'PROGRESS_EVERY', 20)
  conversion.convert_directory(str(REPO / 'dataset' / 'grooves'), str(tmp_path / 'd.tfrecord'),
                                  num_workers=IN_PROCESS)
  progress = [line for line in capsys.readouterr().err.splitlines() if 'files/s' in line]
  assert [line.split(' (')[0] for line in progress] == ['converted 20/54 files', 'converted 40/54 files']


def test_default_drum_set_gives_4_bar_drum_examples(tmp_path):
  from magenta.models.music_vae import data  # pylint: disable=g-import-not-at-top
  summary = conversion.convert_directory(str(REPO / 'dataset' / 'grooves'),
                                            str(tmp_path / 'default.tfrecord'), num_workers=IN_PROCESS)
  converter = data.DrumsConverter(max_bars=100, slice_bars=4, steps_per_quarter=4, roll_input=True)
  sequences = read_records(tmp_path / 'default.tfrecord')
  assert summary.converted == len(sequences) == 54
  for sequence in sequences:
    examples = converter.to_tensors(sequence).inputs
    assert examples, sequence.filename
    assert all(example.shape == (64, 10) and example[:, :9].any() for example in examples)


def test_failed_run_leaves_existing_output_and_no_temp_files(groove_subset, tmp_path):
  subset, rows = groove_subset
  output = tmp_path / 'out.tfrecord'
  output.write_bytes(b'earlier output')
  (tmp_path / 'in').mkdir()
  (tmp_path / 'in' / 'empty.mid').write_bytes(b'')
  with pytest.raises(cli.UserError, match='none of the 1 MIDI files'):
    conversion.convert_directory(str(tmp_path / 'in'), str(output))
  assert output.read_bytes() == b'earlier output'
  shutil.copy(subset / rows[0]['midi_filename'], tmp_path / 'in' / 'good.mid')
  conversion.convert_directory(str(tmp_path / 'in'), str(output), num_workers=IN_PROCESS)
  assert [s.filename for s in read_records(output)] == ['good.mid']
  assert sorted(p.name for p in tmp_path.iterdir()) == ['groove', 'in', 'out.tfrecord']


@pytest.mark.parametrize('input_name, output_name, expected_error', [
    ('missing', 'o.tfrecord', '--input_dir: no such directory: {d}/missing'),
    ('text_only', 'o.tfrecord', '--input_dir: no .mid or .midi files in {d}/text_only'),
    ('bad_only', 'a_file/o.tfrecord', '--output_file: cannot write {d}/a_file/o.tfrecord'),
    ('bad_only', '.', '--output_file: {d} is a directory'),
])
def test_script_fails_with_one_line_naming_the_problem(
    input_name, output_name, expected_error, tmp_path):
  (tmp_path / 'text_only').mkdir()
  (tmp_path / 'text_only' / 'notes.txt').write_text('no MIDI here')
  (tmp_path / 'bad_only').mkdir()
  (tmp_path / 'bad_only' / 'x.mid').write_text('not MIDI')
  (tmp_path / 'a_file').write_text('a file where a directory should be')
  result = run_script(f'--input_dir={tmp_path / input_name}',
                      f'--output_file={os.path.normpath(tmp_path / output_name)}')
  errors = [line for line in result.stderr.splitlines() if ': error: ' in line]
  assert result.returncode == cli.EXIT_USER_ERROR
  assert len(errors) == 1 and expected_error.format(d=tmp_path) in errors[0], result.stderr
  assert 'Traceback' not in result.stderr
  assert sorted(p.name for p in tmp_path.iterdir()) == ['a_file', 'bad_only', 'text_only']


def test_help_is_instant_because_heavy_imports_wait():
  probe = 'import sys, make_tfrecord; print(sorted({"tensorflow", "note_seq"} & set(sys.modules)))'
  result = subprocess.run([sys.executable, '-c', probe], cwd=REPO, capture_output=True,
                          text=True, check=True)
  assert result.stdout.strip() == '[]'
  help_text = run_script('--help').stdout
  for flag in ('input_dir', 'output_file', 'recursive', 'num_workers', 'split_csv'):
    assert f'--{flag}' in help_text, flag


def test_one_converter_per_output_and_a_note_when_one_is_replaced(tmp_path):
  """A second converter on the same output is refused while the first holds it."""
  GROOVES = REPO / 'dataset' / 'grooves'  # pylint: disable=invalid-name
  output = tmp_path / 'out.tfrecord'
  holder = subprocess.Popen(
      [sys.executable, '-c', 'import sys, time\nfrom drumvae import files\n'
       f'with files.outputs_locked([{str(output)!r}], "output_file"):\n'
       '  print("locked", flush=True); time.sleep(60)'],
      cwd=REPO, stdout=subprocess.PIPE, text=True)
  try:
    assert holder.stdout.readline().strip() == 'locked'
    refused = run_script(f'--input_dir={GROOVES}', '--num_workers=1', f'--output_file={output}')
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines()[-1] == (
        f'make_tfrecord.py: error: --output_file: {output} is being written by -c (pid '
        f'{holder.pid}); wait for it, or choose another')
  finally:
    holder.kill()
    holder.wait()
  first = run_script(f'--input_dir={GROOVES}', '--num_workers=1', f'--output_file={output}')
  assert first.returncode == 0 and 'exists' not in first.stderr
  second = run_script(f'--input_dir={GROOVES}', '--num_workers=1', f'--output_file={output}')
  assert second.returncode == 0
  assert f'{output} exists: it is replaced once the new one is complete' in second.stderr
  assert sorted(p.name for p in tmp_path.iterdir()) == ['out.tfrecord']  # no lock left
