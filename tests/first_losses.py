"""Prints the losses of the first training steps of a tiny model, as JSON.

Run by test_speed.py in a child process per path, since oneDNN is chosen when
TensorFlow starts:
  stock -- TF_ENABLE_ONEDNN_OPTS=0, LSTMBlockCell ops, Magenta's get_dataset
           (with only the unbatch workaround);
  fast  -- TF_ENABLE_ONEDNN_OPTS=1, fast CPU LSTMs (drumvae.fast_lstm), our converted dataset.
Both run Magenta's train() on the same examples in file order with one seed,
on flat-drums_4bar: its graph builds in a quarter of the hierarchical one's
time, and every fast-path change is in it (the MatMul cells, the hoisted
encoder, the output projection, the data). test_speed.py compares a
hierarchical model's outputs and gradients on its own.
"""
import json
import sys

from drumvae import runtime  # pylint: disable=g-bad-import-order

runtime.setup()
runtime.load_tensorflow(fast_lstms=sys.argv[1] == 'fast')

import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top,g-bad-import-order
from tensorflow.python.framework import random_seed  # pylint: disable=g-import-not-at-top

import configs  # pylint: disable=g-import-not-at-top
from drumvae import models  # pylint: disable=g-import-not-at-top
from drumvae import dataset  # pylint: disable=g-import-not-at-top
from drumvae import training  # pylint: disable=g-import-not-at-top

HPARAMS = 'batch_size=4,z_size=8,enc_rnn_size=[16],dec_rnn_size=[8,8]'
SEED = 1234


class RandomOpsSeededByCreationOrder:
  """Op seeds by the order random ops are made, not by graph op ids.

  The MatMul cells add ops to the graph, which would shift TensorFlow's default
  op seeds and give the two paths different random draws (initial weights, z
  noise, scheduled sampling). Counting only random ops, from 0 once the input
  pipeline is built (Magenta's asks for one seed more), gives both the same.
  """

  def __init__(self):
    self.count = 0
    get_seed = random_seed.get_seed

    def get_seed_by_order(op_seed):
      if op_seed is None and tf.get_default_graph().seed is not None:
        op_seed, self.count = self.count, self.count + 1
      return get_seed(op_seed)

    random_seed.get_seed = get_seed_by_order


class LossRecorder(tf.train.SessionRunHook):

  def __init__(self, config):
    self.config, self.losses = config, []

  def before_run(self, run_context):
    return tf.train.SessionRunArgs(self.config.model.loss)

  def after_run(self, run_context, run_values):
    self.losses.append(float(run_values.results))


def main(path, examples_path, train_dir, num_steps):
  seeds = RandomOpsSeededByCreationOrder()
  config = models.get_config('flat-drums_4bar', HPARAMS)
  config = config._replace(train_examples_path=examples_path, eval_examples_path=examples_path)
  if path == 'fast':
    examples = dataset.convert_examples(examples_path, config.data_converter, 'eval')
    make = lambda: dataset.make_dataset(examples, 4, is_training=False)
  else:
    make = lambda: runtime.magenta_dataset(config, is_training=False)

  def dataset_fn():
    tf.set_random_seed(SEED)
    batches = make()
    seeds.count = 0  # The model's random ops come next.
    return batches

  recorder = LossRecorder(config)
  training.magenta_train(train_dir, config, dataset_fn, our_hooks=[recorder],
                        num_steps=num_steps)
  print(json.dumps(recorder.losses))


if __name__ == '__main__':
  main(sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]))
