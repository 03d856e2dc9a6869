"""Where samples draw z from: MusicVAE's N(0, I), or a Gaussian fitted to the data.

A model that lets z carry ~250 bits (free bits 256) does not spread its
training windows' codes over N(0, I): their mean is off zero and the
dimensions are correlated, so many prior draws land where the decoder never
learnt to play. `fit` moment-matches one Gaussian to the codes of the
training windows (the aggregate posterior: the covariance of the posterior
means plus the mean posterior variance), as ex-post density estimation does
for autoencoders (Ghosh et al., "From Variational to Deterministic
Autoencoders", ICLR 2020). `export_model.py` fits it; a run dir that has one
samples from it unless told `--latent_prior=normal`.
"""
import dataclasses
import os

import numpy as np

from drumvae import files
from drumvae.cli import UserError

PRIOR_FILE = 'latent_prior.npz'
CHOICES = ('auto', 'normal')
HELP = ('auto = the Gaussian fitted to the training windows\' codes that '
        'export_model.py stores beside the model (latent_prior.npz), if there '
        'is one, else N(0, I); normal = N(0, I), as Magenta samples.')
_JITTER = 1e-6  # keeps the covariance positive definite for its Cholesky factor


@dataclasses.dataclass
class FittedPrior:
  mean: np.ndarray  # [z_size]
  scale_tril: np.ndarray  # [z_size, z_size]: lower Cholesky factor of the covariance
  num_windows: int  # training windows it was fitted to

  def sample(self, num, rng):
    return self.mean + rng.standard_normal((num, len(self.mean))) @ self.scale_tril.T


def fit(mu, sigma):
  """The Gaussian of the aggregate posterior of codes N(mu_i, sigma_i^2)."""
  mu, sigma = np.asarray(mu, np.float64), np.asarray(sigma, np.float64)
  covariance = (np.cov(mu, rowvar=False) + np.diag((sigma ** 2).mean(axis=0))
                + _JITTER * np.eye(mu.shape[1]))
  return FittedPrior(mu.mean(axis=0), np.linalg.cholesky(covariance), len(mu))


def path(run_dir):
  return os.path.join(run_dir, PRIOR_FILE)


def save(run_dir, prior):
  """Writes RUN_DIR/latent_prior.npz (never half a file); returns its path."""
  target = path(run_dir)
  with files.replaced_atomically([target]) as temp_paths, open(
      temp_paths[target], 'wb') as f:
    np.savez(f, mean=prior.mean, scale_tril=prior.scale_tril,
             num_windows=prior.num_windows)
  return target


def load(run_dir, z_size):
  """The run dir's fitted prior, or None; UserError if it does not fit z_size."""
  if not run_dir or not os.path.isfile(path(run_dir)):
    return None
  try:
    with np.load(path(run_dir)) as stored:
      prior = FittedPrior(stored['mean'], stored['scale_tril'],
                          int(stored['num_windows']))
  except (OSError, ValueError, KeyError) as e:
    raise UserError(f'{path(run_dir)} is not a latent prior written by '
                    f'export_model.py ({e}); delete it to sample from N(0, I)'
                    ) from None
  if prior.mean.shape != (z_size,) or prior.scale_tril.shape != (z_size, z_size):
    raise UserError(f'{path(run_dir)} is for z of size {len(prior.mean)}, the '
                    f'model\'s is {z_size}; delete it or export the run again')
  return prior


def choose(run_dir, z_size, choice):
  """(prior or None for N(0, I), one line saying which) for --latent_prior."""
  prior = load(run_dir, z_size) if choice == 'auto' else None
  if prior is None:
    why = ('--latent_prior=normal' if choice == 'normal'
           else f'{run_dir or "the checkpoint"} has no {PRIOR_FILE}')
    return None, f'z ~ N(0, I) ({why})'
  return prior, (f'z from the Gaussian fitted to {prior.num_windows} training '
                 f'windows ({os.path.relpath(path(run_dir))})')
