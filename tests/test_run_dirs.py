"""What a run dir holds decides what loads from it: its model, its one trainer, its evaluations.

Core tier: the shipped model (copied) and the project's dataset/ stand in for a trained run.
"""
import os
import pathlib
import shutil
import signal
import subprocess
import sys
import time

import pytest

from drumvae import run_dirs
from conftest import REPO, TINY_HPARAMS

SHIPPED = REPO / 'models' / 'groove_4bar_cpu'


def run(script, *args, timeout=300):
  return subprocess.run([sys.executable, str(REPO / script), *map(str, args)], cwd=REPO,
                        capture_output=True, text=True, timeout=timeout)


def last_line(result):
  return result.stderr.strip().splitlines()[-1]


@pytest.fixture(name='run_dir')
def fixture_run_dir(tmp_path):
  """A copy of the shipped model's run dir, to train, evaluate or sample from."""
  return pathlib.Path(shutil.copytree(SHIPPED, tmp_path / 'run'))


def test_same_model_in_other_words_is_accepted(run_dir, tmp_path):
  """Other order, an alias-free restatement, and a batch size sampling does not use."""
  result = run('generate.py', f'--run_dir={run_dir}', '--num_outputs=1',
               '--config=hierdec-drums_4bar_cpu', f'--output_dir={tmp_path / "out"}',
               '--hparams=dropout_keep_prob=0.9,dec_rnn_size=[64,64],batch_size=3,'
               'enc_rnn_size=[128,128]')
  assert result.returncode == 0, result.stderr[-3000:]
  assert len(list((tmp_path / 'out').glob('*.mid'))) == 1


@pytest.mark.parametrize('flags, expected', [
    (['--hparams=z_size=64'], "sets z_size=64 but {run}'s model has z_size=128"),
    (['--config=hierdec-drums_4bar_small'],
     '--config=hierdec-drums_4bar_small but {run} was trained with --config=hierdec-drums_4bar_cpu'),
])
def test_another_model_is_refused_naming_what_differs(run_dir, tmp_path, flags, expected):
  result = run('generate.py', f'--run_dir={run_dir}', f'--output_dir={tmp_path / "out"}', *flags)
  assert result.returncode == 1 and 'Traceback' not in result.stderr
  assert expected.format(run=run_dir) in last_line(result)
  assert not list((tmp_path / 'out').glob('*'))


def test_a_second_trainer_is_refused_and_a_killed_one_leaves_no_lock(run_dir, dataset_tfrecord):
  holder = subprocess.Popen(
      [sys.executable, '-c', 'import sys, time\nfrom drumvae import run_dirs\n'
       'with run_dirs.lock(sys.argv[1]):\n  print("locked", flush=True)\n  time.sleep(600)',
       str(run_dir)], cwd=REPO, stdout=subprocess.PIPE, text=True)
  try:
    assert holder.stdout.readline() == 'locked\n'
    result = run('train.py', f'--run_dir={run_dir}', f'--examples_path={dataset_tfrecord}',
                 '--num_steps=13740')
    assert result.returncode == 1 and 'Traceback' not in result.stderr
    assert f'--run_dir={run_dir} is in use by -c (pid {holder.pid})' in last_line(result)
    assert 'model.ckpt-13740.index' not in os.listdir(run_dir / 'train')
  finally:
    holder.kill()
    holder.wait()
  with run_dirs.lock(str(run_dir)):  # the kernel released the killed holder's lock
    pass


def summary_tags(eval_dir):
  """The tags of the summaries written so far (a record being written is left out)."""
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  tags = set()
  for path in eval_dir.glob('events.out.tfevents.*'):
    try:
      for event in tf.train.summary_iterator(str(path)):
        tags.update(value.tag for value in event.summary.value)
    except tf.errors.DataLossError:
      pass
  return tags


def test_eval_continuous_evaluates_each_checkpoint_until_stopped(run_dir, dataset_tfrecord):
  evaluator = subprocess.Popen(
      [sys.executable, str(REPO / 'train.py'), '--mode=eval', '--eval_continuous',
       f'--run_dir={run_dir}', f'--examples_path={dataset_tfrecord}', '--eval_num_batches=2',
       '--eval_dir_suffix=_watch'], cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
      text=True)
  try:
    deadline = time.monotonic() + 240
    tags = set()
    while not {'losses/r_loss', 'metrics/accuracy'} <= tags and time.monotonic() < deadline:
      assert evaluator.poll() is None, evaluator.stderr.read()[-3000:]
      time.sleep(2)
      tags = summary_tags(run_dir / 'eval_watch')
    assert {'losses/r_loss', 'metrics/accuracy'} <= tags, tags
    time.sleep(3)
    assert evaluator.poll() is None  # still watching for the next checkpoint
  finally:
    evaluator.send_signal(signal.SIGTERM)
    evaluator.wait(timeout=60)


def test_eval_continuous_needs_a_batch_count(run_dir, dataset_tfrecord):
  result = run('train.py', '--mode=eval', '--eval_continuous', f'--run_dir={run_dir}',
               f'--examples_path={dataset_tfrecord}')
  assert result.returncode == 1
  assert last_line(result) == 'train.py: error: --eval_continuous needs --eval_num_batches'


def test_a_copied_run_dir_reads_and_resumes_its_own_checkpoints(tiny_run, tmp_path,
                                                               dataset_tfrecord):
  """TensorFlow writes absolute paths into train/checkpoint when the run dir is
  given as one; a copy (or a moved run dir) must not read the original's."""
  state = (tiny_run / 'train' / 'checkpoint').read_text()  # trained with an absolute --run_dir
  assert str(tiny_run) not in state and 'model_checkpoint_path: "model.ckpt-2"' in state
  original, copy = tmp_path / 'original', tmp_path / 'copy'
  shutil.copytree(tiny_run, original)
  shutil.copytree(original, copy)
  # As TensorFlow writes it without this toolkit's loop: absolute paths, to the original.
  (copy / 'train' / 'checkpoint').write_text(
      f'model_checkpoint_path: "{original}/train/model.ckpt-2"\n'
      f'all_model_checkpoint_paths: "{original}/train/model.ckpt-2"\n')
  assert run_dirs.latest_checkpoint(copy) == str(copy / 'train' / 'model.ckpt-2')
  result = run('train.py', f'--run_dir={copy}', f'--examples_path={dataset_tfrecord}',
               '--num_steps=3', '--progress_secs=0')
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'step 3/3' in result.stdout and 'step 1/3' not in result.stdout  # resumed
  assert (copy / 'train' / 'model.ckpt-3.index').is_file()
  assert not list((original / 'train').glob('model.ckpt-3*'))
  state = (copy / 'train' / 'checkpoint').read_text()
  assert str(tmp_path) not in state and 'model_checkpoint_path: "model.ckpt-3"' in state
  shutil.rmtree(original)
  moved = pathlib.Path(shutil.move(copy, tmp_path / 'moved'))
  assert run_dirs.latest_checkpoint(moved) == str(moved / 'train' / 'model.ckpt-3')


@pytest.fixture(scope='module', name='tiny_run')
def fixture_tiny_run(tmp_path_factory, dataset_tfrecord):
  """A tiny model trained 2 steps on the project's own grooves."""
  run_dir = tmp_path_factory.mktemp('tiny') / 'run'
  result = run('train.py', '--config=flat-drums_4bar', f'--hparams={TINY_HPARAMS}',
               f'--run_dir={run_dir}', f'--examples_path={dataset_tfrecord}',
               '--num_steps=2', '--progress_secs=0')
  assert result.returncode == 0, result.stderr[-3000:]
  return run_dir


@pytest.fixture(name='tiny_copy')
def fixture_tiny_copy(tiny_run, tmp_path):
  return pathlib.Path(shutil.copytree(tiny_run, tmp_path / 'run'))


def test_a_run_dir_holds_no_graph_files_nothing_reads(tiny_run):
  """Magenta's loop would write graph.pbtxt and a .meta beside each checkpoint."""
  names = sorted(p.name for p in (tiny_run / 'train').iterdir())
  assert 'model.ckpt-2.index' in names and 'checkpoint' in names, names
  assert not [name for name in names if name == 'graph.pbtxt' or name.endswith('.meta')], names


def test_a_resumed_run_removes_what_a_cut_short_save_left(tiny_copy, dataset_tfrecord):
  train = tiny_copy / 'train'
  leftovers = [train / 'checkpoint.tmp0123456789abcdef0123456789abcdef',
               train / 'model.ckpt-3_temp']
  leftovers[0].write_text('model_checkpoint_path: "model.ckpt-3"\n')
  leftovers[1].mkdir()
  (leftovers[1] / 'part-00000-of-00001.data-00000-of-00001').write_bytes(bytes(4096))
  result = run('train.py', f'--run_dir={tiny_copy}', f'--examples_path={dataset_tfrecord}',
               '--num_steps=3', '--progress_secs=0')
  assert result.returncode == 0, result.stderr[-3000:]
  assert ('removed what an earlier checkpoint save cut short left: '
          'checkpoint.tmp0123456789abcdef0123456789abcdef, model.ckpt-3_temp') in result.stdout
  assert not any(path.exists() for path in leftovers)
  assert run_dirs.latest_checkpoint(tiny_copy) == str(train / 'model.ckpt-3')


@pytest.mark.parametrize('script, damage', [
    ('generate.py', 'truncated'), ('export_model.py', 'truncated'),
    ('train.py', 'corrupted'), ('train.py --mode=eval', 'truncated')])
def test_a_damaged_checkpoint_is_named_as_damaged(tiny_copy, tmp_path, dataset_tfrecord,
                                                  script, damage):
  data = tiny_copy / 'train' / 'model.ckpt-2.data-00000-of-00001'
  weights = bytearray(data.read_bytes())
  if damage == 'truncated':
    weights = weights[:len(weights) // 2]
  else:
    weights[1000:1100] = bytes(100)
  data.write_bytes(weights)
  script, *mode = script.split()
  args = {'generate.py': [f'--output_dir={tmp_path / "out"}'],
          'export_model.py': [f'--output_dir={tmp_path / "out"}'],
          'train.py': [f'--examples_path={dataset_tfrecord}', '--num_steps=3']}[script]
  result = run(script, *mode, f'--run_dir={tiny_copy}', *args)
  assert result.returncode == 1 and 'Traceback' not in result.stderr, result.stderr[-3000:]
  reason = 'Read less bytes than requested' if damage == 'truncated' else 'Checksum does not match'
  assert last_line(result).startswith(
      f'{script}: error: checkpoint {tiny_copy}/train/model.ckpt-2 is damaged ({reason}')
  assert not list((tmp_path / 'out').glob('*'))  # generate.py made it, empty; export none
