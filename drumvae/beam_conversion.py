"""make_tfrecord.py --runner=...: the same conversion as an Apache Beam pipeline.

Files are found, split and named as `conversion` does it; Beam's workers
convert each with `midi.convert_to_record`, and each split's NoteSequences go
to Beam's sharded TFRecord files, OUTPUT-00000-of-0000N (train.py reads them as
--examples_path='OUTPUT-*'). Each file's outcome comes back through a report
beside the outputs, so skips are warned about and summed up as on the local
path. Any Beam runner works: DirectRunner here (--num_workers processes),
Dataflow, Flink or Spark through --beam_options.
"""
import json
import os
import shlex
import sys
import time

from absl import logging as absl_logging
import apache_beam as beam
from apache_beam.io.filesystems import FileSystems
from apache_beam.options.pipeline_options import PipelineOptions

from drumvae import midi_corpus
from drumvae import midi
from drumvae import runtime

REPORT_SUFFIX = '.report'  # beside the outputs, deleted once read


class _Convert(beam.DoFn):
  """MIDI file -> (its split or None, serialized NoteSequence, relative path, skip reason, detail)."""

  def __init__(self, input_dir, split_by_file):
    super().__init__()
    self._input_dir = input_dir
    self._split_by_file = split_by_file

  def setup(self):
    runtime.setup()  # in each worker: the same MIDI reading, a quiet stdout

  def process(self, relative_path):
    converted = midi.convert_to_record(self._input_dir, relative_path)
    reason = converted.skip_reason and converted.skip_reason.value
    split = None if reason else midi_corpus.split_of(relative_path, self._split_by_file)
    yield split, converted.record, relative_path, reason, converted.detail


def convert(options) -> midi_corpus.ConversionSummary:
  """Converts as `midi_corpus.convert` does, on the Beam runner `options.runner`."""
  start = time.monotonic()
  input_dir = os.path.normpath(os.path.expanduser(options.input_dir))
  output_file = os.path.expanduser(options.output_file)
  relative_paths = midi_corpus.find_midi_files(input_dir, options.recursive)
  split_by_file = (midi_corpus.read_splits(os.path.expanduser(options.split_csv))
                   if options.split_csv else None)
  outputs = midi_corpus.output_paths(output_file, split_by_file)
  num_shards = options.num_workers or midi_corpus.available_cpus()
  report = output_file + REPORT_SUFFIX
  pipeline_options = PipelineOptions(
      shlex.split(options.beam_options), runner=options.runner,
      direct_num_workers=num_shards, direct_running_mode='multi_processing',
      # Workers log at INFO; quiet unless --verbose (runtime set absl's level).
      default_sdk_harness_log_level='INFO' if absl_logging.level_info() else 'WARNING')
  print(f'converting {len(relative_paths)} MIDI files on {options.runner}',
        file=sys.stderr, flush=True)
  with beam.Pipeline(options=pipeline_options) as pipeline:
    results = (pipeline
               | 'files' >> beam.Create(relative_paths)
               | 'spread' >> beam.Reshuffle()
               | 'convert' >> beam.ParDo(_Convert(input_dir, split_by_file)))
    for split, path in outputs.items():
      _ = (results
           | f'keep {split or "all"}' >> beam.Filter(
               lambda result, split=split: result[0] == split)
           | f'records {split or "all"}' >> beam.Map(lambda result: result[1])
           | f'write {split or "all"}' >> beam.io.WriteToTFRecord(
               path, num_shards=num_shards))
    _ = (results
         | 'outcomes' >> beam.Map(lambda result: json.dumps(
             [result[0], *result[2:]]))  # all but the record
         | 'report' >> beam.io.WriteToText(report, num_shards=1))
  counts, skipped = _read_report(report)
  converted = sum(counts.values())
  for path in outputs.values():  # an earlier run's shards, or else this run's empty ones
    _delete_shards(path, num_shards, of_this_run=not converted)
  if not converted:
    raise midi_corpus.nothing_converted(len(relative_paths), input_dir, skipped)
  return midi_corpus.ConversionSummary(
      midi_files=len(relative_paths),
      records_written={f'{path}-*-of-{num_shards:05d}': counts[split]
                       for split, path in outputs.items()},
      skipped=dict(skipped), seconds=time.monotonic() - start)


def _read_report(report):
  """Warns about each skipped file; returns (records per split, paths per skip reason)."""
  counts, skipped = {}, {}
  report_files = [m.path for m in FileSystems.match([report + '*'])[0].metadata_list]
  outcomes = []
  for path in report_files:
    with FileSystems.open(path) as f:
      outcomes += [json.loads(line) for line in f.read().decode().splitlines()]
  FileSystems.delete(report_files)
  for split, relative_path, reason, detail in sorted(outcomes, key=lambda o: o[1]):
    split = midi_corpus.split_to_write(relative_path, reason, detail, split, skipped)
    if split is not None:
      counts[split] = counts.get(split, 0) + 1
  return counts, skipped


def _delete_shards(path, num_shards, of_this_run):
  """Removes the shards of `path` this run wrote (`num_shards` of them), or all others."""
  stale = [m.path for m in FileSystems.match([f'{path}-?????-of-?????'])[0].metadata_list
           if m.path.endswith(f'-of-{num_shards:05d}') == of_this_run]
  if stale:
    FileSystems.delete(stale)
