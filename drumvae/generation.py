"""generate.py's job: sample, interpolate, vary or humanize 4-bar grooves, and write them as MIDI (WAV, PNG).

`generate(Options(...))` does what `generate.py` does with the same flags and
returns the paths it wrote; the notebook and the tests call it directly. Call
`drumvae.runtime.setup()` and `load_tensorflow()` first.
"""
import dataclasses
import os
import time
from typing import Optional

from drumvae import audio
from drumvae import cli
from drumvae import drum_grid
from drumvae import files
from drumvae import humanization
from drumvae import latent_prior
from drumvae import midi
from drumvae import models
from drumvae import refinement
from drumvae import render
from drumvae import runtime
from drumvae.cli import UserError

import note_seq
import numpy as np


@dataclasses.dataclass
class Options:
  """generate.py's flags (same names, same defaults); see `generate.py --help`."""
  run_dir: Optional[str] = None  # neither this nor checkpoint_file: models.shipped_model(mode)
  checkpoint_file: Optional[str] = None
  config: Optional[str] = None
  hparams: str = ''
  mode: str = 'sample'  # or 'interpolate', 'similar', 'humanize'
  num_outputs: int = 5
  temperature: float = 0.5
  output_dir: str = 'samples'
  input_midi_1: Optional[str] = None
  input_midi_2: Optional[str] = None
  start_bar_1: int = 1
  start_bar_2: int = 1
  refine_steps: int = refinement.REFINE_STEPS
  similarity: float = 0.5
  seed: Optional[int] = None
  qpm: Optional[float] = None  # None: the first input's tempo, or 120
  max_batch_size: int = 8
  render_wav: bool = False
  plot: bool = False
  soundfont: Optional[str] = None
  precision: str = 'auto'
  latent_prior: str = 'auto'
  humanize: bool = False  # pass the grooves of the other modes through a humanizer
  humanizer_run_dir: Optional[str] = None  # None: models.shipped_model('humanize')


def generate(options):
  """Samples, interpolates, varies or humanizes grooves, writes the files; returns their paths in order."""
  found = models.find_model(options.run_dir, options.checkpoint_file,
                            options.config, options.hparams, options.mode)
  config = found.config
  check_model_fits_mode(found, options.mode)
  humanized = options.humanize and options.mode != 'humanize'
  humanizer = find_humanizer(options.humanizer_run_dir) if humanized else None
  files.check_writable_dir(options.output_dir, 'output_dir')
  inputs = [four_bar_window(midi.read_drum_file(path, flag), start_bar, config,
                            f'--{flag}={path}')
            for path, start_bar, flag in (
                (options.input_midi_1, options.start_bar_1, 'input_midi_1'),
                (options.input_midi_2, options.start_bar_2, 'input_midi_2')
            )[:NUM_INPUTS[options.mode]]]
  render_wav = options.render_wav and fluidsynth_available(options.soundfont)
  cli.note_line(runtime.use_precision(options.precision))
  model = models.load_model(config, found.checkpoint,
                            min(options.max_batch_size, options.num_outputs),
                            found.description, seed=options.seed,
                            optimize_graph=False)
  qpm = options.qpm or (inputs[0].tempos[0].qpm if inputs
                        else note_seq.DEFAULT_QUARTERS_PER_MINUTE)
  if options.mode == 'humanize':
    sequences = humanization.perform(model, inputs)
  else:
    rng = np.random.default_rng(options.seed)
    tensors = MODES[options.mode](model, found, inputs, options, rng)
    sequences = config.data_converter.from_tensors(tensors)
  sequences = [midi.at_tempo(sequence, qpm) for sequence in sequences]
  if humanizer:
    sequences = humanization.perform(
        models.load_model(humanizer.config, humanizer.checkpoint,
                          min(options.max_batch_size, len(sequences)),
                          humanizer.description, optimize_graph=False),
        sequences)
  stem = os.path.join(
      options.output_dir,
      f'{found.config_name}_{options.mode}{"_humanized" * humanized}_'
      f'{time.strftime("%Y-%m-%d_%H%M%S")}')
  written = write_midi_files(sequences, stem)
  if render_wav or options.plot:
    written += render.render_midi_files(list(written), wav=render_wav,
                                        plot=options.plot,
                                        soundfont=options.soundfont)
  if options.plot and options.mode == 'interpolate':
    written.append(files.write_output(
        f'{stem}-interpolation.png',
        lambda tmp: drum_grid.plot_interpolation(sequences, tmp)))
  if options.plot and options.mode == 'similar':
    written.append(files.write_output(
        f'{stem}-variations.png',
        lambda tmp: drum_grid.plot_variations(inputs[0], sequences, tmp)))
  if options.plot and options.mode == 'humanize':
    written.append(files.write_output(
        f'{stem}-before-after.png',
        lambda tmp: drum_grid.plot_stack([inputs[0], sequences[0]],
                                         ['input', 'humanized'], tmp)))
  return written


def check_model_fits_mode(found, mode):
  """UserError if a humanizer is asked to make grooves, or a groove model to humanize."""
  humanizer = models.is_humanizer(found.config)
  if humanizer != (mode == 'humanize'):
    what = ('a humanizer (GrooVAE)' if humanizer
            else 'a groove model, not a humanizer')
    needs = ('a groovae-* humanize model' if mode == 'humanize'
             else 'a groove model; a humanizer runs after one with --humanize')
    raise UserError(f'{found.run_dir or found.checkpoint} holds {what} '
                    f'(--config={found.config_name}); --mode={mode} needs {needs}')


def find_humanizer(run_dir):
  """The humanize model of --humanizer_run_dir (None: the shipped one)."""
  found = models.find_model(run_dir, mode='humanize')
  check_model_fits_mode(found, 'humanize')
  return found


def sample(model, found, inputs, options, rng):
  """`options.num_outputs` new grooves, z drawn as --latent_prior says."""
  del inputs  # samples start from none
  return decode_with_progress(model, draw_z(found, options, options.num_outputs, rng),
                              options.temperature)


PROGRESS_SECS = 10.0


def decode_with_progress(model, z, temperature, progress_secs=PROGRESS_SECS):
  """Decodes `z` in chunks, printing how far it got every `progress_secs` seconds."""
  chunk = model.batch_size * 16
  decoded, start = [], time.monotonic()
  last_report = start
  for first in range(0, len(z), chunk):
    decoded += model.decode_to_tensors(z[first:first + chunk],
                                       length=model.max_seq_len,
                                       temperature=temperature)
    now = time.monotonic()
    if now - last_report >= progress_secs and len(decoded) < len(z):
      left = (len(z) - len(decoded)) * (now - start) / len(decoded)
      cli.note_line(f'decoded {len(decoded)}/{len(z)} grooves, about {left:.0f} s left')
      last_report = now
  return decoded


def draw_z(found, options, num, rng):
  """`num` latent vectors from --latent_prior, which is named in one line."""
  z_size = found.config.hparams.z_size
  prior, which = latent_prior.choose(found.run_dir, z_size,
                                     options.latent_prior)
  cli.note_line(which)
  return latent_prior.draw(prior, num, z_size, rng).astype(np.float32)


def fitted_codes(model, inputs, refine_steps):
  """(output tensors, z) of the input windows, z refined for `refine_steps`."""
  _, outputs, lengths, mu = model.encode_windows(inputs)
  return outputs, model.refine(outputs, lengths, mu, refine_steps)


def interpolate(model, found, inputs, options, rng):
  """A morph of `options.num_outputs` steps, slerp between the fitted codes.

  Its ends are decoded nearest their inputs (refinement.RefinableModel.decode_nearest),
  the steps between at --temperature.
  """
  del rng  # the decoder draws its own randomness (seeded with the graph)
  outputs, (z_start, z_end) = fitted_codes(model, inputs, options.refine_steps)
  if options.num_outputs == 1:
    return model.decode_nearest([z_start], outputs[:1])
  return list(model.morphs([z_start], [z_end], outputs[:1], outputs[1:],
                           options.num_outputs, options.temperature)[0])


def similar(model, found, inputs, options, rng):
  """Variations of the input: z = s * its fitted code + (1 - s) * a prior draw.

  Magenta.js's `similar()` mixes the input's code with N(0, I) draws the same
  way; here the draws come from --latent_prior, as samples do.
  """
  _, z_input = fitted_codes(model, inputs, options.refine_steps)
  others = draw_z(found, options, options.num_outputs, rng)
  z = options.similarity * z_input + (1 - options.similarity) * others
  return model.decode_to_tensors(z.astype(np.float32),
                                 length=model.max_seq_len,
                                 temperature=options.temperature)


MODES = {'sample': sample, 'interpolate': interpolate, 'similar': similar}
NUM_INPUTS = {'sample': 0, 'interpolate': 2, 'similar': 1, 'humanize': 1}  # --input_midi_N read


def four_bar_window(sequence, start_bar, config, name):
  """Cuts `sequence` to the 4 bars from `start_bar` (1-based), on the 16th grid.

  A whole performance yields one example per bar to Magenta's encoder, which
  then refuses it (MultipleExtractedExamplesError); one window yields one.
  A sequence shorter than 4 bars is a loop: it is repeated to fill them.
  """
  quantized = midi.quantize(sequence, name)
  signature = quantized.time_signatures[0] if quantized.time_signatures else None
  if signature and (signature.numerator, signature.denominator) != (4, 4):
    raise UserError(f'{name}: in {signature.numerator}/{signature.denominator}; '
                    'the models play 4-bar grooves in 4/4')
  total_bars = -(-quantized.total_quantized_steps // midi.STEPS_PER_BAR)
  num_steps = midi.BARS * midi.STEPS_PER_BAR
  loop_steps = num_steps  # no repetition
  if start_bar == 1 and 0 < total_bars < midi.BARS:
    loop_steps = total_bars * midi.STEPS_PER_BAR
    cli.note_line(f'{name}: a {total_bars}-bar loop, repeated to fill '
                  f'{midi.BARS} bars')
  first_step = (start_bar - 1) * midi.STEPS_PER_BAR
  qpm = midi.qpm_of(sequence)
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
  converter = config.data_converter
  converter.set_mode('infer')
  if not (humanization.window_hits(window, converter.pitch_class_map).any()
          if models.is_humanizer(config)
          else len(converter.to_tensors(window).outputs) == 1):
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
                         lambda tmp, s=sequence: midi.write_midi_file(s, tmp))
      for i, sequence in enumerate(sequences)]

