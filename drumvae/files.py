"""Writing output files safely: never half-written; new files never over an earlier one."""
import contextlib
import fcntl
import json
import os
import sys
import tempfile

from drumvae import cli
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


@contextlib.contextmanager
def held_lock(lock_path, refusal, remove=False):
  """Holds an exclusive lock on `lock_path` (created if missing) while inside.

  If another process holds it, raises UserError(refusal(holder)), where
  holder names that process (the script and its pid, which each holder
  writes into the file). The kernel releases the lock when its process ends,
  however it ends, so a killed holder never leaves it taken. `remove` deletes
  the file on the way out (still locked): for locks beside a user's files,
  at the cost of a narrow race with a process that opened it just then.
  """
  fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
  try:
    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
  except BlockingIOError:
    holder = os.read(fd, 200).decode(errors='replace').strip() or 'another process'
    os.close(fd)
    raise UserError(refusal(holder)) from None
  os.ftruncate(fd, 0)
  os.write(fd, f'{os.path.basename(sys.argv[0]) or "python"} (pid {os.getpid()})'.encode())
  try:
    yield
  finally:
    if remove:
      os.unlink(lock_path)
    os.close(fd)


@contextlib.contextmanager
def outputs_locked(paths, flag_name):
  """One writer at a time for `paths` (a `.NAME.lock` beside each); says which
  earlier outputs will be replaced. UserError naming --flag_name if taken."""
  with contextlib.ExitStack() as stack:
    for path in paths:
      directory, name = os.path.split(path)
      try:
        os.makedirs(directory or '.', exist_ok=True)
        stack.enter_context(held_lock(
            os.path.join(directory, f'.{name}.lock'),
            lambda holder, path=path: f'--{flag_name}: {path} is being written by '
                                      f'{holder}; wait for it, or choose another',
            remove=True))
      except OSError as e:
        raise UserError(f'--{flag_name}: cannot write {path}: {e.strerror}') from None
    for path in paths:
      if os.path.isfile(path):
        cli.note_line(f'{path} exists: it is replaced once the new one is complete')
    yield


def write_json(path, record):
  """Writes `record` as JSON, replacing `path` atomically (never half a file)."""
  with replaced_atomically([path]) as temp_paths, open(temp_paths[path], 'w') as f:
    json.dump(record, f, indent=2, sort_keys=True)
  return path


def _umask():
  mask = os.umask(0)
  os.umask(mask)
  return mask
