"""The two places where Magenta 2.1.4 must be worked around on a current TensorFlow.

1. `get_dataset_without_unbatch()`: Magenta's `data.get_dataset` calls
   `Dataset.unbatch()`, which segfaults on TF >= 2.15 for the zero-width control
   tensor that DrumsConverter yields (a TF regression; TF 2.9.1 is fine). While
   Magenta builds its pipeline we swap in `flat_map(from_tensor_slices)`, which
   yields the same elements.
2. `train_with_hooks()`: Magenta's `music_vae_train.train()` builds its own hook
   list and session config with no way to pass more; we add ours (progress,
   graceful stop, thread settings) at the one call it makes, tf_slim's `train`.

Everything else calls Magenta as it is.
"""
import contextlib

from drumvae import tf_env  # pylint: disable=unused-import  (must precede TF)

import tensorflow.compat.v1 as tf
import tf_slim
from magenta.models.music_vae import data
from magenta.models.music_vae import music_vae_train


def _unbatch_with_flat_map(dataset):
  return dataset.flat_map(lambda *rows: tf.data.Dataset.from_tensor_slices(rows))


@contextlib.contextmanager
def _patched(owner, name, replacement):
  original = getattr(owner, name)
  setattr(owner, name, replacement)
  try:
    yield
  finally:
    setattr(owner, name, original)


def get_dataset_without_unbatch(config, is_training, cache_dataset=True):
  """Magenta's `data.get_dataset`, with `unbatch()` done by `flat_map`."""
  with _patched(tf.data.Dataset, 'unbatch', _unbatch_with_flat_map):
    return data.get_dataset(
        config, is_training=is_training, cache_dataset=cache_dataset)


def train_with_hooks(train_dir, config, dataset_fn, hooks=(),
                     session_config=None, save_summaries_steps=100,
                     **train_kwargs):
  """Runs Magenta's `music_vae_train.train()` with extra session hooks.

  Also sets the session config and how often TensorBoard summaries are saved
  (Magenta leaves tf_slim's default, every 100 steps).

  `train_kwargs` are passed to Magenta's `train()` unchanged (num_steps,
  checkpoints_to_keep, master, task, ...).
  """
  magenta_tf_slim_train = tf_slim.training.train

  def tf_slim_train_with_hooks(*args, **kwargs):
    kwargs['hooks'] = list(kwargs.get('hooks') or []) + list(hooks)
    if session_config is not None:
      kwargs['config'] = session_config
    kwargs['save_summaries_steps'] = save_summaries_steps
    return magenta_tf_slim_train(*args, **kwargs)

  with _patched(tf_slim.training, 'train', tf_slim_train_with_hooks):
    music_vae_train.train(train_dir, config=config, dataset_fn=dataset_fn,
                          **train_kwargs)
