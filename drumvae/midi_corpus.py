"""A corpus of MIDI files to convert: finding them, their splits, output names, the summary.

Shared by the local converter (`conversion`) and the Beam pipeline
(`beam_conversion`); it imports neither TensorFlow nor Beam, so Beam's
workers stay light.
"""
from __future__ import annotations

import csv
import dataclasses
import os
import re
from typing import Optional

from drumvae import cli
from drumvae import midi

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
                   + count_by_reason(self.skipped))
    return '\n'.join(lines)


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


def split_of(relative_path: str, split_by_file: Optional[dict[str, str]]) -> Optional[str]:
  """A file's split: ALL_FILES without a CSV, None if the CSV does not list it."""
  if split_by_file is None:
    return ALL_FILES
  return split_by_file.get(relative_path.replace(os.sep, '/'))


def split_to_write(relative_path: str, skip_reason: Optional[str], detail: str,
                   split: Optional[str], skipped: dict[str, list[str]]) -> Optional[str]:
  """The split a converted file goes to, or None once its skip is recorded in `skipped`
  (and, for a file that could not be converted, warned about in one line)."""
  if skip_reason:
    detail = f' ({detail})'.replace('\n', ' ') if detail else ''
    cli.warning_line(f'skipped {relative_path}: {skip_reason}{detail}')
    skipped.setdefault(skip_reason, []).append(relative_path)
    return None
  if split is None:
    skipped.setdefault(NOT_IN_SPLIT_CSV, []).append(relative_path)
  return split


def nothing_converted(num_files: int, input_dir: str, skipped: dict[str, list[str]]):
  """The UserError for a corpus of which no file was converted."""
  return cli.UserError(f'none of the {num_files} MIDI files in {input_dir} was converted '
                       f'({count_by_reason(skipped)}); nothing written')


def count_by_reason(skipped: dict[str, list[str]]) -> str:
  return ', '.join(f'{len(paths)} {reason}' for reason, paths in sorted(skipped.items()))


