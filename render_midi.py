"""Render existing MIDI files (Groove files, earlier samples) to WAV and drum-grid PNG.

  python render_midi.py --input_midi=groove/drummer1/session1/102_funk_95_beat_4-4.mid
  python render_midi.py --input_midi=samples/ --plot --output_dir=/tmp/grids

Each input NAME.mid gets NAME.wav and NAME.png, beside it or in --output_dir.
Existing files are never overwritten: the outputs then take the first free
name NAME_1, NAME_2, ... Every file is written under a temporary name and
linked to its final name once complete, so no half-written file stands there.
"""

from absl import flags

from drumvae import cli
from drumvae import runtime
from drumvae import render

FLAGS = flags.FLAGS

flags.DEFINE_list(
    'input_midi', None,
    'Comma-separated MIDI files to render; a directory stands for the .mid and '
    '.midi files directly inside it.')
flags.DEFINE_bool(
    'wav', None,
    'Write a WAV of each input. With neither --wav nor --plot both are written; '
    '--wav alone or --noplot writes only WAVs.')
flags.DEFINE_bool(
    'plot', None,
    'Write a PNG drum grid of the first 4 bars of each input. With neither '
    '--wav nor --plot both are written; --plot alone or --nowav writes only PNGs.')
flags.DEFINE_string(
    'soundfont', None,
    'SoundFont (.sf2) file for the WAVs; default: TimGM6mb.sf2, the General '
    'MIDI set with a drum kit that ships inside pretty_midi.')
flags.DEFINE_string(
    'output_dir', None,
    'Directory for the outputs, created if missing; default: beside each input.')
flags.mark_flag_as_required('input_midi')

def main(argv):
  del argv  # cli.run refuses extra arguments
  runtime.setup(FLAGS.verbose)
  wav = FLAGS.wav if FLAGS.wav is not None else not FLAGS.plot
  plot = FLAGS.plot if FLAGS.plot is not None else not FLAGS.wav
  if not (wav or plot):
    raise cli.UserError('--nowav with --noplot leaves nothing to write')
  render.render_midi_files(render.expand_midi_paths(FLAGS.input_midi),
                           FLAGS.output_dir,
                           wav=wav, plot=plot, soundfont=FLAGS.soundfont)


if __name__ == '__main__':
  cli.run(main)
