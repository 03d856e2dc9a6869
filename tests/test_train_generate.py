"""End to end: the project's own drum MIDI -> tfrecord -> a few training steps -> MIDI out.

Every script runs as a user runs it (a subprocess); models use tiny --hparams. Core tier:
dataset/grooves only, no Groove download. (hierdec-drums_4bar_large with tiny hparams
would be the small model again: tests/test_configs.py checks its sizes.)
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys

import pretty_midi
import pytest

from note_seq import drums_encoder_decoder

from drumvae import midi_corpus
from conftest import REPO, TINY_HPARAMS

# The pitch DrumsConverter writes for each of its 9 drum classes.
DRUM_CLASS_PITCHES = {
    pitches[0] for pitches in drums_encoder_decoder.DEFAULT_DRUM_TYPE_PITCHES}
CONFIGS = ['flat-drums_4bar', 'hierdec-drums_4bar_small']
# Each config trains in one precision and samples in the other: checkpoints are
# the same either way (on a CPU without native bfloat16 it is emulated).
TRAIN_PRECISION = {'flat-drums_4bar': 'float32', 'hierdec-drums_4bar_small': 'bfloat16'}
OTHER_PRECISION = {'float32': 'bfloat16', 'bfloat16': 'float32'}
# One config trains on varied windows (--augment): the data line says so.
AUGMENT = {'flat-drums_4bar': ['--augment=limbs', '--augment=thin'],
           'hierdec-drums_4bar_small': []}
PRECISION_LINE = {'float32': 'precision: float32 (--precision=float32)',
                  'bfloat16': 'precision: bfloat16 products, float32 weights (--precision=bfloat16'}
GROOVES = os.path.join(REPO, 'dataset', 'grooves')
LONG_GROOVE = os.path.join(GROOVES, 'funk_1_100bpm.mid')  # a whole performance, 8+ bars
SHORT_GROOVE = os.path.join(GROOVES, 'bossa_0_124bpm.mid')


def run_script(script, *args):
  # With $CI set, pyfluidsynth prints to stdout on import; stdout must stay the list of files.
  result = subprocess.run([sys.executable, os.path.join(REPO, script), *args],
                          capture_output=True, text=True, cwd=REPO, env={**os.environ, 'CI': '1'})
  assert 'Traceback' not in result.stderr, result.stderr[-3000:]
  return result


def checkpoint_steps(run_dir):
  train_dir = os.path.join(run_dir, 'train')
  return sorted(int(name.split('-')[1].split('.')[0])
                for name in os.listdir(train_dir) if name.endswith('.index'))


@pytest.fixture(scope='module')
def examples_path(tmp_path_factory):
  """A tfrecord of dataset/grooves' 54 performances, made by make_tfrecord.py."""
  output = tmp_path_factory.mktemp('data') / 'grooves.tfrecord'
  result = run_script('make_tfrecord.py', f'--input_dir={GROOVES}',
                      f'--output_file={output}')
  assert result.returncode == 0, result.stderr
  return str(output)


@pytest.fixture(scope='module')
def trained_runs(examples_path, tmp_path_factory):
  """Each config trained for 2 steps in TRAIN_PRECISION; returns {config: (run_dir, stdout)}."""
  runs = {}
  for config in CONFIGS:
    run_dir = str(tmp_path_factory.mktemp(config))
    result = run_script('train.py', f'--config={config}', f'--run_dir={run_dir}',
                        f'--examples_path={examples_path}', '--num_steps=2',
                        f'--hparams={TINY_HPARAMS}', '--progress_secs=0',
                        f'--precision={TRAIN_PRECISION[config]}', *AUGMENT[config])
    assert result.returncode == 0, result.stderr[-3000:]
    runs[config] = run_dir, result.stdout
  return runs


@pytest.mark.parametrize('config', CONFIGS)
def test_train_writes_checkpoint_and_records_settings(trained_runs, config):
  run_dir, stdout = trained_runs[config]
  assert checkpoint_steps(run_dir)[-1] == 2
  assert 'step 2/2  loss ' in stdout
  assert PRECISION_LINE[TRAIN_PRECISION[config]] in stdout
  intra_op_threads = os.environ.get('TF_NUM_INTRAOP_THREADS') or max(
      1, midi_corpus.available_cpus() // 2)
  assert f'threads: {intra_op_threads} per op, of ' in stdout
  assert ('windows, augmented: limbs+thin) from' in stdout) == bool(AUGMENT[config])
  with open(os.path.join(run_dir, 'run.json')) as f:
    recorded = json.load(f)
  assert recorded['config'] == config
  assert recorded['hparams'] == TINY_HPARAMS
  assert recorded['resolved_hparams']['batch_size'] == 4


def test_rerun_resumes_from_last_checkpoint(trained_runs, examples_path):
  run_dir, _ = trained_runs['hierdec-drums_4bar_small']
  # No --config or --hparams: both come from RUN_DIR/run.json.
  result = run_script('train.py', f'--run_dir={run_dir}',
                      f'--examples_path={examples_path}', '--num_steps=3',
                      '--progress_secs=0')
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'step 3/3' in result.stdout
  assert 'step 1/3' not in result.stdout  # did not start over
  assert checkpoint_steps(run_dir)[-1] == 3


def assert_4bar_drum_midi(path):
  midi = pretty_midi.PrettyMIDI(path)
  _, tempi = midi.get_tempo_changes()
  bar_seconds = 4 * 60.0 / tempi[0]
  notes = [n for instrument in midi.instruments for n in instrument.notes]
  assert notes, f'{path} has no notes'
  assert all(instrument.is_drum for instrument in midi.instruments)
  assert {n.pitch for n in notes} <= DRUM_CLASS_PITCHES
  assert max(n.start for n in notes) < 4 * bar_seconds
  assert midi.get_end_time() <= 4 * bar_seconds + 1e-3


@pytest.mark.parametrize('config', ['flat-drums_4bar', 'hierdec-drums_4bar'])
def test_sample_writes_4bar_drum_midi(trained_runs, tmp_path, config):
  """The tutorial's name hierdec-drums_4bar is an alias of the small run's config.
  Each samples in the precision it did not train in."""
  trained = 'hierdec-drums_4bar_small' if config.startswith('hierdec') else config
  run_dir, _ = trained_runs[trained]
  precision = OTHER_PRECISION[TRAIN_PRECISION[trained]]
  result = run_script('generate.py', f'--run_dir={run_dir}', f'--config={config}',
                      '--mode=sample', '--num_outputs=3', f'--output_dir={tmp_path}',
                      '--temperature=1.0', f'--precision={precision}')
  assert result.returncode == 0, result.stderr[-3000:]
  assert PRECISION_LINE[precision] in result.stderr
  paths = result.stdout.split()
  assert len(paths) == 3 and sorted(os.listdir(tmp_path)) == sorted(
      os.path.basename(p) for p in paths)
  for path in paths:
    assert_4bar_drum_midi(path)


def test_interpolate_cuts_whole_performance_to_4_bars(trained_runs, tmp_path):
  run_dir, _ = trained_runs['flat-drums_4bar']
  args = [f'--run_dir={run_dir}', '--mode=interpolate', '--num_outputs=4',
          f'--input_midi_1={LONG_GROOVE}', '--start_bar_1=5',
          f'--input_midi_2={SHORT_GROOVE}', f'--output_dir={tmp_path}']
  first = run_script('generate.py', *args)
  assert first.returncode == 0, first.stderr[-3000:]
  second = run_script('generate.py', *args)  # same second: new names
  assert second.returncode == 0, second.stderr[-3000:]
  paths = first.stdout.split() + second.stdout.split()
  assert len(set(paths)) == 8 and len(os.listdir(tmp_path)) == 8
  for path in paths:
    assert_4bar_drum_midi(path)


def test_start_bar_past_the_end_is_one_line_error(trained_runs, tmp_path):
  run_dir, _ = trained_runs['flat-drums_4bar']
  result = run_script('generate.py', f'--run_dir={run_dir}',
                      '--mode=interpolate', f'--input_midi_1={LONG_GROOVE}',
                      f'--input_midi_2={LONG_GROOVE}', '--start_bar_2=999',
                      f'--output_dir={tmp_path}')
  assert result.returncode == 1
  assert result.stderr.strip().splitlines()[-1].startswith(
      'generate.py: error: --input_midi_2=')
  assert 'choose another start bar' in result.stderr
  assert os.listdir(tmp_path) == []


@pytest.fixture(scope='module')
def evaluated_run(trained_runs, examples_path):
  """The hierdec small run, evaluated once on every window; (run_dir, stdout)."""
  run_dir, _ = trained_runs['hierdec-drums_4bar_small']
  result = run_script('train.py', '--mode=eval', f'--run_dir={run_dir}',
                      f'--examples_path={examples_path}', '--eval_samples=40',
                      '--eval_interpolations=3', '--seed=0')
  assert result.returncode == 0, result.stderr[-3000:]
  return run_dir, result.stdout


def test_eval_runs_once_on_every_window_and_writes_sane_metrics(
    evaluated_run, trained_runs):
  run_dir, stdout = evaluated_run
  config = 'hierdec-drums_4bar_small'
  with open(os.path.join(run_dir, 'eval', 'metrics.json')) as f:
    metrics = json.load(f)
  assert metrics['config'] == config
  assert metrics['global_step'] == checkpoint_steps(run_dir)[-1]
  # Every distinct window, as training (--windows=all) converted them; the
  # count is not a multiple of the batch size 4, so no remainder is dropped.
  num_windows = int(re.search(r'(\d+) 4-bar examples \(all windows\)',
                              trained_runs[config][1]).group(1))
  assert metrics['num_examples'] == num_windows and num_windows % 4
  assert metrics['checkpoint'].endswith(f'model.ckpt-{metrics["global_step"]}')
  for name in ('reconstruction_accuracy_teacher_forced',
               'reconstruction_accuracy_sampled'):
    assert 0.0 <= metrics[name] <= 1.0
  # An untrained 512-way decoder: loss near 64 steps x ln(512) = 399 nats.
  assert 300 < metrics['loss'] < 500
  assert metrics['kl_divergence_bits'] >= 0
  # A step is wrong when at least one drum class is, so the drums' error
  # rates bound the wrong steps from both sides.
  errors = metrics['reconstruction_drum_errors_sampled']
  assert set(errors) == {'kick', 'snare', 'closed_hi_hat', 'open_hi_hat',
                         'low_tom', 'mid_tom', 'high_tom', 'crash', 'ride'}
  wrong_steps = 1 - metrics['reconstruction_accuracy_sampled']
  assert max(errors.values()) <= wrong_steps + 1e-9 <= sum(errors.values()) + 2e-9
  assert 'reconstruction_accuracy_sampled' in stdout
  # TensorBoard's eval summaries at the checkpoint's step, without a copy of the graph.
  import tensorflow as tf  # pylint: disable=g-import-not-at-top  (slow import)
  events = glob.glob(os.path.join(run_dir, 'eval', 'events.out.tfevents.*'))
  assert events and sum(os.path.getsize(path) for path in events) < 100_000
  tags = {(event.step, value.tag) for path in events
          for event in tf.compat.v1.train.summary_iterator(path)
          for value in event.summary.value}
  assert (metrics['global_step'], 'metrics/accuracy') in tags


def test_eval_musical_measures_tell_an_untrained_model_from_the_data(
    evaluated_run):
  run_dir, stdout = evaluated_run
  with open(os.path.join(run_dir, 'eval', 'metrics.json')) as f:
    metrics = json.load(f)
  samples, data = metrics['samples'], metrics['data']
  assert samples['num_grooves'] == data['num_grooves'] == 40
  assert 0 <= samples['empty_share'] <= 1 and data['empty_share'] == 0
  # Two training steps: hits near random, far from the data's profile.
  assert data['profile_distance'] < 0.06
  assert samples['profile_distance'] > 2 * data['profile_distance']
  assert samples['notes_per_bar'] > 2 * data['notes_per_bar']
  assert samples['in_data_range'] < 0.5 <= data['in_data_range']
  # Random hits are no copy of any training window; a run dir without an
  # exported prior samples from N(0, I).
  assert samples['near_copies'] == 0 and samples['latent_prior'] == 'normal'
  assert 0 <= samples['snare_rolls'] <= 1
  interpolations = metrics['interpolations']
  assert interpolations['num_interpolations'] == 3
  assert 0 <= interpolations['endpoint_accuracy'] <= 1
  low, high = interpolations['data_notes_per_bar_range']
  assert 0 < low < data['notes_per_bar'] < high
  assert 'samples.profile_distance' in stdout


def test_compare_runs_table_and_loss_picture(evaluated_run, tmp_path):
  small, _ = evaluated_run
  # A second evaluated run, without another subprocess: a copy of the first.
  shutil.copytree(small, tmp_path / 'copy')
  png = tmp_path / 'loss.png'
  result = run_script('compare_runs.py', f'--run_dirs={small},{tmp_path / "copy"}',
                      f'--output_png={png}')
  assert result.returncode == 0, result.stderr[-3000:]
  rows = [line for line in result.stdout.splitlines() if line.startswith('|')]
  assert len(rows) == 4  # heading, rule, one row per run
  assert all('| hierdec-drums_4bar_small |' in row for row in rows[2:])
  assert png.read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'


def test_compare_runs_without_eval_is_one_line_error(trained_runs):
  run_dir, _ = trained_runs['flat-drums_4bar']
  result = run_script('compare_runs.py', f'--run_dirs={run_dir}')
  assert result.returncode == 1
  assert result.stderr.strip().endswith(
      f'run train.py --mode=eval --run_dir={run_dir} first')


def test_export_keeps_the_weights_without_optimizer_state(trained_runs, tmp_path):
  run_dir, _ = trained_runs['flat-drums_4bar']
  exported = tmp_path / 'exported'
  result = run_script('export_model.py', f'--run_dir={run_dir}',
                      f'--output_dir={exported}')
  assert result.returncode == 0, result.stderr[-3000:]
  step = checkpoint_steps(run_dir)[-1]
  assert result.stdout.split() == [str(exported / 'train' / f'model.ckpt-{step}')]
  size = lambda d, prefix: sum(os.path.getsize(os.path.join(d, n))
                               for n in os.listdir(d) if n.startswith(prefix))
  # Adam keeps two moments per weight: the weights alone are a third.
  original = size(os.path.join(run_dir, 'train'), f'model.ckpt-{step}.data')
  assert size(exported / 'train', f'model.ckpt-{step}.data') < 0.4 * original
  assert not list((exported / 'train').glob('*.meta'))
  # The export fits the latent prior to the run's training windows; samples use it.
  num_windows = int(re.search(r'(\d+) 4-bar examples \(all windows',
                              trained_runs['flat-drums_4bar'][1]).group(1))
  samples = run_script('generate.py', f'--run_dir={exported}', '--num_outputs=2',
                       f'--output_dir={tmp_path / "samples"}')
  assert samples.returncode == 0, samples.stderr[-3000:]
  assert len(samples.stdout.split()) == 2
  assert (f"z from the 10 Gaussians fitted to {num_windows} training windows' codes"
          in samples.stderr)
  assert (exported / 'latent_prior.npz').is_file()
  again = run_script('export_model.py', f'--run_dir={run_dir}',
                     f'--output_dir={exported}')
  assert again.returncode == 1
  assert again.stderr.strip().splitlines()[-1] == (
      f'export_model.py: error: --output_dir={exported} exists; choose a new one')


def test_refinement_fits_a_tiny_models_codes_to_its_training_windows(trained_runs, examples_path):
  """In-process: refined codes reconstruct their windows better than the encoder's means.

  Two training steps leave a decoder that plays about the same whatever z is,
  so the measure is the teacher-forced loss that refinement lowers; the
  shipped model's tests check the decoded grooves.
  """
  import numpy as np  # pylint: disable=g-import-not-at-top
  from drumvae import runtime  # pylint: disable=g-import-not-at-top
  runtime.load_tensorflow()
  import configs  # pylint: disable=g-import-not-at-top
  from drumvae import models  # pylint: disable=g-import-not-at-top
  from drumvae import dataset, evaluation, groove_metrics, run_dirs  # pylint: disable=g-import-not-at-top,g-multiple-import
  for config_name in CONFIGS:  # a flat decoder and a hierarchical one
    run_dir, _ = trained_runs[config_name]
    _, _, config = models.config_for_run(run_dir)
    windows = dataset.convert_examples(examples_path, config.data_converter, 'eval').head(6)
    model = models.load_model(config, run_dirs.latest_checkpoint(run_dir), 4, run_dir)
    mu = evaluation.encode(model, windows)
    z = model.refine(windows.outputs, windows.lengths, mu, 50)
    before = model.reconstruction_loss(windows.outputs, windows.lengths, mu)
    after = model.reconstruction_loss(windows.outputs, windows.lengths, z)
    # Lower for every window (after 2 steps the hierarchical decoder hardly
    # listens to z yet: seen 0.007 nats of 399; the flat one: several nats).
    assert np.all(after < before), (config_name, before, after)
    # steps=0 is the plain encode; decoded nearest, no worse than greedily.
    np.testing.assert_array_equal(model.refine(windows.outputs, windows.lengths, mu, 0), mu)
    targets = groove_metrics.patterns(windows.outputs)
    greedy = groove_metrics.step_accuracy(
        evaluation.decode(model, config, z, evaluation.SAMPLED_TEMPERATURE), targets)
    nearest = groove_metrics.step_accuracy(
        groove_metrics.patterns(model.decode_nearest(z, windows.outputs)), targets)
    assert nearest >= greedy, (config_name, nearest, greedy)
