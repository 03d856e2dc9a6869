"""MusicVAE configs for 4-bar drum grooves, registered into Magenta's CONFIG_MAP.

Importing this module adds the configs below to
`magenta.models.music_vae.configs.CONFIG_MAP`, so Magenta's own tools (and
`TrainedModel`) see them too, and to `drumvae.models`, whose `get_config()`
gives a private copy with `--hparams` applied (the registry itself is never
modified). Edit or add a config here; the scripts import this file.

  flat-drums_4bar           encoder 2x1024 (bidirectional), flat LSTM decoder 2x512
  hierdec-drums_4bar_small  encoder 2x512, hierarchical decoder 2x256 (a conductor
                            over 16 one-beat chunks of 4 sixteenths = 64 steps)
  hierdec-drums_4bar_large  encoder 2x1024, hierarchical decoder 2x512
  hierdec-drums_4bar        alias of hierdec-drums_4bar_small (the tutorial's name)
  hierdec-drums_4bar_cpu    encoder 2x128, hierarchical decoder 2x64, z 128,
                            batch 64, dropout: made to learn within hours on a
                            CPU (the shipped model; TRAINING.md has the sweep)
  hier-drums_4bar_cpu       the CPU settings with a two-level hierarchical
                            encoder (one bidirectional 256 layer per level, over
                            16 beats of 4 sixteenths) and a 2x128 decoder: the
                            structure Magenta.js loads (MusicVAE with numSegments)
  groovae-drums_4bar_humanize      GrooVAE (Magenta's groovae_2bar_humanize over 4
                            bars): the encoder sees the quantized hits, the
                            decoder gives back the drummer's hit, velocity and
                            timing offset per sixteenth and drum; encoder
                            [512] (bidirectional), flat decoder 2x256, z 256
  groovae-drums_4bar_humanize_cpu  the same, sized for a CPU (TRAINING.md)
"""

from drumvae.midi import BARS, STEPS_PER_BAR, STEPS_PER_QUARTER
from drumvae import runtime

runtime.check_environment()  # before Magenta imports TensorFlow

from magenta.common import merge_hparams
from magenta.contrib import training as contrib_training
from magenta.models.music_vae import configs as magenta_configs
from magenta.models.music_vae import data
from magenta.models.music_vae import lstm_models
from magenta.models.music_vae.base_model import MusicVAE

from drumvae import models

ALIASES = {'hierdec-drums_4bar': 'hierdec-drums_4bar_small'}


def _drum_hparams(enc_rnn_size, dec_rnn_size):
  return merge_hparams(
      lstm_models.get_default_hparams(),
      contrib_training.HParams(
          batch_size=512,
          max_seq_len=BARS * STEPS_PER_BAR,  # 64 sixteenth notes
          z_size=256,
          enc_rnn_size=enc_rnn_size,
          dec_rnn_size=dec_rnn_size,
          free_bits=48,  # bits of KL left unpenalised: keeps z informative
          max_beta=0.2,  # weak KL weight favours reconstruction, as in the paper
          sampling_schedule='inverse_sigmoid',  # scheduled sampling ...
          sampling_rate=1000,  # ... reaching 50% sampled inputs at ~step 7k
      ))


def _drum_converter():
  return data.DrumsConverter(
      max_bars=100,  # truncate long performances before slicing
      slice_bars=BARS,
      steps_per_quarter=STEPS_PER_QUARTER,
      roll_input=True)  # encoder sees the 9-class multi-hot roll, not one-hot


def _config(encoder, decoder, enc_rnn_size, dec_rnn_size):
  return magenta_configs.Config(
      model=MusicVAE(encoder, decoder),
      hparams=_drum_hparams(enc_rnn_size, dec_rnn_size),
      note_sequence_augmenter=None,
      data_converter=_drum_converter(),
      train_examples_path=None,
      eval_examples_path=None)


def _hierarchical_decoder():
  # 64 steps = 16 chunks x 4 steps; each chunk is decoded from its own
  # conductor embedding, without feeding back the previous chunk's output.
  return lstm_models.HierarchicalLstmDecoder(
      lstm_models.CategoricalLstmDecoder(),
      level_lengths=[16, 4],
      disable_autoregression=True)


DRUM_CONFIGS = {
    'flat-drums_4bar': _config(
        lstm_models.BidirectionalLstmEncoder(),
        lstm_models.CategoricalLstmDecoder(),
        enc_rnn_size=[1024, 1024], dec_rnn_size=[512, 512]),
    'hierdec-drums_4bar_small': _config(
        lstm_models.BidirectionalLstmEncoder(), _hierarchical_decoder(),
        enc_rnn_size=[512, 512], dec_rnn_size=[256, 256]),
    'hierdec-drums_4bar_large': _config(
        lstm_models.BidirectionalLstmEncoder(), _hierarchical_decoder(),
        enc_rnn_size=[1024, 1024], dec_rnn_size=[512, 512]),
}
DRUM_CONFIGS['hierdec-drums_4bar_cpu'] = _config(
    lstm_models.BidirectionalLstmEncoder(), _hierarchical_decoder(),
    enc_rnn_size=[128, 128], dec_rnn_size=[64, 64])
DRUM_CONFIGS['hierdec-drums_4bar_cpu'].hparams.override_from_dict(dict(
    batch_size=64,  # more, smaller steps: what a CPU budget can afford
    z_size=128,
    free_bits=256,  # z may carry ~256 bits unpenalised: enough to reconstruct
    dropout_keep_prob=0.5,  # Groove's windows overlap: without it, it overfits
    decay_rate=0.99995,  # learning rate 1e-3 halves every ~14k steps
    sampling_schedule='constant',  # teacher forcing throughout: each decoder
    sampling_rate=0))  # chunk is 4 steps, too short for exposure bias to show
# Magenta.js loads a conductor decoder only over a two-level hierarchical
# encoder of one bidirectional layer per level, split as the conductor is.
DRUM_CONFIGS['hier-drums_4bar_cpu'] = _config(
    lstm_models.HierarchicalLstmEncoder(lstm_models.BidirectionalLstmEncoder,
                                        level_lengths=[4, 16]),
    _hierarchical_decoder(), enc_rnn_size=[256], dec_rnn_size=[128, 128])
DRUM_CONFIGS['hier-drums_4bar_cpu'].hparams.override_from_dict({
    name: DRUM_CONFIGS['hierdec-drums_4bar_cpu'].hparams.get(name) for name in (
        'batch_size', 'z_size', 'free_bits', 'dropout_keep_prob', 'decay_rate',
        'sampling_schedule', 'sampling_rate')})


def _humanize_config(enc_rnn_size, dec_rnn_size, **hparams):
  """GrooVAE as Magenta's groovae_2bar_humanize configures it, over 4 bars."""
  return magenta_configs.Config(
      model=MusicVAE(lstm_models.BidirectionalLstmEncoder(),
                     lstm_models.GrooveLstmDecoder()),
      hparams=merge_hparams(
          lstm_models.get_default_hparams(),
          contrib_training.HParams(**{
              'batch_size': 512, 'max_seq_len': BARS * STEPS_PER_BAR,
              'z_size': 256, 'enc_rnn_size': enc_rnn_size,
              'dec_rnn_size': dec_rnn_size, 'max_beta': 0.2, 'free_bits': 48,
              'dropout_keep_prob': 0.3, **hparams})),
      note_sequence_augmenter=None,
      data_converter=data.GrooveConverter(
          split_bars=BARS, steps_per_quarter=STEPS_PER_QUARTER,
          quarters_per_bar=STEPS_PER_BAR // STEPS_PER_QUARTER,
          max_tensors_per_notesequence=20, humanize=True,
          hop_size=STEPS_PER_BAR,  # a window at every bar, as the drum configs slice
          pitch_classes=data.ROLAND_DRUM_PITCH_CLASSES,
          inference_pitch_classes=data.REDUCED_DRUM_PITCH_CLASSES),
      train_examples_path=None,
      eval_examples_path=None)


HUMANIZE_CONFIGS = {
    'groovae-drums_4bar_humanize': _humanize_config([512], [256, 256]),
    'groovae-drums_4bar_humanize_cpu': _humanize_config(
        [256], [128, 128], z_size=128),
}
models.register({**DRUM_CONFIGS, **HUMANIZE_CONFIGS}, ALIASES)

