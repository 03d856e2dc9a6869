"""Compare trained runs: a markdown table of their eval metrics and a loss-curve PNG.

  python train.py --mode=eval --run_dir=runs/flat --examples_path=data/groove-validation.tfrecord
  ...
  python compare_runs.py --run_dirs=runs/flat,runs/small,runs/large --output_png=loss.png

Each run dir needs RUN_DIR/eval/metrics.json (from train.py --mode=eval) for
the table; the curves come from the TensorBoard events in RUN_DIR/train.
"""
from absl import flags

from drumvae import cli
from drumvae import runtime

FLAGS = flags.FLAGS

flags.DEFINE_list('run_dirs', None, 'Comma-separated run directories to compare.')
flags.DEFINE_string(
    'output_png', None,
    'Where to write the training-loss curves (PNG); none if not given.')
flags.DEFINE_string(
    'eval_dir_suffix', '',
    'Suffix of the eval directories, as given to train.py --mode=eval.')
flags.mark_flag_as_required('run_dirs')


def main(argv):
  del argv  # cli.run refuses extra arguments
  runtime.setup(FLAGS.verbose)
  runtime.load_tensorflow(FLAGS.verbose, fast_lstms=False)  # it reads the events
  from drumvae import comparison  # TensorFlow: after the flags are checked
  print(comparison.metrics_table(FLAGS.run_dirs, FLAGS.eval_dir_suffix))
  if FLAGS.output_png:
    comparison.plot_loss_curves(FLAGS.run_dirs, FLAGS.output_png)
    print(f'wrote {FLAGS.output_png}')


if __name__ == '__main__':
  cli.run(main)
