"""Hostile input and crashes: one clear line instead of a traceback or a hang; nothing lost.

Every case runs a script as a user does (a subprocess) and checks its exit
status, that the last line of stderr is `<script>: error: ...` naming the flag
or file at fault, and that no traceback is shown. Most cases fail before
TensorFlow is imported (well under a second) or right after (~10 s of CPU).

Training runs twice in all, on the project's dataset/ (no Groove needed), into one
run directory with the flat config (its graph builds in ~10 s; the hierarchical
ones take ~60 s): the first run saves a checkpoint every few seconds
(--save_checkpoint_secs) and is killed with SIGKILL soon after one past step 0,
the second resumes from that checkpoint and is stopped with SIGTERM. The shape-mismatch and eval
cases reuse that run directory.
"""
import os
import pathlib
import queue
import random
import re
import resource
import signal
import subprocess
import sys
import threading
import time

import pytest
from conftest import OWN_GROOVE, REPO, TINY_HPARAMS, write_bad_midi_files

CONFIG = 'flat-drums_4bar'  # the cheapest graph to build
CHECKPOINT_SECS = 3  # train.py --save_checkpoint_secs (Magenta's: 60)
# A failing script imports TensorFlow and Magenta at most: ~10 s of CPU, but
# over a minute on a busy machine. Time enough, and no hang goes unnoticed.
FAIL_FAST_SECS = 180
PROGRESS = re.compile(r'^step (\d+)/')
# Groove performances: ten short 4/4 beats, and three with no 4-bar 4/4 example.
GOOD_FILES = [f'drummer1/session1/{name}_beat_4-4.mid' for name in (
    '1_funk_80', '2_funk_80', '48_jazz_93', '75_jazz_125', '76_jazz-mediumfast_180',
    '79_latin-reggaeton_90', '81_dance-breakbeat_170', '100_neworleans-secondline_94',
    '145_latin-brazilian-baiao_95', '184_reggae_78')]
NO_4BAR_FILES = ['drummer1/session2/1_latin-chacarera_157_beat_3-4.mid',
                 'drummer1/session2/111_rock-prog_110_beat_5-4.mid',
                 'drummer1/session1/103_funk_95_fill_4-4.mid']  # 3/4, 5/4, 2 bars


def run(script, *args, timeout=FAIL_FAST_SECS):
  return subprocess.run([sys.executable, str(REPO / script), *map(str, args)],
                        cwd=REPO, capture_output=True, text=True, timeout=timeout)


def assert_error(result, script, *fragments):
  """Exit 1, no traceback, and a last stderr line `script: error: ...` with each fragment."""
  assert 'Traceback' not in result.stderr, result.stderr[-3000:]
  assert result.returncode == 1, result.stderr[-3000:]
  lines = result.stderr.strip().splitlines()
  assert lines[-1].startswith(f'{script}: error: '), result.stderr[-3000:]
  assert [line for line in lines if ': error: ' in line] == lines[-1:], result.stderr
  for fragment in fragments:
    assert str(fragment) in lines[-1]
  return lines[-1]


def bad_midi_files(directory, prefix=''):
  """conftest.write_bad_midi_files: {name: the words its warning or error holds}."""
  return {name: reason.value
          for name, reason in write_bad_midi_files(directory, prefix).items()}


def checkpoint_steps(run_dir):
  train_dir = pathlib.Path(run_dir, 'train')
  return sorted(int(p.name[len('model.ckpt-'):-len('.index')])
                for p in train_dir.glob('model.ckpt-*.index'))


def latest_checkpoint_step(run_dir):
  """The step of the checkpoint RUN_DIR/train/checkpoint names, or None."""
  try:
    state = pathlib.Path(run_dir, 'train', 'checkpoint').read_text()
  except FileNotFoundError:
    return None
  return int(re.search(r'^model_checkpoint_path: ".*ckpt-(\d+)"', state, re.M).group(1))


class Background:
  """A script running in the background, its stdout (or stderr) read line by line."""

  def __init__(self, script, *args, read='stdout', log_path=os.devnull):
    self._log = open(log_path, 'w')  # pylint: disable=consider-using-with
    pipes = {'stdout': subprocess.PIPE, 'stderr': self._log}
    if read == 'stderr':
      pipes = {'stdout': self._log, 'stderr': subprocess.PIPE}
    self.process = subprocess.Popen([sys.executable, str(REPO / script), *map(str, args)],
                                    cwd=REPO, text=True, **pipes)
    self.lines = []
    self._queue = queue.Queue()
    stream = getattr(self.process, read)
    threading.Thread(target=lambda: [*map(self._queue.put, stream), self._queue.put(None)],
                     daemon=True).start()

  def wait_for(self, predicate, timeout):
    """Reads lines until `predicate(line)`; returns that line."""
    deadline = time.monotonic() + timeout
    while True:
      try:
        line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
      except queue.Empty:
        raise AssertionError(f'no such line in {timeout} s: {self.lines[-5:]}') from None
      if line is None:
        raise AssertionError(f'ended (exit {self.process.wait()}) first: {self.lines[-5:]}')
      self.lines.append(line.rstrip('\n'))
      if predicate(self.lines[-1]):
        return self.lines[-1]

  def finish(self, timeout):
    """Waits for the end; returns the exit status. All lines are then in `lines`."""
    status = self.process.wait(timeout=timeout)
    while (line := self._queue.get(timeout=10)) is not None:
      self.lines.append(line.rstrip('\n'))
    return status

  def close(self):
    if self.process.poll() is None:
      self.process.kill()
      self.process.wait()
    self._log.close()


def progress_steps(lines):
  return [int(m.group(1)) for m in map(PROGRESS.match, lines) if m]


def step_of(line):
  """The step of a progress line, or -1."""
  return int(match.group(1)) if (match := PROGRESS.match(line)) else -1


# --- Conversion -------------------------------------------------------------


@pytest.fixture(scope='module')
def converted(groove_dir, tmp_path_factory):
  """make_tfrecord.py over good, short and bad files: killed once, then run to the end.

  --split_csv puts the 4/4 beats in data/groove-train.tfrecord and the files
  with no 4-bar 4/4 example in data/groove-no4bar.tfrecord.
  """
  midi_dir = tmp_path_factory.mktemp('midi')
  rows = ['midi_filename,split']
  for path, split in [(p, 'train') for p in GOOD_FILES] + [(p, 'no4bar') for p in NO_4BAR_FILES]:
    name = os.path.basename(path)
    os.symlink(groove_dir / path, midi_dir / name)
    rows.append(f'{name},{split}')
  split_csv = tmp_path_factory.mktemp('csv') / 'splits.csv'
  split_csv.write_text('\n'.join(rows) + '\n')
  bad = bad_midi_files(midi_dir, prefix='000_')  # converted first
  data = tmp_path_factory.mktemp('data')
  (data / 'groove-train.tfrecord').write_bytes(b'earlier output')
  args = [f'--input_dir={midi_dir}', f'--output_file={data / "groove.tfrecord"}',
          f'--split_csv={split_csv}', '--num_workers=1']
  killed = Background('make_tfrecord.py', *args, read='stderr')
  try:
    killed.wait_for(lambda line: 'warning: skipped 000_' in line, timeout=FAIL_FAST_SECS)
    killed.process.kill()
    killed_status = killed.process.wait()
    files_after_kill = {p.name: p.read_bytes() for p in data.iterdir()}
  finally:
    killed.close()
  result = run('make_tfrecord.py', *args, timeout=300)
  return dict(result=result, bad=bad, killed_status=killed_status,
              files_after_kill=files_after_kill, data=data,
              train=data / 'groove-train.tfrecord', no4bar=data / 'groove-no4bar.tfrecord')


def test_killed_conversion_leaves_earlier_output_and_no_half_written_file(converted):
  assert converted['killed_status'] == -signal.SIGKILL
  files = converted['files_after_kill']
  assert files['groove-train.tfrecord'] == b'earlier output'
  # Partial files are hidden (.groove-*.partial), never under an output's name.
  assert {name for name in files if not name.startswith('.')} == {'groove-train.tfrecord'}


def test_conversion_warns_about_each_bad_file_and_converts_the_rest(converted):
  result = converted['result']
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'Traceback' not in result.stderr
  warnings = [line for line in result.stderr.splitlines() if ': warning: skipped ' in line]
  assert len(warnings) == len(converted['bad']), result.stderr
  for name, reason in converted['bad'].items():
    assert any(f'skipped {name}: ' in w and reason in w for w in warnings), (name, warnings)
  assert f'wrote {len(GOOD_FILES)} NoteSequences to {converted["train"]}' in result.stdout
  assert f'wrote {len(NO_4BAR_FILES)} NoteSequences to {converted["no4bar"]}' in result.stdout
  assert converted['train'].read_bytes() != b'earlier output'  # replaced once complete


@pytest.mark.parametrize('case, expected', [
    ('missing', '--input_dir: no such directory: {tmp}/missing'),
    ('empty', '--input_dir: no .mid or .midi files in {tmp}/empty'),
    ('output_under_a_file', '--output_file: cannot write {tmp}/file.txt/sub/out.tfrecord'),
    ('output_in_proc', '--output_file: cannot write /proc/drumvae/out.tfrecord'),
    ('no_output_flag', 'flag --output_file=None'),
])
def test_make_tfrecord_errors(case, expected, tmp_path):
  (tmp_path / 'empty').mkdir()
  (tmp_path / 'only_bad').mkdir()
  (tmp_path / 'only_bad' / 'text.mid').write_text('not MIDI')
  (tmp_path / 'file.txt').write_text('a regular file')
  (tmp_path / 'out.tfrecord').write_bytes(b'earlier output')
  input_dir = tmp_path / ('only_bad' if case.startswith('output') else case)
  output = {'output_under_a_file': tmp_path / 'file.txt' / 'sub' / 'out.tfrecord',
            'output_in_proc': '/proc/drumvae/out.tfrecord'}.get(case, tmp_path / 'out.tfrecord')
  args = [f'--input_dir={input_dir}'] + ([] if case == 'no_output_flag' else [
      f'--output_file={output}'])
  assert_error(run('make_tfrecord.py', *args), 'make_tfrecord.py',
               expected.format(tmp=tmp_path))
  assert (tmp_path / 'out.tfrecord').read_bytes() == b'earlier output'
  assert not [p for p in tmp_path.iterdir() if 'partial' in p.name]


# --- Training data ----------------------------------------------------------


def tfrecord(records):
  """A TFRecord file's bytes (length, masked CRC-32C, data, masked CRC-32C)."""

  def masked_crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
      crc ^= byte
      for _ in range(8):
        crc = (crc >> 1) ^ (0x82F63B78 & -(crc & 1))
    crc ^= 0xFFFFFFFF
    return ((((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF).to_bytes(4, 'little')

  out = b''
  for record in records:
    length = len(record).to_bytes(8, 'little')
    out += length + masked_crc32c(length) + record + masked_crc32c(record)
  return out


@pytest.mark.parametrize('case, expected', [
    ('missing', ['no such file (make one with make_tfrecord.py)']),
    ('empty', ['0 NoteSequences']),
    ('random_bytes', ['is not a readable tfrecord']),
    ('json_records', ['holds records that are not NoteSequences']),
    ('no_4bar_example', ['none of its 3 NoteSequences has a 4-bar 4/4 drum example',
                         'channel 10']),
    ('fewer_than_a_batch', [re.compile(r'has \d+ 4-bar examples .* fewer than one batch of 1000: ')]),
])
def test_train_fails_fast_on_bad_examples(case, expected, converted, tmp_path):
  path = {'no_4bar_example': converted['no4bar'],
          'fewer_than_a_batch': converted['train']}.get(case, tmp_path / f'{case}.tfrecord')
  contents = {'empty': b'', 'random_bytes': random.Random(1).randbytes(5000),
              'json_records': tfrecord([b'{"notes": [], "tempo": 120}'] * 3)}
  if case in contents:
    path.write_bytes(contents[case])
  hparams = TINY_HPARAMS.replace('batch_size=4', 'batch_size=1000') if 'batch' in case else TINY_HPARAMS
  # Before the checks, Magenta's input pipeline waited forever to fill its
  # shuffle buffer on such data: run() times out after FAIL_FAST_SECS.
  result = run('train.py', f'--config={CONFIG}', f'--run_dir={tmp_path / "run"}',
               f'--examples_path={path}', f'--hparams={hparams}', '--num_steps=10')
  line = assert_error(result, 'train.py', f'--examples_path={path}')
  for fragment in expected:
    assert fragment.search(line) if isinstance(fragment, re.Pattern) else fragment in line
  assert not (tmp_path / 'run' / 'train').exists()


def test_train_rejects_malformed_hparams(dataset_tfrecord, tmp_path):
  assert_error(run('train.py', f'--config={CONFIG}', f'--run_dir={tmp_path}',
                   f'--examples_path={dataset_tfrecord}', '--hparams=enc_rnn_size=[16'),
               'train.py', "--hparams='enc_rnn_size=[16' is not valid")


@pytest.mark.parametrize('hparams, expected', [
    ('z_size=0', 'z_size=0 must be above 0'),
    ('batch_size=0', 'batch_size=0 must be above 0'),
    ('dec_rnn_size=[16,0]', 'dec_rnn_size=[16, 0] must be above 0 (each size)'),
    ('dropout_keep_prob=0', 'dropout_keep_prob=0.0 must be in (0, 1]'),
    ('learning_rate=nan', 'learning_rate=nan must be above 0'),
])
def test_train_refuses_sizes_and_rates_out_of_range_writing_nothing(
    hparams, expected, dataset_tfrecord, tmp_path):
  run_dir = tmp_path / 'run'
  assert_error(run('train.py', f'--config={CONFIG}', f'--run_dir={run_dir}',
                   f'--examples_path={dataset_tfrecord}', f'--hparams={hparams}'),
               'train.py', f"--hparams='{hparams}': {expected}")
  assert not (run_dir / 'run.json').exists() and not (run_dir / 'train').exists()


@pytest.mark.parametrize('flag', ['--temperature=nan', '--temperature=inf', '--similarity=nan',
                                  '--qpm=inf'])
def test_generate_refuses_numbers_that_are_not_finite(flag, tmp_path):
  assert_error(run('generate.py', flag, f'--output_dir={tmp_path}'), 'generate.py',
               flag.split('=')[0], 'must be a finite number')
  assert not list(tmp_path.iterdir())


def test_train_flag_conflict_is_one_line(tmp_path):
  assert_error(run('train.py', f'--run_dir={tmp_path}', '--examples_path=a', '--tfds_name=b'),
               'train.py', '--examples_path and --tfds_name cannot both be set')


def test_eval_without_checkpoint(dataset_tfrecord, tmp_path):
  assert_error(run('train.py', '--mode=eval', f'--config={CONFIG}', f'--run_dir={tmp_path}',
                   f'--examples_path={dataset_tfrecord}'),
               'train.py', f'--run_dir={tmp_path} has no checkpoint')


# --- Training killed, resumed, stopped --------------------------------------


@pytest.fixture(scope='module')
def killed_run(dataset_tfrecord, tmp_path_factory):
  """A run killed with SIGKILL soon after its first checkpoint past step 0."""
  run_dir = tmp_path_factory.mktemp('run')
  training = Background('train.py', f'--config={CONFIG}', f'--run_dir={run_dir}',
                        f'--examples_path={dataset_tfrecord}', f'--hparams={TINY_HPARAMS}',
                        '--num_steps=100000', '--progress_secs=0',
                        f'--save_checkpoint_secs={CHECKPOINT_SECS}',
                        log_path=tmp_path_factory.mktemp('logs') / 'killed_run.stderr')
  try:
    training.wait_for(lambda line: line.startswith('step 2/'), timeout=300)
    deadline = time.monotonic() + 120
    while not latest_checkpoint_step(run_dir) and time.monotonic() < deadline:
      training.wait_for(lambda line: True, timeout=60)
    first_saved = latest_checkpoint_step(run_dir)
    assert first_saved, 'no checkpoint past step 0 in 120 s'
    training.wait_for(lambda line: step_of(line) > first_saved, timeout=60)
    training.process.kill()
    status = training.finish(timeout=60)
  finally:
    training.close()
  # Read after the kill: another checkpoint may have come in between.
  return dict(run_dir=run_dir, status=status, saved=latest_checkpoint_step(run_dir),
              lines=training.lines)


@pytest.fixture(scope='module')
def resumed_run(killed_run, dataset_tfrecord, tmp_path_factory):
  """The same command rerun (config and hparams come from run.json), stopped with SIGTERM."""
  run_dir = killed_run['run_dir']
  training = Background('train.py', f'--run_dir={run_dir}',
                        f'--examples_path={dataset_tfrecord}', '--num_steps=100000',
                        '--progress_secs=0',
                        log_path=tmp_path_factory.mktemp('logs') / 'resumed_run.stderr')
  try:
    first = step_of(training.wait_for(PROGRESS.match, timeout=300))
    training.wait_for(lambda line: step_of(line) >= first + 2, timeout=60)
    training.process.send_signal(signal.SIGTERM)
    status = training.finish(timeout=120)
  finally:
    training.close()
  return dict(run_dir=run_dir, status=status, lines=training.lines)


def test_sigkill_keeps_the_last_checkpoint_whole(killed_run):
  assert killed_run['status'] == -signal.SIGKILL
  saved, run_dir = killed_run['saved'], killed_run['run_dir']
  assert 0 < saved < progress_steps(killed_run['lines'])[-1]
  prefix = run_dir / 'train' / f'model.ckpt-{saved}'
  for suffix in ('.index', '.data-00000-of-00001'):
    assert pathlib.Path(f'{prefix}{suffix}').stat().st_size > 0


def test_rerun_resumes_from_the_checkpoint_kept_after_sigkill(killed_run, resumed_run):
  steps = progress_steps(resumed_run['lines'])
  assert steps[0] == killed_run['saved'] + 1, resumed_run['lines'][:5]


def test_sigterm_saves_a_checkpoint_at_the_last_step(resumed_run):
  assert resumed_run['status'] == 0, resumed_run['lines'][-5:]
  assert 'stopped by SIGTERM; checkpoint saved, rerun to resume' in resumed_run['lines']
  last_step = progress_steps(resumed_run['lines'])[-1]
  assert latest_checkpoint_step(resumed_run['run_dir']) == last_step
  assert checkpoint_steps(resumed_run['run_dir'])[-1] == last_step


def test_checkpoint_of_other_hparams_is_one_line(resumed_run, tmp_path):
  other = TINY_HPARAMS.replace('z_size=8', 'z_size=16')
  line = assert_error(
      run('generate.py', f'--checkpoint_file={resumed_run["run_dir"] / "train"}',
          f'--config={CONFIG}', f'--hparams={other}', f'--output_dir={tmp_path}'),
      'generate.py', f"does not fit --config={CONFIG} --hparams='{other}'")
  assert 'another config or hparams' in line
  assert not list(tmp_path.iterdir())


def test_eval_on_data_without_4bar_example_fails_fast(resumed_run, converted):
  assert_error(run('train.py', '--mode=eval', f'--run_dir={resumed_run["run_dir"]}',
                   f'--examples_path={converted["no4bar"]}'),
               'train.py', 'none of its 3 NoteSequences has a 4-bar 4/4 drum example')


# --- Generation ---------------------------------------------------------------


@pytest.fixture(name='run_dir_with_checkpoint')
def fixture_run_dir_with_checkpoint(tmp_path):
  """A run dir whose checkpoint index is all that is read before TensorFlow loads."""
  (tmp_path / 'run' / 'train').mkdir(parents=True)
  (tmp_path / 'run' / 'train' / 'checkpoint').write_text('model_checkpoint_path: "x"\n')
  return tmp_path / 'run'


def test_generate_unknown_config_lists_the_valid_ones(tmp_path):
  assert_error(run('generate.py', f'--checkpoint_file={tmp_path}', '--config=drums'),
               'generate.py', "--config='drums' is not a known config; choose one of "
               'flat-drums_4bar, groovae-drums_4bar_humanize, groovae-drums_4bar_humanize_cpu, '
                   'hier-drums_4bar_cpu, hierdec-drums_4bar, '
               'hierdec-drums_4bar_cpu, hierdec-drums_4bar_large, hierdec-drums_4bar_small')


@pytest.mark.parametrize('case, expected', [
    ('empty_run_dir', '--run_dir={tmp}/empty has no checkpoint in {tmp}/empty/train'),
    ('missing_run_dir', '--run_dir={tmp}/missing: no such directory'),
    ('missing_checkpoint_file', '--checkpoint_file={tmp}/model.ckpt-9: no such file'),
    ('output_under_a_file', '--output_dir={tmp}/file.txt/sub: cannot write there'),
    ('output_in_proc', '--output_dir=/proc/self: cannot write there'),
    ('both_model_flags', 'At most one of (run_dir, checkpoint_file)'),
])
def test_generate_errors_before_loading_tensorflow(case, expected, tmp_path,
                                                   run_dir_with_checkpoint):
  (tmp_path / 'empty').mkdir()
  (tmp_path / 'file.txt').write_text('a regular file')
  args = {
      'empty_run_dir': [f'--run_dir={tmp_path}/empty'],
      'missing_run_dir': [f'--run_dir={tmp_path}/missing'],
      'missing_checkpoint_file': [f'--checkpoint_file={tmp_path}/model.ckpt-9',
                                  f'--config={CONFIG}'],
      'output_under_a_file': [f'--run_dir={run_dir_with_checkpoint}',
                              f'--output_dir={tmp_path}/file.txt/sub'],
      'output_in_proc': [f'--run_dir={run_dir_with_checkpoint}', '--output_dir=/proc/self'],
      'both_model_flags': [f'--run_dir={run_dir_with_checkpoint}',
                           f'--checkpoint_file={tmp_path}/model.ckpt-9'],
  }[case]
  cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime
  result = run('generate.py', *args, timeout=30)
  assert_error(result, 'generate.py', expected.format(tmp=tmp_path))
  # Well under the ~10 s of importing TensorFlow.
  assert resource.getrusage(resource.RUSAGE_CHILDREN).ru_utime - cpu_before < 3


@pytest.mark.parametrize('name', ['random.mid', 'directory.mid', 'piano.mid'])
def test_generate_names_a_bad_interpolation_input(name, tmp_path, run_dir_with_checkpoint):
  reasons = bad_midi_files(tmp_path)
  reasons['directory.mid'] = 'is a directory'
  good = OWN_GROOVE
  result = run('generate.py', f'--run_dir={run_dir_with_checkpoint}', '--mode=interpolate',
               f'--input_midi_1={good}', f'--input_midi_2={tmp_path / name}',
               f'--output_dir={tmp_path / "out"}', timeout=60)
  assert_error(result, 'generate.py', f'--input_midi_2={tmp_path / name}: ', reasons[name])
  assert not (tmp_path / 'out').exists()


# --- Rendering ----------------------------------------------------------------


@pytest.mark.parametrize('case, expected', [
    ('random.mid', '{tmp}/random.mid: not a readable MIDI file'),
    ('missing.mid', '{tmp}/missing.mid: no such file or directory'),
    ('output_under_a_file', '--output_dir={tmp}/file.txt/sub: cannot create it'),
])
def test_render_midi_errors(case, expected, tmp_path):
  bad_midi_files(tmp_path)
  (tmp_path / 'file.txt').write_text('a regular file')
  if case == 'output_under_a_file':
    args = [f'--input_midi={OWN_GROOVE}', f'--output_dir={tmp_path}/file.txt/sub']
  else:
    args = [f'--input_midi={tmp_path / case}']
  assert_error(run('render_midi.py', *args, '--plot'), 'render_midi.py',
               expected.format(tmp=tmp_path))


@pytest.fixture
def small_disk(tmp_path):
  """A 16 KiB filesystem (tmpfs) mounted in tmp_path: room for a few MIDI files only."""
  disk = tmp_path / 'disk'
  disk.mkdir()
  mounted = subprocess.run(['mount', '-t', 'tmpfs', '-o', 'size=16k', 'tmpfs', str(disk)],
                           capture_output=True, text=True)
  if mounted.returncode:
    pytest.skip(f'a full disk needs mounting a tmpfs (as root): {mounted.stderr.strip()}')
  try:
    yield disk
  finally:
    subprocess.run(['umount', str(disk)], check=True)


def test_full_disk_fails_in_one_line_and_leaves_only_whole_midi_files(small_disk):
  import note_seq  # pylint: disable=g-import-not-at-top
  result = run('generate.py', '--num_outputs=12', f'--output_dir={small_disk}', '--seed=0')
  last = assert_error(result, 'generate.py', 'No space left on device')
  assert str(small_disk) in last
  written = sorted(small_disk.glob('*.mid'))
  assert written and not list(small_disk.glob('.*'))  # no temporary file left behind
  assert [str(path) for path in written] == result.stdout.split()  # listed = complete
  for path in written:
    assert note_seq.midi_file_to_note_sequence(str(path)).notes, path
