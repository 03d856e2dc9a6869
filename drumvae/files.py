"""Writing output files safely: never half-written, never over an earlier file."""
import os
import tempfile


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


def write_json(path, record):
  """Writes `record` as JSON, replacing `path` atomically (never half a file)."""
  import json  # pylint: disable=g-import-not-at-top
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
