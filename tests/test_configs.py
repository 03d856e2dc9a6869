"""The drum configs: the sizes the toolkit promises, registered in Magenta's CONFIG_MAP."""
import pytest

import configs
from drumvae import models
from magenta.models.music_vae import configs as magenta_configs
from magenta.models.music_vae import lstm_models

SIZES = {  # name: (encoder sizes, decoder sizes, hierarchical?)
    'flat-drums_4bar': ([1024, 1024], [512, 512], False),
    'hierdec-drums_4bar_small': ([512, 512], [256, 256], True),
    'hierdec-drums_4bar_large': ([1024, 1024], [512, 512], True),
    'hierdec-drums_4bar': ([512, 512], [256, 256], True),
}


@pytest.mark.parametrize('name', sorted(SIZES))
def test_config_sizes_and_shared_settings(name):
  enc, dec, hierarchical = SIZES[name]
  config = magenta_configs.CONFIG_MAP[name]  # registered on import
  hparams = config.hparams
  assert (hparams.enc_rnn_size, hparams.dec_rnn_size) == (enc, dec)
  assert (hparams.z_size, hparams.batch_size, hparams.max_seq_len) == (256, 512, 64)
  assert (hparams.free_bits, hparams.max_beta) == (48, 0.2)
  assert (hparams.sampling_schedule, hparams.sampling_rate) == ('inverse_sigmoid', 1000)
  assert isinstance(config.model.encoder, lstm_models.BidirectionalLstmEncoder)
  decoder = config.model.decoder
  if hierarchical:
    assert isinstance(decoder, lstm_models.HierarchicalLstmDecoder)
    assert decoder._level_lengths == [16, 4]  # pylint: disable=protected-access
    # disable_autoregression=True becomes the list of all levels.
    assert decoder._disable_autoregression == [0, 1]  # pylint: disable=protected-access
    assert isinstance(decoder._core_decoder, lstm_models.CategoricalLstmDecoder)  # pylint: disable=protected-access
  else:
    assert type(decoder) is lstm_models.CategoricalLstmDecoder
  converter = config.data_converter
  # max_bars=100 is kept as the extractor's step limit: 100 bars of 16 steps.
  assert converter._drums_extractor_fn.keywords['max_steps_truncate'] == 1600  # pylint: disable=protected-access
  assert (converter._slice_steps, converter._steps_per_quarter,  # pylint: disable=protected-access
          converter._roll_input) == (64, 4, True)  # pylint: disable=protected-access


def test_get_config_copies_and_leaves_registry_alone():
  config = models.get_config('hierdec-drums_4bar', 'batch_size=4,z_size=8')
  assert (config.hparams.batch_size, config.hparams.z_size) == (4, 8)
  assert magenta_configs.CONFIG_MAP['hierdec-drums_4bar'].hparams.batch_size == 512
  assert magenta_configs.CONFIG_MAP['hierdec-drums_4bar_small'].hparams.z_size == 256


def test_cpu_config_is_small_with_room_in_z_dropout_and_teacher_forcing():
  hparams = magenta_configs.CONFIG_MAP['hierdec-drums_4bar_cpu'].hparams
  assert (hparams.enc_rnn_size, hparams.dec_rnn_size) == ([128, 128], [64, 64])
  assert (hparams.z_size, hparams.batch_size, hparams.free_bits) == (128, 64, 256)
  assert hparams.dropout_keep_prob == 0.5
  assert (hparams.sampling_schedule, hparams.sampling_rate) == ('constant', 0)
  assert hparams.decay_rate == 0.99995
  # The paper-size configs are untouched by it.
  assert magenta_configs.CONFIG_MAP['hierdec-drums_4bar_small'].hparams.z_size == 256


def test_browser_config_has_the_structure_magentajs_loads():
  """Magenta.js loads a conductor decoder only over a two-level hierarchical encoder
  of one bidirectional layer per level, split as the conductor is (16 beats)."""
  config = magenta_configs.CONFIG_MAP['hier-drums_4bar_cpu']
  encoder, decoder = config.model.encoder, config.model.decoder
  assert isinstance(encoder, lstm_models.HierarchicalLstmEncoder)
  assert encoder.level_lengths == [4, 16]
  assert encoder._core_encoder_cls is lstm_models.BidirectionalLstmEncoder  # pylint: disable=protected-access
  assert decoder._level_lengths == [16, 4]  # pylint: disable=protected-access
  hparams = config.hparams
  assert (hparams.enc_rnn_size, hparams.dec_rnn_size) == ([256], [128, 128])
  cpu = magenta_configs.CONFIG_MAP['hierdec-drums_4bar_cpu'].hparams
  for name in ('batch_size', 'z_size', 'free_bits', 'dropout_keep_prob', 'decay_rate',
               'sampling_schedule', 'sampling_rate'):
    assert hparams.get(name) == cpu.get(name), name
