"""A trained run, made small enough to ship: its weights without the optimizer.

A training checkpoint holds Adam's two moment estimates beside every weight
(3x the model) and a graph (.meta) that `TrainedModel` never reads; the
exported run dir keeps only the model's variables and the global step, plus
the mixture of Gaussians fitted to its training windows' codes that samples draw z from
(`latent_prior`), and works as --run_dir for generate.py and train.py
--mode=eval.
"""
import os
import shutil

from drumvae import cli
from drumvae import dataset
from drumvae import latent_prior
from drumvae import models
from drumvae import run_dirs
from drumvae.cli import UserError

import tensorflow.compat.v1 as tf

_OPTIMIZER_VARIABLES = ('/Adam', 'beta1_power', 'beta2_power')


def model_variables(checkpoint):
  """{name: value} of the checkpoint's variables that inference restores."""
  try:
    reader = tf.train.load_checkpoint(checkpoint)
    return {name: reader.get_tensor(name)
            for name in reader.get_variable_to_shape_map()
            if not any(part in name for part in _OPTIMIZER_VARIABLES)}
  except models.DAMAGED_CHECKPOINT_ERRORS as e:
    raise models.damaged_checkpoint(checkpoint, e) from None


def fit_latent_prior(run_dir, checkpoint, examples_path):
  """The latent prior of `checkpoint`, fitted to every window of `examples_path`."""
  _, _, config = models.config_for_run(run_dir)
  examples = dataset.convert_examples(examples_path, config.data_converter,
                                      'eval', 'all')
  dataset.check_enough_examples(examples, 1, examples_path)
  model = models.load_model(config, checkpoint, PRIOR_BATCH_SIZE,
                                f'the config recorded in {run_dir}')
  _, mu, sigma = model.encode_tensors(list(examples.inputs),
                                      list(examples.lengths))
  return latent_prior.fit(mu, sigma)


PRIOR_BATCH_SIZE = 256  # windows encoded at once while fitting the prior


def export_run(run_dir, output_dir, examples_path=None):
  """Writes `output_dir` with run.json, eval metrics, slim weights and prior.

  The prior is fitted to `examples_path` (default: the training data recorded
  in run.json); without either, the export has none and samples use N(0, I).
  A humanizer gets none: it only encodes the grooves it is given.
  Returns the checkpoint prefix written.
  """
  checkpoint = run_dirs.latest_checkpoint(run_dir)
  humanizer = models.is_humanizer(models.config_for_run(run_dir)[2])
  if os.path.exists(output_dir):
    raise UserError(f'--output_dir={output_dir} exists; choose a new one')
  examples_path = examples_path or (run_dirs.read_run(run_dir) or {}).get(
      'examples_path')
  if examples_path and not dataset.examples_files(examples_path):
    raise UserError(f'--examples_path={examples_path}: no such file (the '
                    'training data, to fit the latent prior to)')
  variables = model_variables(checkpoint)
  staging = output_dir.rstrip('/') + '.partial'
  shutil.rmtree(staging, ignore_errors=True)
  os.makedirs(run_dirs.train_dir(staging))
  with tf.Graph().as_default():
    saved = [tf.Variable(value, name=name.split(':')[0])
             for name, value in sorted(variables.items())]
    saver = tf.train.Saver({v.op.name: v for v in saved},
                           save_relative_paths=True)
    with tf.Session() as session:
      session.run(tf.global_variables_initializer())
      saver.save(session, os.path.join(run_dirs.train_dir(staging),
                                       os.path.basename(checkpoint)),
                 write_meta_graph=False)
  shutil.copy(os.path.join(run_dir, run_dirs.RUN_FILE), staging)
  if examples_path and not humanizer:
    prior = fit_latent_prior(staging, os.path.join(
        run_dirs.train_dir(staging), os.path.basename(checkpoint)), examples_path)
    latent_prior.save(staging, prior)
  elif not humanizer:
    cli.warning_line(f'{run_dir} records no training data and no '
                     '--examples_path was given: exported without a latent '
                     'prior, so samples draw z from N(0, I)')
  metrics = run_dirs.metrics_path(run_dir)
  if os.path.isfile(metrics):
    os.makedirs(run_dirs.eval_dir(staging))
    shutil.copy(metrics, run_dirs.eval_dir(staging))
  os.rename(staging, output_dir)
  return os.path.join(run_dirs.train_dir(output_dir),
                      os.path.basename(checkpoint))
