"""One-shot evaluation with the MusicVAE paper's figures, written to metrics.json.

Magenta's `evaluate()` polls for new checkpoints forever. Here the latest
checkpoint is evaluated once, with the same graph (`MusicVAE.eval`) and the same
summaries in the eval directory, plus the paper's sampled reconstruction
accuracy, which Magenta does not compute.
"""
import copy
import os

import numpy as np

from drumvae import files
from drumvae import tf_env  # pylint: disable=unused-import  (must precede TF)

import tensorflow.compat.v1 as tf
import tf_slim
from magenta.models.music_vae import TrainedModel
from magenta.models.music_vae import music_vae_train

# Decoding temperature for the sampled accuracy: the decoder samples from
# softmax(logits / T); at T = 1e-5 that is the most likely hit pattern at every
# step (argmax), fed back as the next input, without teacher forcing.
SAMPLED_TEMPERATURE = 1e-5
METRICS_FILE = 'metrics.json'


def teacher_forced_metrics(checkpoint, eval_dir, config, dataset, num_batches,
                           master=''):
  """Runs Magenta's eval graph over `num_batches`; returns its summaries."""
  config = copy.deepcopy(config)  # building the model binds it to this graph
  with tf.Graph().as_default():
    model = config.model
    model.build(config.hparams, config.data_converter.output_depth,
                is_training=False)
    # Magenta's own input wiring for train()/evaluate().
    inputs = music_vae_train._get_input_tensors(dataset(), config)  # pylint: disable=protected-access
    update_ops = model.eval(**inputs)
    summary_op = tf.summary.merge_all()
    serialized, step = tf_slim.evaluation.evaluate_once(
        master, checkpoint, eval_dir, num_evals=num_batches, eval_op=update_ops,
        final_op=[summary_op, model.global_step], summary_op=summary_op)
  summaries = tf.Summary.FromString(serialized)
  values = {v.tag: float(v.simple_value) for v in summaries.value}
  return int(step), values


def sampled_accuracy(checkpoint, config, examples, batch_size):
  """Share of 16th-note steps whose 512-way hit pattern is decoded exactly.

  Each example is encoded to its posterior mean z = mu and decoded at
  SAMPLED_TEMPERATURE without teacher forcing.
  """
  model = TrainedModel(config, batch_size=batch_size,
                       checkpoint_dir_or_path=checkpoint)
  _, mu, _ = model.encode_tensors(list(examples.inputs), list(examples.lengths))
  decoded = model.decode_to_tensors(
      mu, length=config.hparams.max_seq_len, temperature=SAMPLED_TEMPERATURE)
  correct = total = 0
  for target, output, length in zip(examples.outputs, decoded,
                                    examples.lengths):
    steps = min(length, len(output))
    correct += np.sum(np.argmax(output[:steps], -1) ==
                      np.argmax(target[:steps], -1))
    total += length
  return correct / total


def write_metrics(eval_dir, metrics):
  return files.write_json(os.path.join(eval_dir, METRICS_FILE), metrics)
