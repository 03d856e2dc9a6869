"""A training step with drumvae/fast_lstm.py as at a git revision, against the working tree's.

  .venv/bin/python benchmarks/step_ab.py --config=hierdec-drums_4bar_small \
      --batch_size=64 --baseline=HEAD

Builds Magenta's training step (music_vae_train's loss, gradient clipping and
Adam) twice in one process, over the same constant windows with the same
weights: once with the LSTMs of `--baseline`'s fast_lstm.py, once with the
working tree's. Then runs the two alternately and prints the median and
fastest seconds a step of each, and their first losses (equal when the change
keeps the math). On a shared machine, two runs of benchmark.py minutes apart
differ by more than a change of a few percent; steps alternated within one
process see the same load. Only changes confined to fast_lstm.py can be
compared this way.
"""
import argparse
import importlib.util
import os
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO)

from drumvae import runtime  # pylint: disable=wrong-import-position


def module_at(revision):
  """drumvae/fast_lstm.py as committed at `revision`, imported under another name."""
  source = subprocess.run(['git', 'show', f'{revision}:drumvae/fast_lstm.py'], cwd=REPO,
                          check=True, capture_output=True, text=True).stdout
  with tempfile.NamedTemporaryFile('w', suffix='.py', delete=False) as file:
    file.write(source)
  spec = importlib.util.spec_from_file_location('fast_lstm_baseline', file.name)
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)  # takes Magenta's originals: call it while they are in place
  os.unlink(file.name)
  return module


def use_lstms_of(module):
  """Magenta's LSTMs built from now on take `module`'s fast path."""
  from magenta.contrib import rnn as contrib_rnn  # pylint: disable=g-import-not-at-top
  from magenta.models.music_vae import lstm_models  # pylint: disable=g-import-not-at-top
  contrib_rnn.LSTMBlockCell.call = module.call_as_matmul
  lstm_models.BidirectionalLstmEncoder.encode = module.encode_with_hoisted_input_products
  lstm_models.BaseLstmDecoder.build = module.build_decoder_with_output_projection


def training_step(config, windows):
  """A session and the loss fetch of one step of Magenta's training over `windows`."""
  import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
  hparams = config.hparams
  inputs, outputs = windows
  batch_size = len(inputs)
  graph = tf.Graph()
  with graph.as_default():
    tf.set_random_seed(1)
    model = config.model
    model.build(hparams, output_depth=outputs.shape[-1], is_training=True)
    optimizer = model.train(tf.constant(inputs), tf.constant(outputs),
                            tf.fill([batch_size], inputs.shape[1]),
                            tf.zeros([batch_size, inputs.shape[1], 0]))
    # As magenta.models.music_vae.music_vae_train.train builds it.
    gradients, variables = zip(*optimizer.compute_gradients(model.loss))
    norm = tf.global_norm(gradients)
    clipped = tf.cond(
        norm < hparams.grad_norm_clip_to_zero,
        lambda: tf.clip_by_global_norm(gradients, hparams.grad_clip, use_norm=norm)[0],
        lambda: [tf.zeros(tf.shape(g)) for g in gradients])
    step = optimizer.apply_gradients(zip(clipped, variables), global_step=model.global_step)
    with tf.control_dependencies([step]):
      loss = tf.identity(model.loss)
    session = tf.Session(graph=graph)
    session.run(tf.global_variables_initializer())
  return session, loss


def random_windows(config, batch_size, seed=0):
  """Windows of random hits, as the config's converter shapes them: drum rolls
  (9 drums + the 'no hit' column) and their one-hot 512-way targets, or
  GrooVAE's hits, velocities and offsets (the humanizer's inputs: hits only)."""
  import numpy as np  # pylint: disable=g-import-not-at-top
  random = np.random.RandomState(seed)
  hits = (random.rand(batch_size, 64, 9) < 0.25).astype(np.float32)
  if config.data_converter.output_depth == 512:
    inputs = np.concatenate([hits, (hits.sum(-1, keepdims=True) == 0).astype(np.float32)], -1)
    outputs = np.eye(512, dtype=np.float32)[hits.dot(2 ** np.arange(9)).astype(int)]
    return inputs, outputs
  velocities, offsets = hits * random.rand(*hits.shape), hits * (random.rand(*hits.shape) - 0.5)
  zeros = np.zeros_like(hits)
  return (np.concatenate([hits, zeros, zeros], -1).astype(np.float32),
          np.concatenate([hits, velocities, offsets], -1).astype(np.float32))


def parse_args():
  parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
  parser.add_argument('--config', default='hierdec-drums_4bar_small')
  parser.add_argument('--batch_size', type=int, default=64)
  parser.add_argument('--precision', choices=runtime.PRECISIONS, default='auto')
  parser.add_argument('--baseline', default='HEAD', help='git revision of the baseline')
  parser.add_argument('--steps', type=int, default=10, help='timed steps of each')
  return parser.parse_args()


def main():
  args = parse_args()
  runtime.setup()
  print(runtime.use_training_threads())
  runtime.load_tensorflow()
  import configs  # pylint: disable=g-import-not-at-top,unused-import  (registers them)
  from drumvae import fast_lstm, models  # pylint: disable=g-import-not-at-top
  runtime.use_fast_cpu_lstms(False)
  baseline = module_at(args.baseline)
  runtime.use_fast_cpu_lstms()
  print(runtime.use_precision(args.precision))
  baseline.PRODUCT_DTYPE = fast_lstm.PRODUCT_DTYPE
  windows = random_windows(models.get_config(args.config), args.batch_size)
  steps = {}
  for name, module in ((args.baseline, baseline), ('working tree', fast_lstm)):
    use_lstms_of(module)
    config = models.get_config(args.config, f'batch_size={args.batch_size}')
    steps[name] = training_step(config, windows)
  use_lstms_of(fast_lstm)
  losses = {name: [session.run(loss) for _ in range(2)] for name, (session, loss) in
            steps.items()}  # the first runs also optimise the graphs
  seconds = {name: [] for name in steps}
  for _ in range(args.steps):
    for name, (session, loss) in steps.items():
      start = time.perf_counter()
      losses[name].append(session.run(loss))
      seconds[name].append(time.perf_counter() - start)
  print(f'{args.config}, batch {args.batch_size}, {args.steps} steps each, alternated:')
  for name, times in seconds.items():
    print(f'  {name}: median {statistics.median(times):.3f} s, fastest {min(times):.3f} s; '
          f'losses {", ".join(f"{x:.3f}" for x in losses[name][:4])}')


if __name__ == '__main__':
  main()
