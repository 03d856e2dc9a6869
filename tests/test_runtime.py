"""drumvae.runtime: importing the package changes nothing; each setting and patch does its job."""
import json
import os
import subprocess
import sys

import pytest

from drumvae import runtime
from conftest import REPO



def run_python(code, **env):
  result = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True, text=True,
                          env={**{k: v for k, v in os.environ.items()
                                  if k not in runtime.TENSORFLOW_ENVIRONMENT}, **env})
  assert result.returncode == 0, result.stderr[-3000:]
  return result.stdout


def test_importing_the_package_has_no_side_effects():
  state = json.loads(run_python(
      'import json, os, sys\n'
      'import mido.midifiles.midifiles as midifiles\n'
      'original_reader_message = midifiles.Message\n'
      'import drumvae\n'
      'from drumvae import cli, files, groove_metrics, midi, render, run_dirs, runtime\n'
      'print(json.dumps({"environment": sorted(set(os.environ) & set(runtime.TENSORFLOW_ENVIRONMENT)),\n'
      '                  "modules": sorted(m for m in ("tensorflow", "magenta", "fluidsynth")\n'
      '                                    if m in sys.modules),\n'
      '                  "mido_patched": midifiles.Message is not original_reader_message}))'))
  assert state == {'environment': [], 'modules': [], 'mido_patched': False}


def test_setup_sets_the_environment_but_keeps_what_the_user_set(monkeypatch):
  for name in runtime.TENSORFLOW_ENVIRONMENT:
    monkeypatch.delenv(name, raising=False)
  monkeypatch.setenv('TF_ENABLE_ONEDNN_OPTS', '0')
  runtime.set_environment()
  assert os.environ['TF_USE_LEGACY_KERAS'] == '1'
  assert os.environ['TF_CPP_MIN_LOG_LEVEL'] == '3'
  assert os.environ['TF_ENABLE_ONEDNN_OPTS'] == '0'
  runtime.set_environment(verbose=True)
  assert os.environ['TF_CPP_MIN_LOG_LEVEL'] == '0'


def test_training_runs_each_op_on_half_the_cores_unless_the_user_chose(monkeypatch):
  monkeypatch.delenv('TF_NUM_INTRAOP_THREADS', raising=False)
  assert (runtime.use_training_threads(cpus=8)
          == 'threads: 4 per op, of 8 usable (TF_NUM_INTRAOP_THREADS)')
  monkeypatch.delenv('TF_NUM_INTRAOP_THREADS')
  assert runtime.use_training_threads(cpus=1).startswith('threads: 1 per op')
  monkeypatch.setenv('TF_NUM_INTRAOP_THREADS', '3')
  assert runtime.use_training_threads(cpus=2).startswith('threads: 3 per op, of 2 usable')


def test_configs_refuse_to_load_before_setup():
  result = subprocess.run([sys.executable, '-c', 'import configs'], cwd=REPO,
                          capture_output=True, text=True,
                          env={k: v for k, v in os.environ.items() if k != 'TF_USE_LEGACY_KERAS'})
  assert result.returncode != 0
  assert 'call drumvae.runtime.setup() before importing configs' in result.stderr


def test_setup_keeps_tensorflow_quiet_and_stdout_clean():
  """TensorFlow's import notes (absl C++ log, before TF_CPP_MIN_LOG_LEVEL is read) and
  pyfluidsynth's "found at" line (printed with $CI set) are hidden; --verbose shows them."""
  code = ('from drumvae import runtime\nimport sys\n'
          'runtime.setup(verbose=sys.argv[1] == "1")\n'
          'runtime.load_tensorflow(verbose=sys.argv[1] == "1", fast_lstms=False)\nimport fluidsynth\n')
  quiet = subprocess.run([sys.executable, '-c', code, '0'], cwd=REPO, capture_output=True,
                         text=True, env={**os.environ, 'CI': '1'})
  loud = subprocess.run([sys.executable, '-c', code, '1'], cwd=REPO, capture_output=True,
                        text=True, env={**os.environ, 'CI': '1'})
  assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, '', '')
  assert 'oneDNN' in loud.stderr  # the note is there to hide


def test_notebook_helpers_and_sklearn_load_on_first_use_and_then_work():
  """Magenta's import no longer loads bokeh's plotting or scikit-learn; both load when used."""
  stdout = run_python(
      'import json, sys\n'
      'from drumvae import runtime\n'
      'runtime.setup()\n'
      'runtime.load_tensorflow()\n'
      'import configs\n'
      'from magenta.models.music_vae import TrainedModel\n'
      'loaded = sorted(m for m in ("bokeh.plotting", "sklearn") if m in sys.modules)\n'
      'import note_seq, numpy as np\n'
      'from tf_slim.losses import metric_learning\n'
      'from sklearn import mixture\n'
      'note_seq.play_sequence(note_seq.NoteSequence(), synth=lambda s, sample_rate: np.zeros(8))\n'
      'print(json.dumps({"loaded at start": loaded,\n'
      '                  "loaded at the player": "bokeh.plotting" in sys.modules,\n'
      '                  "rand score": metric_learning.metrics.adjusted_rand_score([0, 1], [0, 1]),\n'
      '                  "mixture": mixture.GaussianMixture(1).fit(np.eye(3)).n_components}))')
  assert json.loads(stdout.splitlines()[-1]) == {
      'loaded at start': [], 'loaded at the player': True, 'rand score': 1.0, 'mixture': 1}


def test_midi_reader_patch_reads_the_same_messages():
  messages = run_python(
      'import mido, sys\n'
      'from drumvae import runtime\n'
      'path = "dataset/grooves/funk_0_92bpm.mid"\n'
      'stock = [str(m) for track in mido.MidiFile(path).tracks for m in track]\n'
      'runtime.read_midi_bytes_once()\n'
      'ours = [str(m) for track in mido.MidiFile(path).tracks for m in track]\n'
      'import mido.midifiles.midifiles as midifiles\n'
      'print(midifiles.Message is not mido.Message, len(stock), stock == ours)')
  patched, count, same = messages.split()
  assert patched == 'True' and int(count) > 100 and same == 'True'


def test_installed_packages_are_those_the_patches_were_written_for():
  assert all(runtime.written_for_installed(package, 'test', speed_only=True)
             for package in runtime.WRITTEN_AGAINST)


def test_a_patch_for_another_version_says_so(monkeypatch, capsys):
  monkeypatch.setitem(runtime.WRITTEN_AGAINST, 'mido', '0.1')
  assert not runtime.written_for_installed('mido', 'the MIDI reading speed-up', speed_only=True)
  assert ('warning: the MIDI reading speed-up was written for mido 0.1, found 1.3.3: '
          'left out (speed only)') in capsys.readouterr().err


@pytest.mark.parametrize('enabled', [True, False])
def test_fast_lstms_switch_on_and_off(enabled):
  from magenta.contrib import rnn as contrib_rnn  # pylint: disable=g-import-not-at-top
  from magenta.models.music_vae import lstm_models  # pylint: disable=g-import-not-at-top
  from drumvae import fast_lstm  # pylint: disable=g-import-not-at-top
  try:
    runtime.use_fast_cpu_lstms(enabled)
    assert (contrib_rnn.LSTMBlockCell.call is fast_lstm.call_as_matmul) == enabled
    assert (lstm_models.BidirectionalLstmEncoder.encode
            is fast_lstm.encode_with_hoisted_input_products) == enabled
    assert (lstm_models.BaseLstmDecoder.build
            is fast_lstm.build_decoder_with_output_projection) == enabled
    # Without the fast LSTMs, no bfloat16: auto and an explicit request fall back.
    assert runtime.use_precision('bfloat16').startswith(
        'precision: bfloat16' if enabled else 'precision: float32 (--precision=bfloat16 needs')
  finally:
    runtime.use_fast_cpu_lstms()
    runtime.use_precision('float32')


def _conductor_keep_probs(is_training):
  """Input keep probabilities of a tiny hierarchical decoder's conductor cells."""
  import configs  # pylint: disable=g-import-not-at-top
  from drumvae import models  # pylint: disable=g-import-not-at-top
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  config = models.get_config('hierdec-drums_4bar_cpu', 'dec_rnn_size=[8,8]')
  with tf.Graph().as_default():
    decoder = config.model.decoder
    decoder.build(config.hparams, config.data_converter.output_depth, is_training)
    return [cell._input_keep_prob  # pylint: disable=protected-access
            for level in decoder._hier_cells for cell in level._cells]  # pylint: disable=protected-access


def test_conductor_dropout_is_on_in_training_only():
  runtime.load_tensorflow()
  assert _conductor_keep_probs(is_training=True) == [0.5, 0.5]  # the config's 0.5
  assert _conductor_keep_probs(is_training=False) == [1.0, 1.0]
  from magenta.models.music_vae import lstm_models  # pylint: disable=g-import-not-at-top
  build = lstm_models.HierarchicalLstmDecoder.build
  runtime.conductor_dropout_only_in_training()  # again: patches Magenta's build, once
  assert lstm_models.HierarchicalLstmDecoder.build.stock is build.stock
  try:
    lstm_models.HierarchicalLstmDecoder.build = build.stock  # Magenta's own: dropout kept
    assert _conductor_keep_probs(is_training=False) == [0.5, 0.5]
  finally:
    lstm_models.HierarchicalLstmDecoder.build = build
