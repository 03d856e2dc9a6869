"""Each script is a thin shell: its flags are its job's Options, with the same defaults."""
import subprocess
import sys

import pytest
from conftest import REPO, TINY_HPARAMS


COMPARE_DEFAULTS = '''
import dataclasses, importlib, json, sys
sys.argv = [sys.argv[1]]
script = importlib.import_module(sys.argv[0])
from absl import flags
script_defaults = {{name: flags.FLAGS[name].default for name in flags.FLAGS}}
from drumvae import runtime
runtime.setup()
runtime.load_tensorflow()
job = importlib.import_module('drumvae.' + {job!r})  # may redefine shared flags
fields = dataclasses.fields(job.Options)
print(json.dumps({{field.name: [script_defaults[field.name],
                   None if field.default is dataclasses.MISSING else field.default]
                  for field in fields}}))
'''


@pytest.mark.parametrize('script, job', [('train', 'training'), ('generate', 'generation'),
                                         ('make_tfrecord', 'conversion')])
def test_every_option_is_a_flag_with_the_same_default(script, job):
  import json  # pylint: disable=g-import-not-at-top
  result = subprocess.run([sys.executable, '-c', COMPARE_DEFAULTS.format(job=job), script],
                          cwd=REPO, capture_output=True, text=True)
  assert result.returncode == 0, result.stderr[-3000:]
  defaults = json.loads(result.stdout.strip().splitlines()[-1])
  different = {name: pair for name, pair in defaults.items()
               if pair[1] is not None and pair[0] != pair[1]}
  assert not different, different  # {option: [flag default, Options default]}
  assert len(defaults) >= 5


@pytest.mark.parametrize('script', ['train.py', 'generate.py', 'make_tfrecord.py',
                                    'render_midi.py', 'compare_runs.py', 'export_model.py'])
def test_help_is_instant_and_imports_no_tensorflow(script):
  code = (f'import runpy, sys\nsys.argv = [{script!r}, "--help"]\n'
          'try:\n  runpy.run_path(sys.argv[0], run_name="__main__")\n'
          'except SystemExit:\n  pass\n'
          'print("tensorflow" in sys.modules, "magenta" in sys.modules)')
  result = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True, text=True)
  assert result.stdout.strip().splitlines()[-1] == 'False False', result.stderr[-2000:]


def test_a_changed_default_of_train_py_is_the_one_that_runs(tmp_path, dataset_tfrecord):
  """Magenta redefines the flags it shares with train.py when it is imported; a
  default set in train.py must still be the one its run uses."""
  source = (REPO / 'train.py').read_text()
  changed = source.replace("'num_steps', 200000,", "'num_steps', 2,")
  assert changed != source
  script = tmp_path / 'train.py'
  script.write_text(changed)
  result = subprocess.run(  # Magenta's default, 200000 steps, would run past the timeout
      [sys.executable, str(script), '--config=flat-drums_4bar', f'--hparams={TINY_HPARAMS}',
       f'--run_dir={tmp_path / "run"}', f'--examples_path={dataset_tfrecord}',
       '--progress_secs=0'], capture_output=True, text=True, timeout=300, cwd=REPO)
  assert result.returncode == 0, result.stderr[-3000:]
  assert 'step 2/2' in result.stdout, result.stdout[-2000:]
