"""Error handling shared by every script: one line on stderr and a non-zero exit.

Scripts raise `UserError` for anything the user can fix (a bad file, flag or
directory). `run()` prints it as `script.py: error: message` and exits 1.
Any other exception is a bug or an environment problem: it is printed as one
line too, with a hint to rerun with --verbose for the full traceback.
"""
import dataclasses
import os
import sys

from absl import app
from absl import flags

flags.DEFINE_bool(
    'verbose', False,
    'Show TensorFlow/Magenta logs and full Python tracebacks on errors.')

FLAGS = flags.FLAGS

# For flags that Magenta's music_vae_train also defines when it is imported
# (drumvae.training imports it): its definitions then replace ours instead of
# raising DuplicateFlagError, keeping a value the user set but replacing our
# default with Magenta's. Scripts therefore read `flag_values()` before.
SHARED_WITH_MAGENTA = {'allow_override': True}

EXIT_USER_ERROR = 1
EXIT_INTERNAL_ERROR = 3


class UserError(Exception):
  """A problem the user can fix; its message names the file or flag at fault."""


def _program_name():
  return os.path.basename(sys.argv[0]) or 'drumvae'


def error_line(message):
  """Prints `prog: error: message` to stderr."""
  print(f'{_program_name()}: error: {message}', file=sys.stderr, flush=True)


def warning_line(message):
  """Prints `prog: warning: message` to stderr."""
  print(f'{_program_name()}: warning: {message}', file=sys.stderr, flush=True)


def note_line(message):
  """Prints `prog: message` to stderr (stdout lists the files written)."""
  print(f'{_program_name()}: {message}', file=sys.stderr, flush=True)


def parse_flags(argv):
  """absl's flag parsing, with a bad flag reported as one `error:` line.

  absl prints `FATAL Flags parsing error: ...` and a usage hint on two or more
  lines instead.
  """
  try:
    return FLAGS(argv)
  except flags.Error as e:
    message = ' '.join(str(e).split())
    error_line(f'{message} (see --helpshort)')
    sys.exit(EXIT_USER_ERROR)


def flag_values():
  """{name: value} of every flag as parsed (before Magenta redefines any)."""
  return {name: FLAGS[name].value for name in FLAGS}


def options_from_flags(options_class, values=None):
  """An instance of the dataclass `options_class` from the flags of its fields' names.

  `values` (from `flag_values()`): the flags as they were read then.
  """
  values = flag_values() if values is None else values
  return options_class(**{field.name: values[field.name]
                          for field in dataclasses.fields(options_class)})


def run(main):
  """Like `absl.app.run(main)`, with one-line errors unless --verbose.

  Arguments that are not flags are refused before `main` runs.
  """

  def guarded_main(argv):
    try:
      if len(argv) > 1:
        raise UserError(f'unexpected arguments: {" ".join(argv[1:])}')
      return main(argv)
    except UserError as e:
      if FLAGS.verbose:
        raise
      error_line(str(e))
      sys.exit(EXIT_USER_ERROR)
    except KeyboardInterrupt:
      error_line('interrupted')
      sys.exit(130)
    except Exception as e:  # pylint: disable=broad-except
      if FLAGS.verbose:
        raise
      error_line(f'{type(e).__name__}: {e} (rerun with --verbose for the traceback)'
                 .replace('\n', ' '))
      sys.exit(EXIT_INTERNAL_ERROR)

  app.run(guarded_main, flags_parser=parse_flags)
