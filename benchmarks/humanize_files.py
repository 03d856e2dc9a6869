"""generate.py --mode=humanize on quantized windows of Groove performances, note by note
against what the drummer played.

  python benchmarks/humanize_files.py --split=test --num_files=40 --windows_per_file=2

For the first --num_files 4/4 beats of --split in Groove's info.csv, its first --windows_per_file
4-bar windows (from bars 1, 5, ...) are put on the grid, written as MIDI files
at velocity 80 (what a drum machine or this toolkit's samples give), and
humanized by generate.py's job function, from MIDI file to MIDI file. Each
output note is then matched to the drummer's hit of its drum class on its
sixteenth (the loudest, as GrooveConverter keeps it). Prints the humanizer's
velocity and timing error, velocity spread, hits kept and tempo error, beside
the same figures for the quantized input itself.
"""
import contextlib
import csv
import io
import os
import tempfile

from absl import flags

from drumvae import cli
from drumvae import runtime

FLAGS = flags.FLAGS
flags.DEFINE_string('run_dir', None, 'Humanizer run dir; default: the shipped one.',
                    **cli.SHARED_WITH_MAGENTA)
flags.DEFINE_string(
    'groove_dir', os.environ.get('GROOVE_DIR', os.path.join(
        os.path.dirname(os.path.dirname(os.path.abspath(__file__))), '..', 'shared',
        'data', 'groove')),
    'The Groove MIDI Dataset (default: $GROOVE_DIR or ../shared/data/groove).')
flags.DEFINE_enum('split', 'test', ['train', 'validation', 'test'], "Groove's split.")
flags.DEFINE_integer('num_files', 40, 'Beats of the split, in info.csv order (each '
                     'window loads the model anew, as generate.py does: ~3 s).', lower_bound=1)
flags.DEFINE_integer('windows_per_file', 2, '4-bar windows from each performance.',
                     lower_bound=1)


def drummer_hits(performance, first_step, pitch_class_map, midi):
  """{(drum, step): (velocity, onset ms from its sixteenth)} of a window of a performance."""
  quantized = midi.quantize(performance)
  step_ms = 60000.0 / performance.tempos[0].qpm / midi.STEPS_PER_QUARTER
  hits = {}
  for note, on_grid in zip(performance.notes, quantized.notes):
    step = on_grid.quantized_start_step - first_step
    drum = pitch_class_map.get(note.pitch)
    if drum is None or not 0 <= step < midi.BARS * midi.STEPS_PER_BAR:
      continue
    onset_ms = note.start_time * 1000 - (step + first_step) * step_ms
    if (drum, step) not in hits or note.velocity > hits[drum, step][0]:
      hits[drum, step] = (note.velocity, onset_ms)
  return hits


def played_hits(sequence, pitch_class_map, midi):
  """{(drum, step): (velocity, onset ms from its sixteenth)} of a humanized file."""
  step_ms = 60000.0 / sequence.tempos[0].qpm / midi.STEPS_PER_QUARTER
  hits = {}
  for note in sequence.notes:
    drum = pitch_class_map.get(note.pitch)
    step = round(note.start_time * 1000 / step_ms)
    if drum is not None:
      hits[drum, step] = (note.velocity, note.start_time * 1000 - step * step_ms)
  return hits


def main(argv):
  del argv
  runtime.setup(FLAGS.verbose)
  runtime.load_tensorflow(FLAGS.verbose)
  import note_seq  # pylint: disable=g-import-not-at-top
  import numpy as np  # pylint: disable=g-import-not-at-top
  import configs  # pylint: disable=g-import-not-at-top,unused-import
  from drumvae import generation, humanization, midi, models  # pylint: disable=g-import-not-at-top,g-multiple-import
  run_dir = FLAGS.run_dir or models.shipped_model('humanize')
  config = models.config_for_run(run_dir)[2]
  config.data_converter.set_mode('infer')
  pitch_class_map = config.data_converter.pitch_class_map
  with open(os.path.join(FLAGS.groove_dir, 'info.csv')) as f:
    rows = [row for row in csv.DictReader(f) if row['split'] == FLAGS.split
            and row['beat_type'] == 'beat' and row['time_signature'] == '4-4'][:FLAGS.num_files]
  errors = {'humanizer': ([], [], []), 'on the grid at 80': ([], [], [])}
  tempo_errors, kept = [], []
  with tempfile.TemporaryDirectory() as work:
    for row in rows:
      performance = midi.read_drum_file(os.path.join(FLAGS.groove_dir, row['midi_filename']),
                                        'groove')
      total_bars = int(midi.quantize(performance).total_quantized_steps // midi.STEPS_PER_BAR)
      for start_bar in range(1, min(total_bars - midi.BARS + 2,
                                    FLAGS.windows_per_file * midi.BARS + 1), midi.BARS):
        window = generation.four_bar_window(performance, start_bar, config, row['midi_filename'])
        for note in window.notes:
          note.velocity = humanization.GRID_VELOCITY
        quantized_path = os.path.join(work, f'{len(kept)}.mid')
        note_seq.sequence_proto_to_midi_file(window, quantized_path)
        with contextlib.redirect_stdout(io.StringIO()):  # the path of each file
          output, = generation.generate(generation.Options(
              run_dir=run_dir, mode='humanize', input_midi_1=quantized_path,
              output_dir=os.path.join(work, str(len(kept)))))
        played = note_seq.midi_file_to_note_sequence(output)
        tempo_errors.append(abs(played.tempos[0].qpm / window.tempos[0].qpm - 1))
        drummer = drummer_hits(performance, (start_bar - 1) * midi.STEPS_PER_BAR,
                               pitch_class_map, midi)
        for name, hits in (('humanizer', played_hits(played, pitch_class_map, midi)),
                           ('on the grid at 80', {key: (humanization.GRID_VELOCITY, 0.0)
                                                  for key in drummer})):
          velocity_errors, timing_errors, spreads = errors[name]
          matched = [key for key in drummer if key in hits]
          velocity_errors += [abs(hits[k][0] - drummer[k][0]) for k in matched]
          timing_errors += [abs(hits[k][1] - drummer[k][1]) for k in matched]
          spreads.append(np.std([hits[k][0] for k in matched]) /
                         max(np.std([drummer[k][0] for k in matched]), 1e-9))
          if name == 'humanizer':
            kept.append(len(matched) / len(drummer))
  print(f'{len(kept)} windows of {len(rows)} {FLAGS.split} beats, humanized by {run_dir}')
  print('| | velocity MAE | timing MAE (ms) | velocity spread |\n| --- | ---: | ---: | ---: |')
  for name, (velocity_errors, timing_errors, spreads) in errors.items():
    print(f'| {name} | {np.mean(velocity_errors):.1f} | {np.mean(timing_errors):.1f} '
          f'| {np.mean(spreads):.2f} |')
  print(f'hits kept {np.mean(kept):.3f}; tempo error at most {max(tempo_errors):.2%}')


if __name__ == '__main__':
  cli.run(main)
