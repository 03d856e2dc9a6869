"""Where samples draw z from: MusicVAE's N(0, I), or a density fitted to the data.

A model that lets z carry ~250 bits (free bits 256) does not spread its
training windows' codes over N(0, I): they gather in clusters with room
between them, and prior draws that land there are where the decoder never
learnt to play (snare rolls through most sixteenths, far more often than in
the data: README, Sampling from the data's codes). `fit` fits a
mixture of Gaussians to the codes of the training windows (each component's
covariance widened by the mean posterior variance), as ex-post density
estimation does for autoencoders (Ghosh et al., "From Variational to
Deterministic Autoencoders", ICLR 2020). `export_model.py` fits it; a run dir
that has one samples from it unless told `--latent_prior=normal`.
"""
import dataclasses
import os

import numpy as np

from drumvae import files
from drumvae.cli import UserError

PRIOR_FILE = 'latent_prior.npz'
CHOICES = ('auto', 'normal')
HELP = ('auto = the mixture of Gaussians fitted to the training windows\' codes that '
        'export_model.py stores beside the model (latent_prior.npz), if there '
        'is one, else N(0, I); normal = N(0, I), as Magenta samples.')
_REG_COVAR = 1e-4  # added to each covariance's diagonal: keeps it positive definite


@dataclasses.dataclass
class FittedPrior:
  weights: np.ndarray  # [k]: each component's share of the windows
  means: np.ndarray  # [k, z_size]
  scale_trils: np.ndarray  # [k, z_size, z_size]: lower Cholesky factors of the covariances
  num_windows: int  # training windows it was fitted to

  def sample(self, num, rng):
    components = rng.choice(len(self.weights), num, p=self.weights)
    noise = rng.standard_normal((num, self.means.shape[1]))
    return self.means[components] + np.einsum(
        'nij,nj->ni', self.scale_trils[components], noise)


COMPONENTS = 10  # see TRAINING.md: more leave fewer snare rolls but copy more training windows


def fit(mu, sigma, components=COMPONENTS, seed=0):
  """A mixture of `components` Gaussians over the codes N(mu_i, sigma_i^2)."""
  from sklearn import mixture  # pylint: disable=g-import-not-at-top  (slow import)
  mu, sigma = np.asarray(mu, np.float64), np.asarray(sigma, np.float64)
  components = min(components, len(mu) // 2 or 1)
  gmm = mixture.GaussianMixture(components, covariance_type='full',
                                reg_covar=_REG_COVAR, random_state=seed).fit(mu)
  covariances = gmm.covariances_ + np.diag((sigma ** 2).mean(axis=0))
  return FittedPrior(gmm.weights_ / gmm.weights_.sum(), gmm.means_,
                     np.linalg.cholesky(covariances), len(mu))


def draw(prior, num, z_size, rng):
  """[num, z_size] latent vectors from `prior`, or from N(0, I) if it is None."""
  return (prior.sample(num, rng) if prior else rng.standard_normal((num, z_size)))


def path(run_dir):
  return os.path.join(run_dir, PRIOR_FILE)


def save(run_dir, prior):
  """Writes RUN_DIR/latent_prior.npz (never half a file); returns its path."""
  target = path(run_dir)
  with files.replaced_atomically([target]) as temp_paths, open(
      temp_paths[target], 'wb') as f:
    np.savez(f, weights=prior.weights, means=prior.means.astype(np.float32),
             scale_trils=prior.scale_trils.astype(np.float32),
             num_windows=prior.num_windows)
  return target


def load(run_dir, z_size):
  """The run dir's fitted prior, or None; UserError if it does not fit z_size."""
  if not run_dir or not os.path.isfile(path(run_dir)):
    return None
  try:
    with np.load(path(run_dir)) as stored:
      prior = FittedPrior(stored['weights'], stored['means'],
                          stored['scale_trils'], int(stored['num_windows']))
  except (OSError, ValueError, KeyError) as e:
    raise UserError(f'{path(run_dir)} is not a latent prior written by '
                    f'export_model.py ({e}); delete it to sample from N(0, I)'
                    ) from None
  if prior.means.shape[1:] != (z_size,):
    raise UserError(f'{path(run_dir)} is for z of size {prior.means.shape[1]}, '
                    f'the model\'s is {z_size}; delete it or export the run again')
  return prior


def choose(run_dir, z_size, choice):
  """(prior or None for N(0, I), one line saying which) for --latent_prior."""
  prior = load(run_dir, z_size) if choice == 'auto' else None
  if prior is None:
    why = ('--latent_prior=normal' if choice == 'normal'
           else f'{run_dir or "the checkpoint"} has no {PRIOR_FILE}')
    return None, f'z ~ N(0, I) ({why})'
  return prior, (f'z from the {len(prior.weights)} Gaussians fitted to '
                 f'{prior.num_windows} training windows\' codes '
                 f'({os.path.relpath(path(run_dir))})')
