"""One-shot evaluation with the MusicVAE paper's figures, written to metrics.json.

Magenta's `evaluate()` polls for new checkpoints forever. Here the latest
checkpoint is evaluated once, on every example, with the same graph
(`MusicVAE.eval`) and the same summaries in the eval directory, plus the
paper's sampled reconstruction accuracy, which Magenta does not compute, and
the musical measures of `groove_metrics` for samples and interpolations.
"""
import copy
import os

import numpy as np

from drumvae import dataset
from drumvae import drum_grid
from drumvae import files
from drumvae import groove_metrics
from drumvae import humanization
from drumvae import latent_prior
from drumvae import models
from drumvae import refinement
from drumvae import run_dirs

import tensorflow.compat.v1 as tf
import tf_slim
from magenta.models.music_vae import music_vae_train

# Decoding temperature for the sampled accuracy: the decoder samples from
# softmax(logits / T); at T = 1e-5 that is the most likely hit pattern at every
# step (argmax), fed back as the next input, without teacher forcing.
SAMPLED_TEMPERATURE = 1e-5
INTERPOLATION_STEPS = 5  # generate.py's default --num_outputs


def teacher_forced_metrics(checkpoint, eval_dir, config, make_dataset,
                           examples, master=''):
  """Magenta's eval summaries over every one of `examples`.

  Magenta's graph has a fixed batch size and drops a partial last batch, so a
  remainder gets a second pass at its own batch size; the two are weighted by
  their number of examples (all 64 steps long). Only the first pass writes
  TensorBoard summaries.
  """
  batch_size = config.hparams.batch_size
  full = len(examples) // batch_size * batch_size
  step, values = _eval_pass(
      checkpoint, eval_dir, config,
      lambda: make_dataset(examples.head(full), batch_size),
      full // batch_size, master, write_summaries=True)
  if full < len(examples):
    rest = examples.take(np.arange(full, len(examples)))
    rest_config = copy.deepcopy(config)
    rest_config.hparams.batch_size = len(rest)
    _, rest_values = _eval_pass(checkpoint, eval_dir, rest_config,
                                lambda: make_dataset(rest, len(rest)), 1,
                                master, write_summaries=False)
    values = {tag: (value * full + rest_values[tag] * len(rest)) /
              len(examples) for tag, value in values.items()}
  return step, values


def _eval_pass(checkpoint, eval_dir, config, dataset_fn, num_batches, master,
               write_summaries):
  """Runs Magenta's eval graph over `num_batches`; returns its summaries."""
  config = copy.deepcopy(config)  # building the model binds it to this graph
  with tf.Graph().as_default():
    model = config.model
    model.build(config.hparams, config.data_converter.output_depth,
                is_training=False)
    # Magenta's own input wiring for train()/evaluate().
    inputs = music_vae_train._get_input_tensors(dataset_fn(), config)  # pylint: disable=protected-access
    update_ops = model.eval(**inputs)
    summary_op = tf.summary.merge_all()
    serialized, step = tf_slim.evaluation.evaluate_once(
        master, checkpoint, eval_dir, num_evals=num_batches, eval_op=update_ops,
        final_op=[summary_op, model.global_step], summary_op=None)
  summaries = tf.Summary.FromString(serialized)
  if write_summaries:
    # Written here, not by tf_slim's summary hook, whose writer also stores the
    # eval graph (13 MB for groove_4bar_hier) that the train events already hold.
    with tf.summary.FileWriter(eval_dir) as writer:
      writer.add_summary(summaries, int(step))
  values = {v.tag: float(v.simple_value) for v in summaries.value}
  return int(step), values


def encode(model, examples):
  """Posterior means z = mu of `examples`."""
  _, mu, _ = model.encode_tensors(list(examples.inputs), list(examples.lengths))
  return mu


def decode(model, config, z, temperature):
  """[n, 64] hit-pattern indices decoded from latent vectors `z`."""
  decoded = model.decode_to_tensors(
      np.asarray(z, np.float32), length=config.hparams.max_seq_len,
      temperature=temperature)
  return groove_metrics.patterns(np.stack(decoded))


def sampled_reconstruction(model, config, examples):
  """(step accuracy, {drum class: error rate}) of `examples` reconstructed.

  Each example is encoded to its posterior mean z = mu and decoded at
  SAMPLED_TEMPERATURE without teacher forcing. Step accuracy is the share of
  16th-note steps whose 512-way hit pattern is decoded exactly.
  """
  decoded = decode(model, config, encode(model, examples), SAMPLED_TEMPERATURE)
  targets = groove_metrics.patterns(examples.outputs)
  errors = groove_metrics.drum_error_rates(decoded, targets)
  return (groove_metrics.step_accuracy(decoded, targets),
          {name.replace(' ', '_').replace('-', '_'): float(rate)
           for name, rate in zip(drum_grid.DRUM_CLASS_NAMES, errors)})


def sample_figures(model, config, reference_hits, num_samples, temperature,
                   rng, prior=None, train_examples=None):
  """Figures of `num_samples` grooves sampled from z ~ `prior` (None: N(0, I)).

  With `train_examples`, also the share of samples that nearly copy one.
  """
  z = latent_prior.draw(prior, num_samples, config.hparams.z_size, rng)
  sampled = decode(model, config, z, temperature)
  figures = {'latent_prior': 'fitted' if prior else 'normal',
             **groove_metrics.set_figures(groove_metrics.hits(sampled),
                                          reference_hits)}
  if train_examples is not None:
    figures['near_copies'] = groove_metrics.near_copy_share(
        sampled, groove_metrics.patterns(train_examples.outputs))
  return figures


def interpolation_figures(model, config, examples, reference_hits,
                          num_interpolations, num_steps, temperature, rng,
                          refine_steps=refinement.REFINE_STEPS):
  """Figures of interpolations between random pairs of `examples`.

  Made as generate.py makes them: slerp between the refined codes, the ends
  decoded nearest their inputs, the rest at `temperature`. Also the ends of
  Magenta's own interpolation (the encoder's means, decoded at `temperature`)
  and those of the refined codes decoded greedily, for comparison.
  """
  pairs = rng.choice(len(examples), (num_interpolations, 2), replace=False)
  ends = examples.take(pairs.T.reshape(-1))  # all starts, then all ends
  targets = groove_metrics.patterns(ends.outputs)
  mu = encode(model, ends)
  z = model.refine(ends.outputs, ends.lengths, mu, refine_steps)
  decoded = groove_metrics.patterns(model.morphs(
      *np.split(z, 2), *np.split(ends.outputs, 2), num_steps, temperature))
  plain = decode(model, config, mu, temperature)
  return {
      **groove_metrics.interpolation_figures(
          decoded, *np.split(targets, 2), reference_hits),
      'endpoint_accuracy_plain_encode': groove_metrics.step_accuracy(plain, targets),
      'endpoint_accuracy_refined_greedy': groove_metrics.step_accuracy(
          decode(model, config, z, SAMPLED_TEMPERATURE), targets),
      'refine_steps': refine_steps,
  }


def data_figures(examples, reference_hits, num_grooves, rng):
  """The sample figures for `num_grooves` random windows of real data."""
  chosen = examples.take(rng.choice(len(examples), num_grooves, replace=False))
  return groove_metrics.set_figures(
      groove_metrics.hits(groove_metrics.patterns(chosen.outputs)),
      reference_hits)


def _load_and_measure_losses(checkpoint, config, examples, eval_dir, master):
  """(the model, metrics.json's first figures, Magenta's eval summaries) of a checkpoint."""
  step, summaries = teacher_forced_metrics(
      checkpoint, eval_dir, config,
      lambda rows, size: dataset.make_dataset(rows, size, is_training=False),
      examples, master)
  model = models.load_model(config, checkpoint, config.hparams.batch_size,
                            f'the config recorded beside {checkpoint}')
  return model, {
      'checkpoint': checkpoint, 'global_step': step,
      'num_examples': len(examples),
      'loss': summaries['loss'],
      'reconstruction_loss': summaries['losses/r_loss'],
      'kl_divergence_bits': summaries['losses/kl_bits'],
  }, summaries


def evaluate_checkpoint(checkpoint, config, examples, eval_dir, master='',
                        train_examples=None, num_samples=100, temperature=0.5,
                        num_interpolations=10, seed=None, prior=None):
  """Every figure of metrics.json for one checkpoint on `examples`.

  `train_examples`, if given, supply the data's own figures: `num_samples`
  random training windows measured like the samples. Samples draw z from
  `prior` (a latent_prior.FittedPrior; None: N(0, I)).
  """
  model, metrics, summaries = _load_and_measure_losses(
      checkpoint, config, examples, eval_dir, master)
  accuracy, drum_errors = sampled_reconstruction(model, config, examples)
  rng = np.random.default_rng(seed)
  reference_hits = groove_metrics.hits(groove_metrics.patterns(
      examples.outputs))
  metrics.update({
      'reconstruction_accuracy_teacher_forced': summaries['metrics/accuracy'],
      'reconstruction_accuracy_sampled': accuracy,
      'reconstruction_drum_errors_sampled': drum_errors,
      'sampled_temperature': SAMPLED_TEMPERATURE,
      'samples': {'temperature': temperature, **sample_figures(
          model, config, reference_hits, num_samples, temperature, rng,
          prior, train_examples)},
  })
  if num_interpolations and 2 * num_interpolations <= len(examples):
    metrics['interpolations'] = {
        'temperature': temperature, 'num_steps': INTERPOLATION_STEPS,
        **interpolation_figures(model, config, examples, reference_hits,
                                num_interpolations, INTERPOLATION_STEPS,
                                temperature, rng)}
  if train_examples is not None and len(train_examples) >= num_samples:
    metrics['data'] = data_figures(train_examples, reference_hits, num_samples,
                                   rng)
  return metrics


def evaluate_humanizer(checkpoint, config, examples, eval_dir, master='',
                       train_examples=None):
  """metrics.json's figures for a humanize model on `examples` (drummers' windows).

  Its performances (as generate.py makes them: the input's hits kept) are
  measured against the drummers' by `humanization.measures`, beside what
  the toolkit writes without it and, with `train_examples`, the average
  drummer of that split; `hits_kept` and `hits_added` are the hits the
  decoder itself would play at each step, given the input's before it.
  """
  model, metrics, _ = _load_and_measure_losses(checkpoint, config, examples,
                                               eval_dir, master)
  hits = humanization.split(examples.inputs)[0]
  played, logits = humanization.humanize(model, hits)
  measure = lambda played: humanization.measures(played, examples.outputs,
                                                 examples.qpm)
  humanizer = measure(played)
  own = humanization.join(humanization.model_hits(logits), *humanization.split(played)[1:])
  humanizer.update({name: value for name, value in measure(own).items()
                    if name.startswith('hits_')})
  metrics.update(humanizer=humanizer,
                 on_the_grid=measure(humanization.on_the_grid(hits)))
  if train_examples is not None:
    drummer = humanization.AverageDrummer.fit(train_examples.outputs)
    metrics['average_drummer'] = measure(drummer.play(hits))
  return metrics


def write_metrics(eval_dir, metrics):
  return files.write_json(os.path.join(eval_dir, run_dirs.METRICS_FILE), metrics)
