"""A trained run, made small enough to ship: its weights without the optimizer.

A training checkpoint holds Adam's two moment estimates beside every weight
(3x the model) and a graph (.meta) that `TrainedModel` never reads; the
exported run dir keeps only the model's variables and the global step, and
works as --run_dir for generate.py and train.py --mode=eval.
"""
import os
import shutil

from drumvae import run_dirs
from drumvae.cli import UserError

import tensorflow.compat.v1 as tf

_OPTIMIZER_VARIABLES = ('/Adam', 'beta1_power', 'beta2_power')


def model_variables(checkpoint):
  """{name: value} of the checkpoint's variables that inference restores."""
  reader = tf.train.load_checkpoint(checkpoint)
  return {name: reader.get_tensor(name)
          for name in reader.get_variable_to_shape_map()
          if not any(part in name for part in _OPTIMIZER_VARIABLES)}


def export_run(run_dir, output_dir):
  """Writes `output_dir` with run.json, eval metrics and slim weights.

  Returns the checkpoint prefix written.
  """
  checkpoint = run_dirs.latest_checkpoint(run_dir)
  if os.path.exists(output_dir):
    raise UserError(f'--output_dir={output_dir} exists; choose a new one')
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
  metrics = run_dirs.metrics_path(run_dir)
  if os.path.isfile(metrics):
    os.makedirs(run_dirs.eval_dir(staging))
    shutil.copy(metrics, run_dirs.eval_dir(staging))
  os.rename(staging, output_dir)
  return os.path.join(run_dirs.train_dir(output_dir),
                      os.path.basename(checkpoint))
