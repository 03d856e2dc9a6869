"""make_tfrecord.py's job: a directory of MIDI files -> TFRecord files of NoteSequences.

`convert(Options(...))` does what `make_tfrecord.py` does with the same flags
and returns a `ConversionSummary`. Files are converted in worker processes
that import only `drumvae.midi` and note_seq, not TensorFlow.
"""
from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import csv
import dataclasses
import functools
import itertools
import multiprocessing
import os
import re
import sys
import time
from typing import Iterable, Iterator, Optional

from drumvae import cli
from drumvae import files
from drumvae import midi
from drumvae import runtime

import tensorflow as tf


@dataclasses.dataclass
class Options:
  """make_tfrecord.py's flags (same names, same defaults)."""
  input_dir: str
  output_file: str
  recursive: bool = False
  num_workers: Optional[int] = None  # default: the CPU cores this process may use
  split_csv: Optional[str] = None


def convert(options: Options) -> ConversionSummary:
  """`convert_directory` with `options`, '~' expanded."""
  expand = lambda path: path and os.path.expanduser(path)
  return convert_directory(expand(options.input_dir), expand(options.output_file),
                           options.recursive, options.num_workers,
                           expand(options.split_csv))


CHUNK_SIZE = 8  # Files per worker task: amortises IPC, keeps the last task short.
PROGRESS_EVERY = 100  # Files between progress lines: a few seconds apart.
NOT_IN_SPLIT_CSV = 'not listed in --split_csv'
ALL_FILES = ''  # The one "split" when there is no --split_csv.


@dataclasses.dataclass(frozen=True)
class ConversionSummary:
  """What `convert_directory` did."""
  midi_files: int  # Entries named *.mid or *.midi that were found.
  records_written: dict[str, int]  # Output path -> NoteSequences written to it.
  skipped: dict[str, list[str]]  # Reason -> relative paths of the files skipped.
  seconds: float

  @property
  def converted(self) -> int:
    return sum(self.records_written.values())

  @property
  def files_per_second(self) -> float:
    return self.midi_files / self.seconds

  def report(self) -> str:
    lines = [f'converted {self.converted} of {self.midi_files} MIDI files in '
             f'{self.seconds:.1f} s ({self.files_per_second:.1f} files/s)']
    lines += [f'wrote {count} NoteSequences to {path}'
              for path, count in self.records_written.items()]
    if self.skipped:
      lines.append(f'skipped {sum(map(len, self.skipped.values()))} files: '
                   + _count_by_reason(self.skipped))
    return '\n'.join(lines)


def convert_directory(input_dir: str, output_file: str, recursive: bool = False,
                      num_workers: Optional[int] = None,
                      split_csv: Optional[str] = None) -> ConversionSummary:
  """Converts the MIDI files in `input_dir` to NoteSequences in `output_file`.

  With `split_csv`, writes one file per split (see --split_csv). Raises
  cli.UserError, leaving existing outputs untouched, when there is nothing to
  convert, nothing was converted or an output cannot be written.
  """
  start = time.monotonic()
  input_dir = os.path.normpath(input_dir)
  relative_paths = find_midi_files(input_dir, recursive)
  split_by_file = read_splits(split_csv) if split_csv else None
  outputs = output_paths(output_file, split_by_file)
  num_workers = min(num_workers or available_cpus(), len(relative_paths))
  with files.replaced_atomically(outputs.values(), 'output_file') as temp_paths, \
       converted_files(input_dir, relative_paths, num_workers) as results:
    temp_path_by_split = {split: temp_paths[path] for split, path in outputs.items()}
    counts, skipped = write_records(results, temp_path_by_split, split_by_file,
                                    start, total=len(relative_paths))
    if not sum(counts.values()):
      raise cli.UserError(
          f'none of the {len(relative_paths)} MIDI files in {input_dir} was '
          f'converted ({_count_by_reason(skipped)}); nothing written')
  return ConversionSummary(
      midi_files=len(relative_paths),
      records_written={path: counts[split] for split, path in outputs.items()},
      skipped=dict(skipped), seconds=time.monotonic() - start)


def find_midi_files(input_dir: str, recursive: bool) -> list[str]:
  """Sorted paths, relative to `input_dir`, of the entries named *.mid/*.midi.

  Like Magenta's converter, this includes directories so named (which are
  then skipped) and does not recurse into them.
  """
  if not os.path.isdir(input_dir):
    raise cli.UserError(f'--input_dir: no such directory: {input_dir}')
  found = []
  pending_dirs = ['']
  while pending_dirs:
    sub_dir = pending_dirs.pop()
    for entry in os.scandir(os.path.join(input_dir, sub_dir)):
      relative_path = os.path.join(sub_dir, entry.name)
      if entry.name.lower().endswith(midi.MIDI_SUFFIXES):
        found.append(relative_path)
      elif recursive and entry.is_dir():
        pending_dirs.append(relative_path)
  if not found:
    hint = '' if recursive else ' (add --recursive to search its subdirectories)'
    raise cli.UserError(f'--input_dir: no .mid or .midi files in {input_dir}{hint}')
  return sorted(found)


def read_splits(split_csv: str) -> dict[str, str]:
  """Maps each midi_filename of `split_csv` to its split."""
  try:
    with open(split_csv, newline='', encoding='utf-8') as f:
      reader = csv.DictReader(f)
      missing = {'midi_filename', 'split'} - set(reader.fieldnames or ())
      if missing:
        raise cli.UserError(f'--split_csv: {split_csv} has no column '
                            + ' or '.join(sorted(missing)))
      split_by_file = {row['midi_filename']: row['split'] for row in reader}
  except OSError as e:
    raise cli.UserError(f'--split_csv: cannot read {split_csv}: {e.strerror}') from e
  bad_names = sorted(s for s in set(split_by_file.values()) if not re.fullmatch(r'[\w.-]+', s))
  if bad_names:
    raise cli.UserError(f'--split_csv: split names {bad_names} in {split_csv} '
                        'cannot be used in file names')
  return split_by_file


def output_paths(output_file: str,
                 split_by_file: Optional[dict[str, str]]) -> dict[str, str]:
  """Maps each split (or ALL_FILES) to the path of its TFRecord file."""
  if split_by_file is None:
    return {ALL_FILES: output_file}
  stem, extension = os.path.splitext(output_file)
  return {split: f'{stem}-{split}{extension}' for split in sorted(set(split_by_file.values()))}


def available_cpus() -> int:
  """CPU cores this process may run on (fewer than os.cpu_count() under taskset)."""
  if hasattr(os, 'sched_getaffinity'):
    return len(os.sched_getaffinity(0))
  return os.cpu_count() or 1


@contextlib.contextmanager
def converted_files(input_dir: str, relative_paths: list[str],
                    num_workers: int) -> Iterator[Iterator[midi.ConvertedFile]]:
  """Starts converting at once; yields the results in `relative_paths` order."""
  convert = functools.partial(midi.convert_to_record, input_dir)
  if num_workers == 1:
    yield map(convert, relative_paths)
    return
  # 'spawn', not 'fork': a caller such as a test or notebook may already run
  # TensorFlow's threads, which a forked child could deadlock on.
  executor = concurrent.futures.ProcessPoolExecutor(
      num_workers, mp_context=multiprocessing.get_context('spawn'),
      initializer=runtime.setup)  # no TensorFlow in the workers
  try:
    yield executor.map(midi.convert_to_record, itertools.repeat(input_dir),
                       relative_paths, chunksize=CHUNK_SIZE)
  finally:
    executor.shutdown(cancel_futures=True)


def write_records(results: Iterable[midi.ConvertedFile], temp_path_by_split: dict[str, str],
                  split_by_file: Optional[dict[str, str]], start: float,
                  total: int) -> tuple[collections.Counter, dict[str, list[str]]]:
  """Writes each converted file to its split's file; warns about each skip.

  Returns the records written per split and the skipped paths per reason.
  """
  counts = collections.Counter()
  skipped = collections.defaultdict(list)
  with contextlib.ExitStack() as stack:
    writers = {split: stack.enter_context(tf.io.TFRecordWriter(path))
               for split, path in temp_path_by_split.items()}
    for done, result in enumerate(results, start=1):
      split = split_of(result.relative_path, split_by_file)
      if result.skip_reason:
        detail = f' ({result.detail})'.replace('\n', ' ') if result.detail else ''
        cli.warning_line(f'skipped {result.relative_path}: {result.skip_reason.value}{detail}')
        skipped[result.skip_reason.value].append(result.relative_path)
      elif split is None:
        skipped[NOT_IN_SPLIT_CSV].append(result.relative_path)
      else:
        writers[split].write(result.record)
        counts[split] += 1
      if done % PROGRESS_EVERY == 0:
        print(f'converted {done}/{total} files '
              f'({done / (time.monotonic() - start):.1f} files/s)', file=sys.stderr, flush=True)
  return counts, skipped


def split_of(relative_path: str, split_by_file: Optional[dict[str, str]]) -> Optional[str]:
  """A file's split: ALL_FILES without a CSV, None if the CSV does not list it."""
  if split_by_file is None:
    return ALL_FILES
  return split_by_file.get(relative_path.replace(os.sep, '/'))


def _count_by_reason(skipped: dict[str, list[str]]) -> str:
  return ', '.join(f'{len(paths)} {reason}' for reason, paths in sorted(skipped.items()))


