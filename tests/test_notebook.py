"""4bar_drums.ipynb runs top to bottom, headless, with its default settings.

The kernel is this interpreter (the venv's ipykernel), from a kernelspec made
in tmp_path, so no user-level or venv-level kernelspec is needed. The notebook
writes its run and outputs under $DRUMVAE_NOTEBOOK_OUT, pointed at tmp_path.
"""
import base64
import io
import json
import os
import re
import sys
import wave

import nbformat
import pytest
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from conftest import REPO

NOTEBOOK = REPO / '4bar_drums.ipynb'
# Saved outputs embed PNGs and WAVs; beyond this the repository bloats.
MAX_NOTEBOOK_BYTES = 4_700_000  # as saved: 4.5 MB, 4.0 of it 11 kHz players (117 s of audio)
AUDIO_SRC = re.compile(r'src="data:audio/wav;base64,([A-Za-z0-9+/=\s]+)"')


def settings(notebook):
  """NUM_SAMPLES, NUM_INTERPOLATION_STEPS, NUM_VARIATIONS, NUM_STEPS of the settings cell."""
  source = next(cell.source for cell in notebook.cells
                if cell.cell_type == 'code' and 'NUM_STEPS =' in cell.source)
  return {name: int(re.search(rf'^{name} = (\d+)', source, re.M).group(1))
          for name in ('NUM_SAMPLES', 'NUM_INTERPOLATION_STEPS', 'NUM_VARIATIONS', 'NUM_STEPS')}


def outputs(notebook):
  return [output for cell in notebook.cells if cell.cell_type == 'code'
          for output in cell.get('outputs', [])]


def pngs(notebook):
  return [base64.b64decode(output.data['image/png']) for output in outputs(notebook)
          if 'image/png' in output.get('data', {})]


def wavs(notebook):
  """The WAV files embedded in the notebook's <audio> players."""
  found = []
  for output in outputs(notebook):
    html = output.get('data', {}).get('text/html', '')
    if '<audio' in html:
      found += [base64.b64decode(b64) for b64 in AUDIO_SRC.findall(html)]
  return found


def wav_seconds(data):
  with wave.open(io.BytesIO(data)) as wav:
    return wav.getnframes() / wav.getframerate()


def stream_text(notebook):
  return ''.join(output.get('text', '') for output in outputs(notebook)
                 if output.output_type == 'stream')


def venv_kernel_manager(tmp_path):
  """A kernel manager for this interpreter's ipykernel, via a kernelspec in tmp_path."""
  spec_dir = tmp_path / 'kernels' / 'drumvae-test'
  spec_dir.mkdir(parents=True)
  (spec_dir / 'kernel.json').write_text(json.dumps({
      'argv': [sys.executable, '-m', 'ipykernel_launcher', '-f', '{connection_file}'],
      'display_name': 'drumvae test', 'language': 'python'}))
  specs = KernelSpecManager(kernel_dirs=[str(tmp_path / 'kernels')],
                            ensure_native_kernel=False)
  return AsyncKernelManager(kernel_name='drumvae-test', kernel_spec_manager=specs)


def repo_outputs():
  """What the notebook would write in the repository by default."""
  return {str(path) for top in ('runs/notebook', 'samples/notebook')
          for path in (REPO / top).glob('*')}


@pytest.fixture(scope='module')
def executed(tmp_path_factory):
  """The notebook after a headless run, and the directory its outputs went to."""
  tmp_path = tmp_path_factory.mktemp('notebook')
  out = tmp_path / 'out'
  env = {'DRUMVAE_NOTEBOOK_OUT': str(out),
         # Connection files and IPython's history go here, not under $HOME.
         'JUPYTER_RUNTIME_DIR': str(tmp_path / 'runtime'),
         'IPYTHONDIR': str(tmp_path / 'ipython')}
  saved = {name: os.environ.get(name) for name in env}
  os.environ.update(env)  # the kernel inherits this process's environment
  before = repo_outputs()
  notebook = nbformat.read(NOTEBOOK, as_version=4)
  try:
    NotebookClient(notebook, km=venv_kernel_manager(tmp_path), timeout=600,
                   resources={'metadata': {'path': str(REPO)}}).execute()
  finally:
    for name, value in saved.items():
      if value is None:
        os.environ.pop(name, None)
      else:
        os.environ[name] = value
  return notebook, out, before


def test_every_cell_ran_without_error(executed):
  notebook, _, _ = executed
  code_cells = [cell for cell in notebook.cells if cell.cell_type == 'code']
  assert all(cell.execution_count for cell in code_cells)
  errors = [output for output in outputs(notebook) if output.output_type == 'error']
  assert not errors, errors[0]['evalue'] if errors else ''


def test_training_reached_num_steps(executed):
  notebook, out, _ = executed
  num_steps = settings(notebook)['NUM_STEPS']
  assert f'step {num_steps}/{num_steps}' in stream_text(notebook)
  checkpoints = list(out.glob(f'runs/notebook/*/train/model.ckpt-{num_steps}.index'))
  assert len(checkpoints) == 1, checkpoints


def test_drum_grids_shown_inline(executed):
  notebook, _, _ = executed
  counts = settings(notebook)
  images = pngs(notebook)
  # One grid per sample, one per interpolation end, one stacked interpolation,
  # one stack of a groove and its variations, one before and after humanizing.
  assert len(images) == counts['NUM_SAMPLES'] + 2 + 1 + 1 + 1
  assert all(image.startswith(b'\x89PNG\r\n\x1a\n') for image in images)


def test_audio_players_shown_inline(executed):
  notebook, _, _ = executed
  counts = settings(notebook)
  players = wavs(notebook)
  # Each sample, then the morph, the variations, and A before and after humanizing.
  assert len(players) == counts['NUM_SAMPLES'] + 1 + 1 + 1
  # A 4-bar sample at 120 qpm is 8 s; the morph, the variations and A play at
  # the first input's tempo (slower here), every groove for 4 bars.
  assert all(wav_seconds(data) >= 8 for data in players[:-3])
  assert wav_seconds(players[-3]) >= 8 * counts['NUM_INTERPOLATION_STEPS']
  assert wav_seconds(players[-2]) >= 8 * counts['NUM_VARIATIONS']
  assert wav_seconds(players[-1]) >= 8 * 2


def test_outputs_only_under_the_given_directory(executed):
  notebook, out, before = executed
  counts = settings(notebook)
  midi = list(out.glob('samples/notebook/*/*.mid'))
  # Each sample, each morph step, each variation, and A humanized.
  assert len(midi) == (counts['NUM_SAMPLES'] + counts['NUM_INTERPOLATION_STEPS'] +
                       counts['NUM_VARIATIONS'] + 1)
  assert repo_outputs() == before


def test_player_lasts_four_bars_even_for_silence():
  import note_seq  # pylint: disable=g-import-not-at-top
  from drumvae import notebook  # pylint: disable=g-import-not-at-top
  silence = note_seq.NoteSequence(ticks_per_quarter=220)
  silence.tempos.add(qpm=120)  # 4 bars of 4/4 = 8 s
  hit = note_seq.NoteSequence(ticks_per_quarter=220)
  hit.tempos.add(qpm=120)
  hit.notes.add(pitch=36, velocity=100, start_time=0, end_time=0.1, is_drum=True)
  hit.total_time = 0.1
  tail = 1.0  # drumvae.audio.RELEASE_TAIL_SECONDS, kept only at the very end
  assert wav_seconds(notebook.player(silence).data) == pytest.approx(8 + tail)
  assert wav_seconds(notebook.player([hit, silence]).data) == pytest.approx(16 + tail)


def test_committed_notebook_keeps_its_outputs():
  """The notebook in the repository shows pictures and players before anyone runs it."""
  assert NOTEBOOK.stat().st_size < MAX_NOTEBOOK_BYTES
  notebook = nbformat.read(NOTEBOOK, as_version=4)
  assert pngs(notebook)
  assert wavs(notebook)
  assert not [output for output in outputs(notebook) if output.output_type == 'error']
