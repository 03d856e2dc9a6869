"""Where a training step's time goes: TensorFlow's per-op trace of train.py's step.

  .venv/bin/python benchmarks/profile_step.py --config=hierdec-drums_4bar_small \
      --batch_size=64 --precision=bfloat16 --examples_path=data/groove-train.tfrecord

Trains --warmup_steps, then traces --traced_steps steps (RunOptions FULL_TRACE)
and prints three tables: op time by kind of op, by part of the model, and by
both. Op times are summed over ops, which run in parallel on several cores, so
their total is more than the step's wall time; the shares are what to read.
Tracing costs time per op, so traced steps run slower than untraced ones and
the many small element-wise ops weigh more in them than they do untraced.
benchmarks/benchmark.py runs `profile()` for its report.
"""
import argparse
import collections
import os
import tempfile
import time

# Parts of the model, by the first matching piece of an op's name.
PARTS = (('OptimizeLoss', 'optimizer'), ('Adam', 'optimizer'),
         ('clip', 'optimizer'), ('encoder', 'encoder (forward)'),
         ('decoder', 'decoder (forward)'), ('Iterator', 'input pipeline'))
# Backward ops carry their forward op's scope after gradients/.
BACKWARD_PARTS = (('encoder', 'encoder (backward)'), ('decoder', 'decoder (backward)'))


def part_of(node_name):
  if node_name.startswith('gradients'):
    rest = node_name.split('/', 1)[-1]
    return next((part for key, part in BACKWARD_PARTS if key in rest), 'backward, other')
  return next((part for key, part in PARTS if key in node_name), 'other')


def op_kind(node):
  """'MatMul', 'Cast', ... from the trace's label 'name = Op(inputs)'."""
  label = node.timeline_label
  return label.split(' = ', 1)[1].split('(', 1)[0] if ' = ' in label else node.node_name


class TraceHook:
  """Traces steps after the warm-up; sums op microseconds by kind and by part."""

  def __init__(self, warmup_steps, traced_steps):
    import tensorflow.compat.v1 as tf  # pylint: disable=g-import-not-at-top
    self.tf = tf
    self.warmup, self.traced = warmup_steps, traced_steps
    self.step = 0
    self.by_kind, self.by_part = collections.Counter(), collections.Counter()
    self.by_part_and_kind = collections.Counter()
    self.wall = []

  def hook(self):
    outer = self

    class Hook(self.tf.train.SessionRunHook):

      def before_run(self, run_context):
        outer.started = time.monotonic()
        if outer.tracing():
          return outer.tf.train.SessionRunArgs(
              fetches=None, options=outer.tf.RunOptions(
                  trace_level=outer.tf.RunOptions.FULL_TRACE))
        return None

      def after_run(self, run_context, run_values):
        if outer.tracing():
          outer.wall.append(time.monotonic() - outer.started)
          outer.add(run_values.run_metadata.step_stats)
        outer.step += 1

    return Hook()

  def tracing(self):
    return self.warmup <= self.step < self.warmup + self.traced

  def add(self, step_stats):
    for device in step_stats.dev_stats:
      for node in device.node_stats:
        micros = node.all_end_rel_micros
        kind, part = op_kind(node), part_of(node.node_name)
        self.by_kind[kind] += micros
        self.by_part[part] += micros
        self.by_part_and_kind[f'{part}: {kind}'] += micros


def table(title, counter, num_steps, rows=15):
  total = sum(counter.values())
  lines = [f'| {title} | ms a step | share |', '| --- | ---: | ---: |']
  for name, micros in counter.most_common(rows):
    lines.append(f'| {name} | {micros / num_steps / 1000:.1f} | {micros / total:.1%} |')
  rest = total - sum(micros for _, micros in counter.most_common(rows))
  if rest:
    lines.append(f'| (the rest) | {rest / num_steps / 1000:.1f} | {rest / total:.1%} |')
  lines.append(f'| all ops (summed over cores) | {total / num_steps / 1000:.1f} | |')
  return '\n'.join(lines)


def profile(config, batch_size, precision, examples_path, warmup_steps, traced_steps):
  """Trains warmup_steps + traced_steps of train.py's step; returns the TraceHook."""
  from drumvae import runtime  # pylint: disable=g-import-not-at-top
  runtime.setup()
  runtime.use_training_threads()  # as train.py does
  runtime.load_tensorflow()
  import configs  # pylint: disable=g-import-not-at-top,unused-import  (registers them)
  from drumvae import training  # pylint: disable=g-import-not-at-top
  trace = TraceHook(warmup_steps, traced_steps)
  with tempfile.TemporaryDirectory() as run_dir:
    training.train(training.Options(
        run_dir=os.path.join(run_dir, 'run'), config=config,
        hparams=f'batch_size={batch_size}', examples_path=examples_path,
        num_steps=warmup_steps + traced_steps, progress_secs=0,
        precision=precision, save_checkpoint_secs=1e9), extra_hooks=[trace.hook()])
  return trace


def parse_args():
  # argparse, not absl flags: Magenta's music_vae_train defines --config and --examples_path.
  parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
  parser.add_argument('--config', default='hierdec-drums_4bar_small')
  parser.add_argument('--batch_size', type=int, default=64)
  parser.add_argument('--precision', choices=['float32', 'bfloat16'], default='bfloat16')
  parser.add_argument('--examples_path', required=True,
                      help='training data, a tfrecord of NoteSequences')
  parser.add_argument('--warmup_steps', type=int, default=5, help='steps before the trace')
  parser.add_argument('--traced_steps', type=int, default=3,
                      help='steps traced (their op times are averaged)')
  return parser.parse_args()


def main():
  args = parse_args()
  trace = profile(args.config, args.batch_size, args.precision, args.examples_path,
                  args.warmup_steps, args.traced_steps)
  # Imported here: benchmark.py imports this module for its own profile job.
  import benchmark  # pylint: disable=g-import-not-at-top  (how it reads the CPU)
  cpu = benchmark.cpu_info()
  print(f'{cpu["cpu"]}, {cpu["cores"]} cores; flags: {", ".join(cpu["flags"] or ["not read"])}')
  print(f'{args.config}, batch {args.batch_size}, {args.precision}: traced steps '
        f'{", ".join(f"{s:.2f}" for s in trace.wall)} s (wall)\n')
  print(table('op', trace.by_kind, args.traced_steps))
  print()
  print(table('part of the step', trace.by_part, args.traced_steps))
  print()
  print(table('part: op', trace.by_part_and_kind, args.traced_steps))


if __name__ == '__main__':
  main()
