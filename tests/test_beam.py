"""make_tfrecord.py --runner=DirectRunner: the same NoteSequences as the local converter, in Beam's shards."""
import glob
import os
import shutil
import subprocess
import sys

import pytest
from conftest import REPO, TINY_HPARAMS

GROOVES = REPO / 'dataset' / 'grooves'


def run(script, *args):
  result = subprocess.run([sys.executable, str(REPO / script), *map(str, args)], cwd=REPO,
                          capture_output=True, text=True, timeout=600)
  assert 'Traceback' not in result.stderr, result.stderr[-3000:]
  return result


def records(pattern):
  import tensorflow as tf  # pylint: disable=g-import-not-at-top
  return sorted(record for path in sorted(glob.glob(str(pattern)))
                for record in tf.compat.v1.io.tf_record_iterator(path))


@pytest.fixture(scope='module')
def converted_both_ways(tmp_path_factory):
  """dataset/grooves plus one corrupt file, converted locally and on Beam with 2 workers."""
  tmp = tmp_path_factory.mktemp('beam')
  midi_dir = tmp / 'grooves'
  shutil.copytree(GROOVES, midi_dir)
  (midi_dir / 'corrupt.mid').write_bytes(b'MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xe0' + b'junk')
  local = run('make_tfrecord.py', f'--input_dir={midi_dir}', f'--output_file={tmp / "local.tfrecord"}')
  beam = run('make_tfrecord.py', f'--input_dir={midi_dir}', f'--output_file={tmp / "beam.tfrecord"}',
             '--runner=DirectRunner', '--num_workers=2')
  return tmp, local, beam


def test_beam_writes_the_local_converters_note_sequences_in_shards(converted_both_ways):
  tmp, local, beam = converted_both_ways
  assert local.returncode == 0 and beam.returncode == 0, beam.stderr[-3000:]
  shards = sorted(p.name for p in tmp.glob('beam.tfrecord-*'))
  assert shards == ['beam.tfrecord-00000-of-00002', 'beam.tfrecord-00001-of-00002']
  ours = records(tmp / 'beam.tfrecord-*')
  assert len(ours) == 54 and ours == records(tmp / 'local.tfrecord')


def test_beam_skips_a_corrupt_file_with_its_reason_and_sums_up(converted_both_ways):
  tmp, local, beam = converted_both_ways
  warnings = [line for line in beam.stderr.splitlines() if 'make_tfrecord.py: warning:' in line]
  local_warnings = [line for line in local.stderr.splitlines() if 'make_tfrecord.py: warning:' in line]
  assert warnings == local_warnings and len(warnings) == 1
  assert 'skipped corrupt.mid: truncated MIDI file' in warnings[0]
  assert beam.stdout.splitlines()[1:] == [
      f'wrote 54 NoteSequences to {tmp / "beam.tfrecord"}-*-of-00002',
      'skipped 1 files: 1 truncated MIDI file']
  assert not list(tmp.glob('*.report*')) and not list(tmp.glob('beam-temp-*'))


def test_a_glob_of_the_shards_trains(converted_both_ways):
  tmp, _, _ = converted_both_ways
  result = run('train.py', '--config=flat-drums_4bar', f'--run_dir={tmp / "run"}',
               f'--examples_path={tmp / "beam.tfrecord-*"}', f'--hparams={TINY_HPARAMS}',
               '--num_steps=2', '--progress_secs=0')
  assert result.returncode == 0, result.stderr[-3000:]
  assert '486 4-bar examples (all windows) from 54 NoteSequences' in result.stdout
  assert 'step 2/2' in result.stdout


def test_beam_with_a_split_csv_matches_the_local_splits(groove_dir, tmp_path):
  """Groove tier: 60 real files with Groove's info.csv, one sharded output per split."""
  midi_dir = tmp_path / 'groove'
  names = sorted(p.relative_to(groove_dir) for p in groove_dir.glob('drummer1/session1/*.mid'))[:60]
  for name in names:
    (midi_dir / name).parent.mkdir(parents=True, exist_ok=True)
    os.symlink(groove_dir / name, midi_dir / name)
  csv = groove_dir / 'info.csv'
  local = run('make_tfrecord.py', f'--input_dir={midi_dir}', '--recursive', f'--split_csv={csv}',
              f'--output_file={tmp_path / "local.tfrecord"}')
  beam = run('make_tfrecord.py', f'--input_dir={midi_dir}', '--recursive', f'--split_csv={csv}',
             f'--output_file={tmp_path / "beam.tfrecord"}', '--runner=DirectRunner',
             '--num_workers=2')
  assert local.returncode == 0 and beam.returncode == 0, beam.stderr[-3000:]
  splits = [p.name[len('local-'):-len('.tfrecord')] for p in tmp_path.glob('local-*.tfrecord')]
  assert 'train' in splits
  for split in splits:
    assert records(tmp_path / f'beam-{split}.tfrecord-*') == records(
        tmp_path / f'local-{split}.tfrecord'), split
