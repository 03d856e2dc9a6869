"""Shared fixtures: where the repository and the Groove MIDI Dataset are."""
import os
import pathlib

import pytest

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent


@pytest.fixture(scope='session')
def groove_dir() -> pathlib.Path:
  """The Groove MIDI Dataset: $GROOVE_DIR, else ../shared/data/groove beside the repo."""
  path = pathlib.Path(os.environ.get('GROOVE_DIR', REPO_ROOT.parent / 'shared' / 'data' / 'groove'))
  if not (path / 'info.csv').is_file():
    pytest.fail(f'Groove MIDI Dataset not found: {path} has no info.csv; '
                'set GROOVE_DIR to the directory holding info.csv and drummer*/', pytrace=False)
  return path
