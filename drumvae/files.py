"""Writing output files safely: never half-written, never over an earlier file."""
import json
import os
import tempfile

from drumvae.cli import UserError


def write_new_file(path, write_fn):
  """Writes a new file at `path`, or at `stem_1.ext`, `stem_2.ext`... if taken.

  `write_fn(tmp_path)` writes the content to a temporary file in the same
  directory, which is then linked to the final name; `os.link` fails instead of
  replacing an existing file, so two runs can never overwrite each other.
  Returns the path written.
  """
  directory, name = os.path.split(path)
  stem, ext = os.path.splitext(name)
  fd, tmp_path = tempfile.mkstemp(dir=directory or '.', prefix=f'.{stem}-',
                                  suffix=ext)
  os.close(fd)
  try:
    write_fn(tmp_path)
    os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes it owner-only
    candidate, n = path, 0
    while True:
      try:
        os.link(tmp_path, candidate)
        return candidate
      except FileExistsError:
        n += 1
        candidate = os.path.join(directory, f'{stem}_{n}{ext}')
  finally:
    os.unlink(tmp_path)


def check_writable_dir(path, flag_name):
  """Creates directory `path` if needed; UserError naming --flag_name if no file can be made there.

  A test file is made rather than asking os.access, which says yes to root
  even where writes fail (/proc, read-only mounts).
  """
  try:
    os.makedirs(path, exist_ok=True)
    with tempfile.TemporaryFile(dir=path):
      pass
  except OSError as e:
    raise UserError(f'--{flag_name}={path}: cannot write there '
                    f'({e.strerror or e}); choose another directory') from None


def write_json(path, record):
  """Writes `record` as JSON, replacing `path` atomically (never half a file)."""
  directory = os.path.dirname(path) or '.'
  os.makedirs(directory, exist_ok=True)
  fd, tmp_path = tempfile.mkstemp(dir=directory, prefix='.tmp-', suffix='.json')
  with os.fdopen(fd, 'w') as f:
    json.dump(record, f, indent=2, sort_keys=True)
  os.chmod(tmp_path, 0o666 & ~_umask())  # mkstemp makes it owner-only
  os.replace(tmp_path, path)
  return path


def _umask():
  mask = os.umask(0)
  os.umask(mask)
  return mask
