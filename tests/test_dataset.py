"""The data path: Magenta's pipeline with the unbatch workaround, and ours.

Both pipelines run in a child process: without the workaround, TF segfaults,
which would take the whole test session down.
"""
import os
import subprocess
import sys
import textwrap

import pytest
from conftest import REPO


COMPARE_PIPELINES = textwrap.dedent('''
    config = models.get_config('hierdec-drums_4bar_small', 'batch_size=4')
    config = config._replace(eval_examples_path={examples!r})

    def batches(make, count):
      with tf.Graph().as_default():
        next_batch = tf.data.make_one_shot_iterator(make()).get_next()
        with tf.Session() as session:
          return [session.run(next_batch) for _ in range(count)]

    stock = batches(lambda: runtime.magenta_dataset(
        config, is_training=False), {count})
    examples = dataset.convert_examples({examples!r}, config.data_converter, 'eval')
    ours = batches(lambda: dataset.make_dataset(examples, 4, is_training=False), {count})
    for stock_batch, our_batch in zip(stock, ours):
      for stock_part, our_part in zip(stock_batch, our_batch):
        assert stock_part.dtype == our_part.dtype, (stock_part.dtype, our_part.dtype)
        np.testing.assert_array_equal(stock_part, our_part)
    print('equal batches:', len(stock), 'of shapes', [p.shape for p in stock[0]])
''')


def run_with_tensorflow(body):
  """Runs `body` in a child Python with the runtime set up, configs and dataset imported."""
  setup = textwrap.dedent('''
      import numpy as np
      from drumvae import dataset, runtime
      runtime.setup()
      runtime.load_tensorflow()
      import tensorflow.compat.v1 as tf
      import configs
      from drumvae import models
  ''')
  return subprocess.run([sys.executable, '-c', setup + textwrap.dedent(body)],
                        capture_output=True, text=True, cwd=REPO)


@pytest.fixture(scope='module')
def examples_path(groove_dir, tmp_path_factory):
  """A tfrecord of 20 Groove performances."""
  midi_dir = tmp_path_factory.mktemp('midi')
  session = groove_dir / 'drummer1' / 'session1'
  for path in sorted(session.glob('*.mid'))[:20]:
    (midi_dir / path.name).symlink_to(path)
  output = tmp_path_factory.mktemp('data') / 'groove20.tfrecord'
  subprocess.run([sys.executable, os.path.join(REPO, 'make_tfrecord.py'),
                  f'--input_dir={midi_dir}', f'--output_file={output}'],
                 check=True, capture_output=True)
  return str(output)


def test_our_batches_equal_magentas_with_unbatch_workaround(examples_path):
  result = run_with_tensorflow(COMPARE_PIPELINES.format(examples=examples_path, count=2))
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'equal batches: 2 of shapes [(4, 64, 10), (4, 64, 512), (4, 64, 0), (4,)]' \
      in result.stdout


def test_too_few_examples_fail_fast_with_counts(examples_path, tmp_path):
  result = subprocess.run(
      [sys.executable, os.path.join(REPO, 'train.py'),
       '--config=hierdec-drums_4bar_small', f'--run_dir={tmp_path / "run"}',
       f'--examples_path={examples_path}', '--num_steps=1'],
      capture_output=True, text=True, cwd=REPO, timeout=120)
  assert result.returncode == 1
  last_line = result.stderr.strip().splitlines()[-1]
  assert last_line.startswith(f'train.py: error: --examples_path={examples_path} has ')
  assert 'fewer than one batch of 512' in last_line
  assert 'Traceback' not in result.stderr


def test_fresh_windows_draw_up_to_5_of_each_sequence_anew_each_epoch():
  import numpy as np  # pylint: disable=g-import-not-at-top
  from drumvae import dataset  # pylint: disable=g-import-not-at-top
  # Sequence 0 has 12 windows, 1 has 3, 2 has 5.
  sequence_ids = np.repeat([0, 1, 2], [12, 3, 5])
  rng = np.random.default_rng(0)
  epochs = [dataset.fresh_window_indices(sequence_ids, rng) for _ in range(2)]
  for chosen in epochs:
    assert len(set(chosen)) == len(chosen) == 5 + 3 + 5
    assert np.bincount(sequence_ids[chosen]).tolist() == [5, 3, 5]
  assert set(epochs[0]) != set(epochs[1])  # sequence 0 drew other windows


def test_convert_keeps_every_window_or_the_converters_cap(examples_path):
  """All windows are many more than the converter's 5 per NoteSequence."""
  result = run_with_tensorflow(f'''
          converter = models.get_config('hierdec-drums_4bar_small').data_converter
          for windows in dataset.WINDOWS:
            examples = dataset.convert_examples({examples_path!r}, converter,
                                                'train', windows)
            per_sequence = max(np.bincount(examples.sequence_ids))
            print(windows, len(examples), examples.num_sequences, per_sequence)
      ''')
  assert result.returncode == 0, result.stderr[-3000:]
  counts = {line.split()[0]: [int(n) for n in line.split()[1:]]
            for line in result.stdout.splitlines()}
  (all_count, sequences, all_most), (capped_count, _, capped_most) = (
      counts['all'], counts['capped'])
  assert counts['fresh'] == counts['all']  # drawn per epoch by make_dataset
  assert capped_most == 5 and capped_count <= 5 * sequences
  assert all_most > 5 and all_count > 2 * capped_count


def test_limbs_takes_the_cymbals_of_another_window_and_keeps_the_rest():
  import numpy as np  # pylint: disable=g-import-not-at-top
  from drumvae import dataset  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(0)
  window, other = rng.random((2, 64, 9)) < 0.3
  cymbals = list(dataset.CYMBALS)
  rest = [c for c in range(9) if c not in cymbals]
  took_other = 0
  for _ in range(200):
    varied = dataset.augment_hits(window, other, ['limbs'], rng)
    assert np.array_equal(varied[:, rest], window[:, rest])
    from_other = np.array_equal(varied[:, cymbals], other[:, cymbals])
    assert from_other or np.array_equal(varied, window)
    took_other += from_other
  assert 70 < took_other < 130  # half the time


def test_thin_only_drops_hits_about_one_in_seven_when_applied():
  import numpy as np  # pylint: disable=g-import-not-at-top
  from drumvae import dataset  # pylint: disable=g-import-not-at-top
  rng = np.random.default_rng(1)
  window = rng.random((64, 9)) < 0.3
  kept = []
  for _ in range(400):
    varied = dataset.augment_hits(window, window, ['thin'], rng)
    assert not (varied & ~window).any()  # nothing added
    kept.append(varied.sum() / window.sum())
  kept = np.array(kept)
  assert 0.35 < np.mean(kept == 1) < 0.65  # untouched half the time
  assert abs(kept[kept < 1].mean() - (1 - dataset.THIN_RATE)) < 0.02


def test_augmented_batches_are_what_the_converter_would_make(tmp_path):
  """Real windows of dataset/grooves, varied: inputs and outputs still agree."""
  output = tmp_path / 'grooves.tfrecord'
  subprocess.run([sys.executable, os.path.join(REPO, 'make_tfrecord.py'),
                  f'--input_dir={os.path.join(REPO, "dataset", "grooves")}',
                  f'--output_file={output}'], check=True, capture_output=True)
  result = run_with_tensorflow(f'''
          converter = models.get_config('hierdec-drums_4bar_cpu').data_converter
          examples = dataset.convert_examples({str(output)!r}, converter, 'train', 'all')
          for inputs, outputs in zip(examples.inputs, examples.outputs):
            again = dataset.hits_to_tensors(inputs[:, :9], inputs.dtype, outputs.dtype)
            assert np.array_equal(again[0], inputs) and np.array_equal(again[1], outputs)
          originals = {{row.tobytes() for row in examples.inputs}}
          with tf.Graph().as_default():
            batch = tf.data.make_one_shot_iterator(dataset.make_dataset(
                examples, 16, True, seed=0, augment=('limbs', 'thin'))).get_next()
            with tf.Session() as session:
              batches = [session.run(batch) for _ in range(10)]
          new = 0
          for inputs, outputs, _, lengths in batches:
            assert inputs.dtype == bool and outputs.dtype == bool and (lengths == 64).all()
            assert (outputs.sum(-1) == 1).all()
            patterns = np.argmax(outputs, -1)
            assert np.array_equal(inputs[..., :9], (patterns[..., None] >> np.arange(9)) & 1 == 1)
            assert np.array_equal(inputs[..., 9], patterns == 0)
            new += sum(row.tobytes() not in originals for row in inputs)
          print('windows', len(examples), 'new rows', new, 'of', 160)
      ''')
  assert result.returncode == 0, result.stderr[-3000:]
  new = int(result.stdout.split('new rows')[1].split()[0])
  assert 40 < new < 160  # most varied, some as recorded
