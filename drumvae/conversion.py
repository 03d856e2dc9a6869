"""make_tfrecord.py's job: a directory of MIDI files -> TFRecord files of NoteSequences.

`convert(Options(...))` does what `make_tfrecord.py` does with the same flags
and returns a `midi_corpus.ConversionSummary`. Files are converted in worker processes
that import only `drumvae.midi` and note_seq, not TensorFlow.
"""
from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import dataclasses
import functools
import itertools
import multiprocessing
import os
import sys
import time
from typing import Iterable, Iterator, Optional

from drumvae import cli
from drumvae import files
from drumvae import midi
from drumvae import midi_corpus
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
  runner: Optional[str] = None  # an Apache Beam runner, e.g. DirectRunner
  beam_options: str = ''  # more Beam pipeline options, as on a command line


def convert(options: Options) -> midi_corpus.ConversionSummary:
  """`convert_directory` with `options`, '~' expanded; on Beam if a runner is named."""
  if options.runner:
    try:
      from drumvae import beam_conversion  # pylint: disable=g-import-not-at-top
    except ImportError as e:
      raise cli.UserError(f'--runner={options.runner} needs Apache Beam ({e}); install it: '
                          '.venv/bin/pip install -r requirements-beam.txt') from None
    return beam_conversion.convert(options)
  expand = lambda path: path and os.path.expanduser(path)
  return convert_directory(expand(options.input_dir), expand(options.output_file),
                           options.recursive, options.num_workers,
                           expand(options.split_csv))


CHUNK_SIZE = 8  # Files per worker task: amortises IPC, keeps the last task short.
PROGRESS_EVERY = 100  # Files between progress lines: a few seconds apart.


def convert_directory(input_dir: str, output_file: str, recursive: bool = False,
                      num_workers: Optional[int] = None,
                      split_csv: Optional[str] = None) -> midi_corpus.ConversionSummary:
  """Converts the MIDI files in `input_dir` to NoteSequences in `output_file`.

  With `split_csv`, writes one file per split (see --split_csv). Raises
  cli.UserError, leaving existing outputs untouched, when there is nothing to
  convert, nothing was converted or an output cannot be written.
  """
  start = time.monotonic()
  input_dir = os.path.normpath(input_dir)
  relative_paths = midi_corpus.find_midi_files(input_dir, recursive)
  split_by_file = midi_corpus.read_splits(split_csv) if split_csv else None
  outputs = midi_corpus.output_paths(output_file, split_by_file)
  num_workers = min(num_workers or midi_corpus.available_cpus(), len(relative_paths))
  with files.outputs_locked(outputs.values(), 'output_file'), \
       files.replaced_atomically(outputs.values(), 'output_file') as temp_paths, \
       converted_files(input_dir, relative_paths, num_workers) as results:
    temp_path_by_split = {split: temp_paths[path] for split, path in outputs.items()}
    counts, skipped = write_records(results, temp_path_by_split, split_by_file,
                                    start, total=len(relative_paths))
    if not sum(counts.values()):
      raise midi_corpus.nothing_converted(len(relative_paths), input_dir, skipped)
  return midi_corpus.ConversionSummary(
      midi_files=len(relative_paths),
      records_written={path: counts[split] for split, path in outputs.items()},
      skipped=dict(skipped), seconds=time.monotonic() - start)


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
  skipped = {}
  with contextlib.ExitStack() as stack:
    writers = {split: stack.enter_context(tf.io.TFRecordWriter(path))
               for split, path in temp_path_by_split.items()}
    for done, result in enumerate(results, start=1):
      split = midi_corpus.split_to_write(
          result.relative_path, result.skip_reason and result.skip_reason.value,
          result.detail, midi_corpus.split_of(result.relative_path, split_by_file), skipped)
      if split is not None:
        writers[split].write(result.record)
        counts[split] += 1
      if done % PROGRESS_EVERY == 0:
        print(f'converted {done}/{total} files '
              f'({done / (time.monotonic() - start):.1f} files/s)', file=sys.stderr, flush=True)
  return counts, skipped
