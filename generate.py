"""Sample new 4-bar drum grooves, or interpolate between two, from a trained MusicVAE.

  python generate.py --run_dir=runs/small --mode=sample --num_outputs=5
  python generate.py --run_dir=runs/small --mode=interpolate --num_outputs=5 \
      --input_midi_1=a.mid --input_midi_2=b.mid

With --run_dir the config and hparams recorded by train.py are used. MIDI files
go to --output_dir (default samples/), named like Magenta's music_vae_generate
names them; an existing file is never overwritten. The flags are those of
Magenta's music_vae_generate, plus a few marked (added).
"""
import os
import time

from absl import flags

from drumvae import cli

FLAGS = flags.FLAGS

SHIPPED_MODEL = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                             'models', 'groove_4bar_cpu')

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
    'mode', 'sample', ['sample', 'interpolate'],
    'sample: new grooves from random latent vectors; interpolate: a morph '
    'from --input_midi_1 to --input_midi_2.',
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

flags.mark_flags_as_mutual_exclusive(['run_dir', 'checkpoint_file'])
flags.register_multi_flags_validator(
    ['mode', 'input_midi_1', 'input_midi_2'],
    lambda f: f['mode'] != 'interpolate' or (f['input_midi_1'] and
                                             f['input_midi_2']),
    message='--mode=interpolate needs --input_midi_1 and --input_midi_2')


def check_model_given(run_dir=None, checkpoint_file=None):
  """Fails at once, before TensorFlow is imported, if there is no checkpoint."""
  from drumvae import run_dir as run_dir_lib  # pylint: disable=g-import-not-at-top
  if run_dir:
    run_dir_lib.check_has_checkpoint(run_dir)
  elif not (os.path.exists(checkpoint_file) or
            os.path.exists(checkpoint_file + '.index')):
    raise cli.UserError(f'--checkpoint_file={checkpoint_file}: no such file '
                        'or directory (give a checkpoint prefix such as '
                        'RUN_DIR/train/model.ckpt-100, or its directory)')


def find_model(run_dir=None, checkpoint_file=None, config_name=None,
               hparams=''):
  """Returns (config_name, hparams, config, checkpoint path) to load."""
  import configs  # pylint: disable=g-import-not-at-top
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  from drumvae import run_dir as run_dir_lib  # pylint: disable=g-import-not-at-top
  config_name, hparams = run_dir_lib.resolve_settings(run_dir, config_name,
                                                      hparams)
  config = configs.get_config(config_name, hparams)
  if run_dir:
    return config_name, hparams, config, run_dir_lib.latest_checkpoint(run_dir)
  checkpoint = (tf.train.latest_checkpoint(checkpoint_file)
                if os.path.isdir(checkpoint_file) else checkpoint_file)
  if not checkpoint or not tf.train.checkpoint_exists(checkpoint):
    raise cli.UserError(f'--checkpoint_file={checkpoint_file}: no checkpoint '
                        'there')
  return config_name, hparams, config, checkpoint


def load_model(config, checkpoint, batch_size, description):
  """Magenta's TrainedModel; UserError if the checkpoint has other shapes."""
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  from magenta.models.music_vae import TrainedModel  # pylint: disable=g-import-not-at-top
  from drumvae import fast_lstm  # pylint: disable=g-import-not-at-top
  fast_lstm.use_fast_cpu_lstms()
  try:
    return TrainedModel(config, batch_size=batch_size,
                        checkpoint_dir_or_path=checkpoint)
  except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError) as e:
    raise cli.UserError(
        f'checkpoint {checkpoint} does not fit {description} (was it trained '
        f'with another config or hparams?): {e.message.splitlines()[0][:200]}'
    ) from None


def four_bar_window(sequence, start_bar, config, name):
  """Cuts `sequence` to the 4 bars from `start_bar` (1-based), on the 16th grid.

  A whole performance yields one example per bar to Magenta's encoder, which
  then refuses it (MultipleExtractedExamplesError); one window yields one.
  A sequence shorter than 4 bars is a loop: it is repeated to fill them.
  """
  import note_seq  # pylint: disable=g-import-not-at-top
  import configs  # pylint: disable=g-import-not-at-top
  try:
    quantized = note_seq.quantize_note_sequence(sequence,
                                                configs.STEPS_PER_QUARTER)
  except (note_seq.sequences_lib.QuantizationStatusError,
          note_seq.BadTimeSignatureError, note_seq.NegativeTimeError) as e:
    raise cli.UserError(f'{name}: cannot be put on a 16th-note grid: {e}')
  except note_seq.sequences_lib.MultipleTempoError:
    raise cli.UserError(f'{name}: tempo changes; use a file with one tempo')
  except note_seq.sequences_lib.MultipleTimeSignatureError:
    raise cli.UserError(f'{name}: time signature changes; use a 4/4 file')
  total_bars = -(-quantized.total_quantized_steps // configs.STEPS_PER_BAR)
  num_steps = configs.BARS * configs.STEPS_PER_BAR
  loop_steps = num_steps  # no repetition
  if start_bar == 1 and 0 < total_bars < configs.BARS:
    loop_steps = total_bars * configs.STEPS_PER_BAR
    cli.note_line(f'{name}: a {total_bars}-bar loop, repeated to fill '
                  f'{configs.BARS} bars')
  first_step = (start_bar - 1) * configs.STEPS_PER_BAR
  qpm = sequence.tempos[0].qpm if sequence.tempos else note_seq.DEFAULT_QUARTERS_PER_MINUTE
  seconds_per_step = 60.0 / qpm / configs.STEPS_PER_QUARTER
  window = note_seq.NoteSequence(ticks_per_quarter=sequence.ticks_per_quarter)
  window.tempos.add(qpm=qpm)
  window.time_signatures.add(numerator=4, denominator=4)
  window.total_time = num_steps * seconds_per_step
  for note in quantized.notes:
    step = note.quantized_start_step - first_step
    if not 0 <= step < loop_steps:
      continue
    for repeat_step in range(step, num_steps, loop_steps):
      window.notes.add(
          pitch=note.pitch, velocity=note.velocity, instrument=note.instrument,
          program=note.program, is_drum=note.is_drum,
          start_time=repeat_step * seconds_per_step,
          end_time=(repeat_step + 1) * seconds_per_step)
  config.data_converter.set_mode('infer')
  if len(config.data_converter.to_tensors(window).outputs) != 1:
    raise cli.UserError(
        f'{name}: bars {start_bar}-{start_bar + configs.BARS - 1} (of '
        f'{total_bars}) hold no 4/4 drum groove (drums must be on channel 10); '
        'choose another start bar')
  return window


def read_input(path, flag_name):
  """Reads an interpolation input MIDI file (cut it with `four_bar_window`)."""
  from drumvae import midi  # pylint: disable=g-import-not-at-top
  name = f'--{flag_name}={path}'
  if os.path.isdir(path):
    raise cli.UserError(f'{name}: is a directory; give a MIDI file')
  if not os.path.isfile(path):
    raise cli.UserError(f'{name}: no such file')
  conversion = midi.convert_midi_file(*os.path.split(path))
  if conversion.skip_reason:
    detail = f' ({conversion.detail})' if conversion.detail else ''
    raise cli.UserError(f'{name}: {conversion.skip_reason.value}{detail}; give '
                        'a drum MIDI file')
  return conversion.sequence


def sample(model, config, num_outputs, temperature):
  """`num_outputs` new 4-bar NoteSequences."""
  return model.sample(n=num_outputs, length=config.hparams.max_seq_len,
                      temperature=temperature)


def interpolate(model, config, start, end, num_outputs, temperature):
  """`num_outputs` NoteSequences morphing from `start` to `end` (slerp in z)."""
  return model.interpolate(start, end, num_steps=num_outputs,
                           length=config.hparams.max_seq_len,
                           temperature=temperature)


def check_output_dir(output_dir):
  """Creates `output_dir` if needed; UserError if a file cannot be made there.

  A test file is made rather than asking os.access, which says yes to root
  even where writes fail (/proc, read-only mounts).
  """
  import tempfile  # pylint: disable=g-import-not-at-top
  try:
    os.makedirs(output_dir, exist_ok=True)
    with tempfile.TemporaryFile(dir=output_dir):
      pass
  except OSError as e:
    raise cli.UserError(f'--output_dir={output_dir}: cannot write there '
                        f'({e.strerror or e}); choose another directory'
                        ) from None


def write_midi_files(sequences, output_dir, name_prefix):
  """Writes `name_prefix-000-of-NNN.mid`...; returns the paths written."""
  import note_seq  # pylint: disable=g-import-not-at-top
  from drumvae import files  # pylint: disable=g-import-not-at-top
  check_output_dir(output_dir)
  paths = []
  for i, sequence in enumerate(sequences):
    path = os.path.join(
        output_dir, f'{name_prefix}-{i:03d}-of-{len(sequences):03d}.mid')
    try:
      paths.append(files.write_new_file(
          path,
          lambda tmp, s=sequence: note_seq.sequence_proto_to_midi_file(s, tmp)))
    except OSError as e:
      raise cli.UserError(f'{path}: cannot write it ({e.strerror or e})'
                          ) from None
  return paths


def check_renderer(render_wav, soundfont):
  """Whether WAVs can be rendered: warns (MIDI still gets written) if not."""
  if not render_wav:
    return False
  from drumvae import audio  # pylint: disable=g-import-not-at-top
  audio.check_soundfont(soundfont or audio.default_soundfont())
  try:
    audio.require_fluidsynth()
  except audio.FluidSynthMissing as e:
    cli.warning_line(f'{e}; writing MIDI without WAV')
    return False
  return True


def render_outputs(midi_paths, sequences, mode, render_wav, plot, soundfont):
  """WAV and PNG files beside the MIDI files; returns the paths written."""
  from drumvae import drum_grid, files, render  # pylint: disable=g-import-not-at-top
  written = render.render_midi_files(midi_paths, wav=render_wav, plot=plot,
                                     soundfont=soundfont)
  if plot and mode == 'interpolate':
    stem = midi_paths[0].rsplit('-000-of-', 1)[0]
    path = files.write_new_file(
        f'{stem}-interpolation.png',
        lambda tmp: drum_grid.plot_interpolation(sequences, tmp))
    print(path, flush=True)
    written.append(path)
  return written


def main(argv):
  if len(argv) > 1:
    raise cli.UserError(f'unexpected arguments: {" ".join(argv[1:])}')
  if not (FLAGS.run_dir or FLAGS.checkpoint_file):
    FLAGS.run_dir = SHIPPED_MODEL
    cli.note_line(f'using the shipped model {os.path.relpath(SHIPPED_MODEL)} '
                  '(trained on Groove); --run_dir=YOUR_RUN for your own')
  # Checks that need no TensorFlow first: its import takes ~10 s.
  check_model_given(FLAGS.run_dir, FLAGS.checkpoint_file)
  if FLAGS.mode == 'interpolate':
    inputs = [read_input(FLAGS.input_midi_1, 'input_midi_1'),
              read_input(FLAGS.input_midi_2, 'input_midi_2')]
  check_output_dir(FLAGS.output_dir)
  from drumvae import tf_env  # pylint: disable=g-import-not-at-top
  tf_env.setup_tensorflow(FLAGS.verbose)
  config_name, hparams, config, checkpoint = find_model(
      FLAGS.run_dir, FLAGS.checkpoint_file, FLAGS.config, FLAGS.hparams)
  if FLAGS.mode == 'interpolate':
    start = four_bar_window(inputs[0], FLAGS.start_bar_1, config,
                            f'--input_midi_1={FLAGS.input_midi_1}')
    end = four_bar_window(inputs[1], FLAGS.start_bar_2, config,
                          f'--input_midi_2={FLAGS.input_midi_2}')
  render_wav = check_renderer(FLAGS.render_wav, FLAGS.soundfont)
  model = load_model(config, checkpoint,
                     min(FLAGS.max_batch_size, FLAGS.num_outputs),
                     f'--config={config_name} --hparams={hparams!r}')
  if FLAGS.mode == 'interpolate':
    sequences = interpolate(model, config, start, end, FLAGS.num_outputs,
                            FLAGS.temperature)
  else:
    sequences = sample(model, config, FLAGS.num_outputs, FLAGS.temperature)
  name_prefix = f'{config_name}_{FLAGS.mode}_{time.strftime("%Y-%m-%d_%H%M%S")}'
  midi_paths = write_midi_files(sequences, FLAGS.output_dir, name_prefix)
  for path in midi_paths:
    print(path, flush=True)
  if render_wav or FLAGS.plot:
    render_outputs(midi_paths, sequences, FLAGS.mode, render_wav, FLAGS.plot,
                   FLAGS.soundfont)


if __name__ == '__main__':
  cli.run(main)
