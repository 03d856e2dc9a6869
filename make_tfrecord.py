r"""Converts a directory of MIDI files to a TFRecord file of NoteSequences.

--input_dir, --output_file and --recursive work as in Magenta's
convert_dir_to_note_sequences, and the NoteSequences are the same (notes,
filename, collection_name, id), with these differences:
  * MIDI files only (.mid, .midi), and files with no drum notes are skipped.
  * Files are converted by --num_workers processes and written in sorted path
    order; a trailing slash on --input_dir does not empty the collection name.
  * A file that cannot be converted is skipped with a one-line warning naming
    it; the run ends with a summary counting the skips by reason.
  * Outputs are written under a temporary name and renamed once complete, so
    an interrupted run never leaves a half-written file under the final name.
  * --split_csv writes one file per split, e.g. of the Groove MIDI Dataset.

Example:
  python make_tfrecord.py --input_dir=../shared/data/groove --recursive \
      --split_csv=../shared/data/groove/info.csv --output_file=data/groove.tfrecord
writes data/groove-train.tfrecord, data/groove-validation.tfrecord and
data/groove-test.tfrecord.
"""
from absl import flags

from drumvae import cli
from drumvae import runtime

flags.DEFINE_string(
    'input_dir', None,
    'Directory containing the MIDI files (.mid, .midi) to convert.')
flags.DEFINE_string(
    'output_file', None,
    'Path of the TFRecord file of NoteSequences to write; an existing file is '
    'replaced once the new one is complete. With --split_csv, one file per '
    'split is written instead, named after this path: out.tfrecord gives '
    'out-train.tfrecord, out-validation.tfrecord and out-test.tfrecord.')
flags.DEFINE_bool(
    'recursive', False,
    'Whether to also convert the MIDI files in subdirectories of --input_dir.')
flags.DEFINE_integer(
    'num_workers', None,
    'Number of processes converting files in parallel; by default, the number '
    'of CPU cores this process may use.', lower_bound=1)
flags.DEFINE_string(
    'split_csv', None,
    'CSV file with a midi_filename column (paths relative to --input_dir) and '
    'a split column, such as the Groove MIDI Dataset\'s info.csv: writes one '
    'TFRecord per split, and skips MIDI files that the CSV does not list.')
flags.DEFINE_string(
    'runner', None,
    '(added) Run the conversion as an Apache Beam pipeline on this runner, e.g. '
    'DirectRunner (--num_workers processes on this machine), DataflowRunner, '
    'FlinkRunner, SparkRunner. Outputs are then Beam\'s shards, '
    'OUTPUT_FILE-00000-of-0000N, which train.py reads as '
    '--examples_path=\'OUTPUT_FILE-*\'. Default: the local converter.')
flags.DEFINE_string(
    'beam_options', '',
    '(added) More Beam pipeline options, as one string, e.g. "--project=P '
    '--region=R --temp_location=gs://B/tmp" for DataflowRunner.')
flags.mark_flags_as_required(['input_dir', 'output_file'])

FLAGS = flags.FLAGS

def main(argv):
  del argv  # cli.run refuses extra arguments
  runtime.setup(FLAGS.verbose)
  runtime.load_tensorflow(FLAGS.verbose, fast_lstms=False)  # it writes the TFRecords
  from drumvae import conversion  # imports TensorFlow and Magenta: after the checks
  print(conversion.convert(cli.options_from_flags(conversion.Options)).report())


if __name__ == '__main__':
  cli.run(main)
