"""Export a trained run for sharing, or for Magenta.js in the browser.

  python export_model.py --run_dir=runs/cpu --output_dir=models/my_drums
  python export_model.py --run_dir=models/my_drums --format=magentajs \
      --output_dir=web/models/my_drums

The output is a run dir (run.json, eval/metrics.json, train/ with the latest
checkpoint minus the optimizer's state, about a third of its size, and
latent_prior.npz, the mixture of Gaussians fitted to the training windows'
codes that samples draw z from) that generate.py and train.py --mode=eval take
as --run_dir. --format=magentajs writes what `mm.MusicVAE(url)` loads
(drumvae.magentajs): config.json, weights_manifest.json and shards, the latent
prior as JSON, and parity.json, which the page in web/ checks itself against.
"""
from absl import flags

from drumvae import cli
from drumvae import run_dirs
from drumvae import runtime

FLAGS = flags.FLAGS

flags.DEFINE_string('run_dir', None, 'Run directory of train.py to export.')
flags.DEFINE_string('output_dir', None,
                    'New directory to write the exported run dir to.')
flags.DEFINE_string(
    'examples_path', None,
    'Training data (a tfrecord of NoteSequences) to fit the latent prior that '
    'samples draw z from; default: the one RUN_DIR/run.json records.')
flags.DEFINE_enum('format', 'run_dir', ['run_dir', 'magentajs'],
                  'run_dir: a run dir for generate.py and train.py; magentajs: a '
                  'directory Magenta.js (web/) loads.')
flags.DEFINE_enum('quantize', 'float32', ['float32', 'uint8'],
                  'With --format=magentajs: weights as float32, or as uint8 '
                  '(a quarter of the size; see README: In the browser).')
flags.mark_flags_as_required(['run_dir', 'output_dir'])


def main(argv):
  del argv  # cli.run refuses extra arguments
  runtime.setup(FLAGS.verbose)
  run_dirs.check_has_checkpoint(FLAGS.run_dir)
  runtime.load_tensorflow(FLAGS.verbose)
  import configs  # pylint: disable=g-import-not-at-top,unused-import  (registers them)
  from drumvae import export  # pylint: disable=g-import-not-at-top
  from drumvae import magentajs  # pylint: disable=g-import-not-at-top
  if FLAGS.format == 'magentajs':
    size = magentajs.export_run(FLAGS.run_dir, FLAGS.output_dir, FLAGS.quantize,
                                FLAGS.examples_path)
    print(f'{FLAGS.output_dir} ({size / 1e6:.1f} MB of weights)')
  else:
    print(export.export_run(FLAGS.run_dir, FLAGS.output_dir, FLAGS.examples_path))


if __name__ == '__main__':
  cli.run(main)
