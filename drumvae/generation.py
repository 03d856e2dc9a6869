"""generate.py's job: sample or interpolate 4-bar grooves, and write them as MIDI (WAV, PNG).

`generate(Options(...))` does what `generate.py` does with the same flags and
returns the paths it wrote; the notebook and the tests call it directly. Call
`drumvae.runtime.setup()` and `load_tensorflow()` first.
"""
import dataclasses
import os
import time
from typing import Optional

import configs
from drumvae import audio
from drumvae import cli
from drumvae import drum_grid
from drumvae import files
from drumvae import latent_prior
from drumvae import midi
from drumvae import render
from drumvae import run_dirs
from drumvae import runtime
from drumvae.cli import UserError

import note_seq
import numpy as np
import tensorflow.compat.v1 as tf
from magenta.models.music_vae import TrainedModel

SHIPPED_MODEL = os.path.join(
    os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'models',
    'groove_4bar_cpu')


@dataclasses.dataclass
class Options:
  """generate.py's flags (same names, same defaults); see `generate.py --help`."""
  run_dir: Optional[str] = None  # neither this nor checkpoint_file: SHIPPED_MODEL
  checkpoint_file: Optional[str] = None
  config: Optional[str] = None
  hparams: str = ''
  mode: str = 'sample'  # or 'interpolate'
  num_outputs: int = 5
  temperature: float = 0.5
  output_dir: str = 'samples'
  input_midi_1: Optional[str] = None
  input_midi_2: Optional[str] = None
  start_bar_1: int = 1
  start_bar_2: int = 1
  max_batch_size: int = 8
  render_wav: bool = False
  plot: bool = False
  soundfont: Optional[str] = None
  precision: str = 'auto'
  latent_prior: str = 'auto'


def generate(options):
  """Samples or interpolates, writes the files; returns their paths in order."""
  config_name, hparams, config, checkpoint = find_model(options)
  files.check_writable_dir(options.output_dir, 'output_dir')
  if options.mode == 'interpolate':
    ends = [four_bar_window(midi.read_drum_file(path, flag), start_bar, config,
                            f'--{flag}={path}')
            for path, start_bar, flag in (
                (options.input_midi_1, options.start_bar_1, 'input_midi_1'),
                (options.input_midi_2, options.start_bar_2, 'input_midi_2'))]
  render_wav = options.render_wav and fluidsynth_available(options.soundfont)
  cli.note_line(runtime.use_precision(options.precision))
  model = load_model(config, checkpoint,
                     min(options.max_batch_size, options.num_outputs),
                     f'--config={config_name} --hparams={hparams!r}')
  length = config.hparams.max_seq_len
  if options.mode == 'interpolate':
    sequences = model.interpolate(*ends, num_steps=options.num_outputs,
                                  length=length,
                                  temperature=options.temperature)
  else:
    sequences = sample(model, config, options)
  stem = os.path.join(
      options.output_dir,
      f'{config_name}_{options.mode}_{time.strftime("%Y-%m-%d_%H%M%S")}')
  written = write_midi_files(sequences, stem)
  if render_wav or options.plot:
    written += render.render_midi_files(list(written), wav=render_wav,
                                        plot=options.plot,
                                        soundfont=options.soundfont)
  if options.plot and options.mode == 'interpolate':
    written.append(files.write_output(
        f'{stem}-interpolation.png',
        lambda tmp: drum_grid.plot_interpolation(sequences, tmp)))
  return written


def sample(model, config, options):
  """`options.num_outputs` new grooves, z drawn as --latent_prior says."""
  prior, which = latent_prior.choose(model_dir(options), config.hparams.z_size,
                                     options.latent_prior)
  cli.note_line(which)
  z = latent_prior.draw(prior, options.num_outputs, config.hparams.z_size,
                        np.random.default_rng())
  return model.decode(z.astype(np.float32), length=config.hparams.max_seq_len,
                      temperature=options.temperature)


def model_dir(options):
  """The run dir the model comes from (None for a --checkpoint_file)."""
  if options.checkpoint_file:
    return None
  return options.run_dir or SHIPPED_MODEL


def find_model(options):
  """(config name, hparams, config, checkpoint path) of the model to load."""
  run_dir = model_dir(options)
  if run_dir == SHIPPED_MODEL and not options.run_dir:
    cli.note_line(f'using the shipped model {os.path.relpath(SHIPPED_MODEL)} '
                  '(trained on Groove); --run_dir=YOUR_RUN for your own')
  config_name, hparams, config = configs.config_for_run(
      run_dir, options.config, options.hparams)
  if run_dir:
    return config_name, hparams, config, run_dirs.latest_checkpoint(run_dir)
  path = options.checkpoint_file
  checkpoint = tf.train.latest_checkpoint(path) if os.path.isdir(path) else path
  if not checkpoint or not tf.train.checkpoint_exists(checkpoint):
    raise UserError(f'--checkpoint_file={path}: no checkpoint there')
  return config_name, hparams, config, checkpoint


def load_model(config, checkpoint, batch_size, description):
  """Magenta's TrainedModel; UserError if the checkpoint has other shapes."""
  try:
    return TrainedModel(config, batch_size=batch_size,
                        checkpoint_dir_or_path=checkpoint)
  except (tf.errors.InvalidArgumentError, tf.errors.NotFoundError) as e:
    raise UserError(
        f'checkpoint {checkpoint} does not fit {description} (was it trained '
        f'with another config or hparams?): {e.message.splitlines()[0][:200]}'
    ) from None


def four_bar_window(sequence, start_bar, config, name):
  """Cuts `sequence` to the 4 bars from `start_bar` (1-based), on the 16th grid.

  A whole performance yields one example per bar to Magenta's encoder, which
  then refuses it (MultipleExtractedExamplesError); one window yields one.
  A sequence shorter than 4 bars is a loop: it is repeated to fill them.
  """
  quantized = midi.quantize(sequence, name)
  total_bars = -(-quantized.total_quantized_steps // midi.STEPS_PER_BAR)
  num_steps = midi.BARS * midi.STEPS_PER_BAR
  loop_steps = num_steps  # no repetition
  if start_bar == 1 and 0 < total_bars < midi.BARS:
    loop_steps = total_bars * midi.STEPS_PER_BAR
    cli.note_line(f'{name}: a {total_bars}-bar loop, repeated to fill '
                  f'{midi.BARS} bars')
  first_step = (start_bar - 1) * midi.STEPS_PER_BAR
  qpm = (sequence.tempos[0].qpm if sequence.tempos
         else note_seq.DEFAULT_QUARTERS_PER_MINUTE)
  seconds_per_step = 60.0 / qpm / midi.STEPS_PER_QUARTER
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
    raise UserError(
        f'{name}: bars {start_bar}-{start_bar + midi.BARS - 1} (of '
        f'{total_bars}) hold no 4/4 drum groove (drums must be on channel 10); '
        'choose another start bar')
  return window


def fluidsynth_available(soundfont):
  """Whether WAVs can be rendered: warns (MIDI still gets written) if not."""
  audio.check_soundfont(soundfont or audio.default_soundfont())
  try:
    audio.require_fluidsynth()
  except audio.FluidSynthMissing as e:
    cli.warning_line(f'{e}; writing MIDI without WAV')
    return False
  return True


def write_midi_files(sequences, stem):
  """Writes `stem-000-of-NNN.mid`...; returns the paths written."""
  return [
      files.write_output(f'{stem}-{i:03d}-of-{len(sequences):03d}.mid',
                         lambda tmp, s=sequence: note_seq.sequence_proto_to_midi_file(s, tmp))
      for i, sequence in enumerate(sequences)]

