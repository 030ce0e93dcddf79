"""Noise-bias correction of the weak form's polynomial columns (WeakForm(bias_correction=True))."""

import warnings

import numpy as np
import pysindy as ps
import pytest

from symsindy import SymmetricSINDy
from symsindy.catalogue import get_system
from symsindy.weak import WeakForm, noise_corrected_monomials, pooled_noise, resolved_noise


@pytest.fixture(scope="module")
def powers():
    return ps.PolynomialLibrary(degree=4).fit(np.zeros((2, 3)) + np.arange(2)[:, None]).powers_


def test_without_noise_the_corrected_monomials_are_the_library(powers):
    x = np.random.default_rng(0).normal(size=(30, 3))
    lib = ps.PolynomialLibrary(degree=4).fit(x)
    assert np.allclose(noise_corrected_monomials(x, powers, 0.0), lib.transform(x), rtol=1e-12, atol=1e-12)


def test_corrected_monomials_are_unbiased_and_the_plain_ones_are_not(powers):
    rng = np.random.default_rng(1)
    x0 = np.array([0.7, -1.3, 0.4])
    sigma = np.array([0.3, 0.5, 0.2])
    draws = x0 + sigma * rng.standard_normal((200_000, 3))
    clean = noise_corrected_monomials(x0[None], powers, 0.0)[0]
    corrected = noise_corrected_monomials(draws, powers, sigma)
    plain = noise_corrected_monomials(draws, powers, 0.0)
    se = corrected.std(axis=0) / np.sqrt(len(draws))
    assert np.all(np.abs(corrected.mean(axis=0) - clean) < 5 * se + 1e-12)
    # y^2 is biased by sigma_y^2 = 0.25 without the correction
    j = int(np.flatnonzero((powers == [0, 2, 0]).all(axis=1))[0])
    assert plain[:, j].mean() - clean[j] == pytest.approx(0.25, abs=0.01)


def test_bad_powers_and_noise_are_refused(powers):
    x = np.zeros((4, 3))
    with pytest.raises(ValueError, match="powers"):
        noise_corrected_monomials(x, powers[:, :2], 0.1)
    with pytest.raises(ValueError, match="sigma"):
        noise_corrected_monomials(x, powers, -1.0)
    with pytest.raises(ValueError, match="bias_correction"):
        SymmetricSINDy(formulation="weak", weak=WeakForm(bias_correction="yes")).fit(
            np.random.default_rng(0).normal(size=(200, 2)), t=0.01
        )


def test_pooled_noise_weights_trajectories_by_length():
    rng = np.random.default_rng(2)
    a, b = 0.1 * rng.standard_normal((4000, 1)), 0.3 * rng.standard_normal((1000, 1))
    expected = np.sqrt((4000 * 0.1**2 + 1000 * 0.3**2) / 5000)
    assert pooled_noise([a, b])[0] == pytest.approx(expected, rel=0.05)
    assert pooled_noise([np.zeros((3, 2))]) is None


def test_resolved_noise_tells_noise_from_a_coarsely_sampled_signal():
    t = np.linspace(0, 20, 400)  # about 20 samples per period of the fast variable
    clean = np.column_stack([np.sin(2 * np.pi * t), np.cos(0.3 * t)])
    assert np.all(resolved_noise([clean]) == 0.0)
    assert np.all(pooled_noise([clean]) > 0)  # the order-6 differences of the signal alone
    rng = np.random.default_rng(4)
    noisy = clean + np.array([0.05, 0.02]) * rng.standard_normal(clean.shape)
    assert resolved_noise([noisy]) == pytest.approx([0.05, 0.02], rel=0.15)
    assert resolved_noise([np.zeros((8, 2))]) is None


def test_noise_free_coarse_data_are_not_corrected():
    s = get_system("lorenz")
    sim = s.simulate(random_state=0, dt=0.05)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = SymmetricSINDy(library=ps.PolynomialLibrary(degree=2), formulation="weak").fit(
            sim.x, t=sim.t, feature_names=list(s.variables)
        )
    assert m.fit_info()["weak"]["bias_correction"] is None


@pytest.fixture(scope="module")
def noisy_oscillator():
    # x'' = -x - x^3 (Duffing without damping) with 20% noise: E[x~^3] = x^3 + 3 s^2 x biases x's coefficient
    s = get_system("duffing")
    sim = s.simulate(noise=0.2, random_state=3, n_trajectories=2)
    lib = ps.PolynomialLibrary(degree=3).fit(np.vstack(sim.x))
    return s, sim, s.true_coefficients(lib)


def _fit(sim, names, **weak):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return SymmetricSINDy(
            library=ps.PolynomialLibrary(degree=3), formulation="weak", threshold=0.5, weak=WeakForm(**weak)
        ).fit(sim.x, t=sim.t, feature_names=names)


def test_the_correction_is_the_default_and_is_recorded(noisy_oscillator):
    s, sim, truth = noisy_oscillator
    m = _fit(sim, list(s.variables))
    noise = m.fit_info()["weak"]["bias_correction"]
    assert noise is not None and np.allclose(noise, pooled_noise(sim.x))
    assert np.allclose(noise, resolved_noise(sim.x))
    assert "corrected for the noise's bias" in m.fit_summary()[0]
    off = _fit(sim, list(s.variables), bias_correction=False)
    assert off.fit_info()["weak"]["bias_correction"] is None
    assert off.weak_system_.feature_noise is None
    assert "bias" not in off.fit_summary()[0]


def _support_fit(m, truth):
    """Least squares on the true support from a fit's own weak rows."""
    G, b = m.weak_system_.G, m.weak_system_.b
    c = np.zeros_like(truth)
    for i in range(truth.shape[0]):
        keep = truth[i] != 0
        c[i, keep] = np.linalg.lstsq(G[:, keep], b[:, i], rcond=None)[0]
    return c


def test_the_correction_removes_the_bias_of_the_cubic_on_the_linear_coefficient():
    s = get_system("duffing")
    names = list(s.variables)
    bias_on, bias_off = [], []
    for seed in range(4):
        sim = s.simulate(noise=0.2, random_state=seed, n_trajectories=2)
        lib = ps.PolynomialLibrary(degree=3).fit(np.vstack(sim.x))
        truth = s.true_coefficients(lib)
        j = lib.get_feature_names(names).index("x")
        on, off = _fit(sim, names), _fit(sim, names, bias_correction=False)
        c_on, c_off = _support_fit(on, truth)[1, j], _support_fit(off, truth)[1, j]
        # the corrected x^3 column differs by 3 s^2 x: the x coefficient moves by -3 s^2 (coefficient -1 of x^3)
        shift = -3 * on.weak_system_.feature_noise[0] ** 2
        assert c_on - c_off == pytest.approx(shift, rel=0.35)
        bias_on.append(c_on - truth[1, j])
        bias_off.append(c_off - truth[1, j])
    assert abs(np.mean(bias_on)) < 0.5 * abs(np.mean(bias_off))


def test_noise_free_data_are_fitted_exactly_with_the_correction_on():
    s = get_system("lorenz")
    sim = s.simulate(random_state=0)
    m = SymmetricSINDy(library=ps.PolynomialLibrary(degree=2), formulation="weak").fit(
        sim.x, t=sim.t, feature_names=list(s.variables)
    )
    truth = s.true_coefficients(m.library_)
    assert np.array_equal(m.coef_ != 0, truth != 0)
    assert np.abs(m.coef_ - truth).max() < 1e-4 * np.abs(truth).max()


def test_a_library_that_is_not_polynomial_is_integrated_as_it_is(noisy_oscillator):
    s, sim, _ = noisy_oscillator
    lib = ps.FourierLibrary(n_frequencies=1) + ps.PolynomialLibrary(degree=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = SymmetricSINDy(library=lib, formulation="weak").fit(sim.x, t=sim.t, feature_names=list(s.variables))
    assert m.fit_info()["weak"]["bias_correction"] is None


class _Shifted(ps.PolynomialLibrary):
    """A polynomial library whose columns are not its powers_' monomials."""

    def transform(self, x):
        return super().transform(x) + 1.0


def test_columns_that_are_not_the_monomials_of_powers_are_not_corrected(noisy_oscillator):
    s, sim, _ = noisy_oscillator
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        m = SymmetricSINDy(library=_Shifted(degree=2), formulation="weak").fit(
            sim.x, t=sim.t, feature_names=list(s.variables)
        )
    assert m.weak_system_.feature_noise is None
