"""Writing output files safely: never half-written; new files never over an earlier one."""
import contextlib
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


def write_output(path, write_fn):
  """`write_new_file` for a script's output: prints the path written (the scripts'
  stdout lists their outputs); UserError naming the path if it cannot be written."""
  try:
    path = write_new_file(path, write_fn)
  except OSError as e:
    raise UserError(f'{path}: cannot write it ({e.strerror or e})') from None
  print(path, flush=True)
  return path


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


@contextlib.contextmanager
def replaced_atomically(paths, flag_name=''):
  """Yields {path: a temporary path beside it}, each file already created.

  On success each temporary file replaces its path at once (os.replace); on
  failure all are deleted and the paths are left as they were, so no reader
  ever sees half a file. An output that cannot be written is a UserError,
  naming --flag_name if given.
  """
  prefix = f'--{flag_name}: ' if flag_name else ''
  temp_paths = {}
  try:
    for path in paths:
      directory, name = os.path.split(path)
      temp_paths[path] = os.path.join(directory, f'.{name}.{os.getpid()}.partial')
      if os.path.isdir(path):
        raise UserError(f'{prefix}{path} is a directory')
      try:
        os.makedirs(directory or '.', exist_ok=True)
        with open(temp_paths[path], 'wb'):
          pass
      except OSError as e:
        raise UserError(f'{prefix}cannot write {path}: {e.strerror}') from e
    yield temp_paths
    for path, temp_path in temp_paths.items():
      os.replace(temp_path, path)
  finally:
    for temp_path in temp_paths.values():
      if os.path.exists(temp_path):
        os.remove(temp_path)


def write_json(path, record):
  """Writes `record` as JSON, replacing `path` atomically (never half a file)."""
  with replaced_atomically([path]) as temp_paths, open(temp_paths[path], 'w') as f:
    json.dump(record, f, indent=2, sort_keys=True)
  return path


def _umask():
  mask = os.umask(0)
  os.umask(mask)
  return mask
