"""Each script is a thin shell: its flags are its job's Options, with the same defaults."""
import dataclasses
import os
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

COMPARE_DEFAULTS = '''
import dataclasses, importlib, json, sys
sys.argv = [sys.argv[1]]
script = importlib.import_module(sys.argv[0])
from absl import flags
from drumvae import runtime
runtime.setup()
runtime.load_tensorflow()
job = importlib.import_module('drumvae.' + {job!r})
fields = dataclasses.fields(job.Options)
print(json.dumps({{field.name: [flags.FLAGS[field.name].default,
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
