"""The fitted latent prior: the codes' density, stored beside a model, refused when it does not fit."""
import numpy as np
import pytest

from drumvae import latent_prior
from drumvae.cli import UserError


def correlated_codes(n, seed=0):
  """Codes with a mean off zero and two correlated dimensions, as a trained encoder's."""
  rng = np.random.default_rng(seed)
  base = rng.standard_normal((n, 3))
  mu = np.stack([base[:, 0] + 2, base[:, 0] + 0.1 * base[:, 1], 0.5 * base[:, 2]], axis=1)
  return mu, np.full_like(mu, 0.3)


def test_one_component_matches_the_aggregate_posterior():
  mu, sigma = correlated_codes(20000)
  prior = latent_prior.fit(mu, sigma, components=1)
  assert prior.num_windows == 20000 and prior.weights.tolist() == [1.0]
  np.testing.assert_allclose(prior.means[0], [2, 0, 0], atol=0.03)
  drawn = prior.sample(50000, np.random.default_rng(1))
  expected = np.cov(mu, rowvar=False) + np.diag([0.09] * 3)
  np.testing.assert_allclose(np.cov(drawn, rowvar=False), expected, atol=0.03)
  assert np.corrcoef(drawn[:, 0], drawn[:, 1])[0, 1] > 0.85  # not N(0, I)


def test_a_mixture_keeps_draws_out_of_the_gap_between_clusters():
  rng = np.random.default_rng(2)
  mu = np.concatenate([rng.normal(-3, 0.3, (3000, 2)), rng.normal(3, 0.3, (1000, 2))])
  sigma = np.full_like(mu, 0.1)
  drawn = latent_prior.fit(mu, sigma, components=2).sample(20000, rng)
  assert np.mean(np.abs(drawn[:, 0]) < 1.5) < 0.001  # a single Gaussian: ~25%
  assert np.mean(drawn[:, 0] > 0) == pytest.approx(0.25, abs=0.02)
  one = latent_prior.fit(mu, sigma, components=1).sample(20000, rng)
  assert np.mean(np.abs(one[:, 0]) < 1.5) > 0.1


def test_saved_prior_loads_and_is_chosen_unless_normal_is_asked(tmp_path):
  prior = latent_prior.fit(*correlated_codes(100), components=3)
  assert latent_prior.choose(str(tmp_path), 3, 'auto') == (
      None, f'z ~ N(0, I) ({tmp_path} has no latent_prior.npz)')
  latent_prior.save(str(tmp_path), prior)
  loaded, which = latent_prior.choose(str(tmp_path), 3, 'auto')
  np.testing.assert_allclose(loaded.scale_trils, prior.scale_trils, rtol=1e-6)
  assert which.startswith("z from the 3 Gaussians fitted to 100 training windows' codes")
  assert loaded.sample(5, np.random.default_rng(0)).shape == (5, 3)
  assert latent_prior.choose(str(tmp_path), 3, 'normal')[0] is None


def test_a_prior_of_another_size_or_a_broken_file_is_refused(tmp_path):
  latent_prior.save(str(tmp_path), latent_prior.fit(*correlated_codes(100)))
  with pytest.raises(UserError, match='is for z of size 3, the model\'s is 128'):
    latent_prior.load(str(tmp_path), 128)
  (tmp_path / latent_prior.PRIOR_FILE).write_bytes(b'not numpy')
  with pytest.raises(UserError, match='is not a latent prior written by export_model.py'):
    latent_prior.load(str(tmp_path), 3)
