"""Sample new 4-bar drum grooves, interpolate between two, vary one, or humanize one, from a trained MusicVAE.

  python generate.py --run_dir=runs/small --mode=sample --num_outputs=5
  python generate.py --run_dir=runs/small --mode=interpolate --num_outputs=5 \
      --input_midi_1=a.mid --input_midi_2=b.mid
  python generate.py --run_dir=runs/small --mode=similar --num_outputs=4 \
      --input_midi_1=a.mid --similarity=0.7
  python generate.py --mode=humanize --input_midi_1=a.mid
  python generate.py --mode=sample --humanize

With --run_dir the config and hparams recorded by train.py are used. MIDI files
go to --output_dir (default samples/), named like Magenta's music_vae_generate
names them; an existing file is never overwritten. The flags are those of
Magenta's music_vae_generate, plus a few marked (added).
"""
import math

from absl import flags

from drumvae import cli
from drumvae import files
from drumvae import latent_prior
from drumvae import midi
from drumvae import run_dirs
from drumvae import runtime

FLAGS = flags.FLAGS

flags.DEFINE_string(
    'run_dir', None,
    'Run directory of train.py: its latest checkpoint, config and hparams are '
    'used. Default (with no --checkpoint_file): the model shipped in '
    'models/, trained on the Groove MIDI Dataset.',
    **cli.SHARED_WITH_MAGENTA)
flags.DEFINE_string(
    'checkpoint_file', None,
    'Path to a checkpoint (prefix or directory) to use instead of --run_dir; '
    'needs --config.')
flags.DEFINE_string(
    'config', None,
    'Name of the config in configs.py; default: the one RUN_DIR records.',
    **cli.SHARED_WITH_MAGENTA)
flags.DEFINE_string(
    'hparams', '',
    '(added) name=value pairs merged into the config\'s hparams; default: those '
    'RUN_DIR records.',
    **cli.SHARED_WITH_MAGENTA)
flags.DEFINE_enum(
    'mode', 'sample', ['sample', 'interpolate', 'similar', 'humanize'],
    'sample: new grooves from random latent vectors; interpolate: a morph '
    'from --input_midi_1 to --input_midi_2; similar (added): variations of '
    '--input_midi_1; humanize (added): --input_midi_1 as a drummer plays it, '
    'its hits kept, with velocities and timing from a GrooVAE humanizer '
    '(one file; --num_outputs is not used).',
    **cli.SHARED_WITH_MAGENTA)
flags.DEFINE_integer(
    'num_outputs', 5,
    'Number of grooves to sample, or of interpolation steps including both '
    'ends.', lower_bound=1)
flags.DEFINE_float(
    'temperature', 0.5,
    'Sampling temperature: lower is safer and more repetitive, higher is '
    'wilder.', lower_bound=1e-6)
flags.DEFINE_string(
    'output_dir', 'samples',
    'Directory to write the MIDI files to (created if missing).')
flags.DEFINE_string(
    'input_midi_1', None, 'First MIDI file to interpolate from.')
flags.DEFINE_string(
    'input_midi_2', None, 'Second MIDI file to interpolate to.')
flags.DEFINE_integer(
    'start_bar_1', 1,
    '(added) Bar of --input_midi_1 (from 1) where its 4-bar window starts; '
    'longer inputs, such as whole performances, are cut to that window.',
    lower_bound=1)
flags.DEFINE_integer(
    'start_bar_2', 1,
    '(added) Bar of --input_midi_2 (from 1) where its 4-bar window starts.',
    lower_bound=1)
flags.DEFINE_integer(
    'refine_steps', 200,  # drumvae.refinement.REFINE_STEPS: chosen on validation
    '(added) Adam steps that fit each input\'s latent code to it before '
    'decoding, so an interpolation starts and ends on its inputs; 0 = '
    'Magenta\'s plain encode.', lower_bound=0)
flags.DEFINE_float(
    'similarity', 0.5,
    '(added) For --mode=similar, in [0, 1]: 1 = the input itself, 0 = an '
    'unrelated sample (Magenta.js similar()).', lower_bound=0, upper_bound=1)
flags.DEFINE_integer(
    'seed', None,
    '(added) Random seed: the same seed, model and flags write the same MIDI.')
flags.DEFINE_float(
    'qpm', None,
    '(added) Tempo of the output, quarter notes per minute; default: the '
    'first input\'s tempo, or 120 for samples.', lower_bound=1)
flags.DEFINE_integer(
    'max_batch_size', 8,
    'The maximum number of grooves decoded at once; lower it to save memory.',
    lower_bound=1)

flags.DEFINE_bool(
    'render_wav', False,
    '(added) Also write a WAV beside each MIDI file, rendered with FluidSynth.')
flags.DEFINE_bool(
    'plot', False,
    '(added) Also write a drum-grid PNG beside each MIDI file; an '
    'interpolation also gets one picture of all its steps stacked.')
flags.DEFINE_string(
    'soundfont', None,
    '(added) SoundFont (.sf2) for --render_wav; default: the General MIDI set '
    'with a drum kit that ships inside pretty_midi.')
flags.DEFINE_bool(
    'humanize', False,
    '(added) Pass the grooves of sample, interpolate and similar through a '
    'humanizer: velocities and timing as a drummer plays them.')
flags.DEFINE_string(
    'humanizer_run_dir', None,
    '(added) Run directory of the humanize model for --humanize; default: '
    'the humanizer shipped in models/.')
flags.DEFINE_enum('precision', 'auto', runtime.PRECISIONS, runtime.PRECISION_HELP)
flags.DEFINE_enum('latent_prior', 'auto', latent_prior.CHOICES,
                  '(added) Where sampled grooves draw z from: ' + latent_prior.HELP)

flags.mark_flags_as_mutual_exclusive(['run_dir', 'checkpoint_file'])
for _name in ('temperature', 'similarity', 'qpm'):
  flags.register_validator(_name, lambda value: value is None or math.isfinite(value),
                           message='must be a finite number')
flags.register_multi_flags_validator(
    ['mode', 'input_midi_1', 'input_midi_2'],
    lambda f: f['mode'] != 'interpolate' or (f['input_midi_1'] and
                                             f['input_midi_2']),
    message='--mode=interpolate needs --input_midi_1 and --input_midi_2')
flags.register_multi_flags_validator(
    ['mode', 'input_midi_1'],
    lambda f: f['mode'] not in ('similar', 'humanize') or f['input_midi_1'],
    message='--mode=similar and --mode=humanize need --input_midi_1')


def main(argv):
  del argv  # cli.run refuses extra arguments
  runtime.setup(FLAGS.verbose)
  run_dirs.check_model_flags(FLAGS.run_dir, FLAGS.checkpoint_file)
  if FLAGS.mode != 'sample':
    midi.read_drum_file(FLAGS.input_midi_1, 'input_midi_1')
  if FLAGS.mode == 'interpolate':
    midi.read_drum_file(FLAGS.input_midi_2, 'input_midi_2')
  files.check_writable_dir(FLAGS.output_dir, 'output_dir')
  runtime.load_tensorflow(FLAGS.verbose)  # ~10 s, so after the cheap checks
  import configs  # pylint: disable=g-import-not-at-top,unused-import  (registers them)
  from drumvae import generation  # pylint: disable=g-import-not-at-top
  generation.generate(cli.options_from_flags(generation.Options))


if __name__ == '__main__':
  cli.run(main)
