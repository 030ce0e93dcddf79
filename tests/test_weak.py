"""Weak form: quadrature exactness, recovery, test-function choice, stacking, errors."""

from __future__ import annotations

import numpy as np
import pysindy as ps
import pytest
from conftest import LORENZ_TERMS, coefficient_matrix, lorenz_trajectory
from scipy.integrate import solve_ivp

from symsindy.weak import (
    TestFunctions,
    WeakForm,
    WeakFormUnavailable,
    estimate_noise,
    residual_covariance,
    select_width,
    spectral_corner,
    weak_system,
    whitened_system,
)

DT = 0.002
M = 5000
OSC = np.array([[-0.1, 2.0], [-2.0, -0.1]])


def relative_residual(ws, xi):
    return np.linalg.norm(ws.b - ws.G @ xi) / np.linalg.norm(ws.b)


def lstsq(ws):
    return np.linalg.lstsq(ws.G, ws.b, rcond=None)[0]


def lorenz_xi(library):
    return coefficient_matrix(library.get_feature_names(["x", "y", "z"]), "xyz", LORENZ_TERMS).T


def noisy(x, level, seed):
    rng = np.random.default_rng(seed)
    return x + level * x.std(axis=0) * rng.standard_normal(x.shape)


@pytest.fixture(scope="module")
def lorenz_data():
    t = DT * np.arange(M)
    x = lorenz_trajectory(t)
    library = ps.PolynomialLibrary(degree=2).fit(x)
    return t, x, library, lorenz_xi(library)


@pytest.fixture(scope="module")
def oscillator_data():
    t = 0.01 * np.arange(2000)
    x = solve_ivp(lambda _, s: OSC @ s, (0, t[-1]), [2.0, 0.0], t_eval=t, rtol=1e-10, atol=1e-10).y.T
    library = ps.PolynomialLibrary(degree=2).fit(x)
    names = library.get_feature_names(["x", "y"])
    xi = np.zeros((len(names), 2))
    xi[names.index("x")] = OSC[:, 0]
    xi[names.index("y")] = OSC[:, 1]
    return t, x, library, xi


# ----------------------------------------------------------------------------- 1, 2: exactness
def test_true_coefficients_fit_the_oscillator_to_quadrature_accuracy(oscillator_data):
    t, x, library, xi = oscillator_data
    ws = weak_system([x], [t], library.transform)
    # measured 4.9e-11: the solver's tolerance, not the quadrature
    assert relative_residual(ws, xi) < 3e-10
    wrong = xi.copy()
    wrong[library.get_feature_names(["x", "y"]).index("x"), 0] *= 1.01  # -0.1 -> -0.101
    assert relative_residual(ws, wrong) > 1e-4


def test_true_coefficients_fit_lorenz_to_quadrature_accuracy(lorenz_data):
    t, x, library, xi = lorenz_data
    ws = weak_system([x], [t], library.transform)
    # measured 6.8e-11 (width 45 samples, p = 7, 437 test functions)
    assert relative_residual(ws, xi) < 3e-10
    wrong = xi.copy()
    wrong[library.get_feature_names(["x", "y", "z"]).index("z"), 2] = -2.7
    assert relative_residual(ws, wrong) > 1e-4


def test_rough_test_functions_lose_the_spectral_accuracy(lorenz_data):
    # the exactness above comes from smooth bumps whose support ends are samples:
    # p = 2 (φ'' jumps at the ends) drops the trapezoid rule to low order
    t, x, library, xi = lorenz_data
    smooth = weak_system([x], [t], library.transform, WeakForm(width=20, p=9))
    rough = weak_system([x], [t], library.transform, WeakForm(width=20, p=2))
    assert relative_residual(smooth, xi) < 1e-9  # measured 1.2e-10
    assert relative_residual(rough, xi) > 1e-4  # measured 3.0e-3


def test_least_squares_recovers_noise_free_models(lorenz_data, oscillator_data):
    for t, x, library, xi in (lorenz_data, oscillator_data):
        ws = weak_system([x], [t], library.transform)
        assert np.max(np.abs(lstsq(ws) - xi)) < 1e-6  # measured 1e-8 (Lorenz), 1e-10


# ----------------------------------------------------------------------------- 3: non-uniform times
def test_non_uniform_times_give_small_residuals():
    rng = np.random.default_rng(0)
    t = np.concatenate([[0.0], np.cumsum(DT * rng.uniform(0.5, 1.5, 2999))])
    x = lorenz_trajectory(t)
    library = ps.PolynomialLibrary(degree=2).fit(x)
    xi = lorenz_xi(library)
    trap = weak_system([x], [t], library.transform)
    cubic = weak_system([x], [t], library.transform, WeakForm(quadrature="cubic"))
    assert not trap.test_functions[0].uniform
    r_trap, r_cubic = relative_residual(trap, xi), relative_residual(cubic, xi)
    assert r_trap < 2e-3  # measured 6.7e-4: the trapezoid rule is second order off a uniform grid
    assert r_cubic < 3e-5 and r_cubic < r_trap / 10  # measured 7.4e-6
    assert np.max(np.abs(lstsq(cubic) - xi)) < 2e-3  # measured 2e-4
    # supports inside the time span
    tf = trap.test_functions[0]
    assert tf.centers.min() - tf.radius >= t[0] and tf.centers.max() + tf.radius <= t[-1]


# ----------------------------------------------------------------------------- test functions
def test_test_functions_have_unit_integral_and_exact_derivative(lorenz_data):
    t, x, _, _ = lorenz_data
    tf = WeakForm().test_functions(t, x)
    V, Vd = tf.matrices()
    assert V.shape == Vd.shape == (tf.n_test, M)
    assert V.nnz <= tf.n_test * (2 * tf.width + 1)
    np.testing.assert_allclose(V @ np.ones(M), 1.0, atol=1e-12)
    np.testing.assert_allclose(Vd @ np.ones(M), 0.0, atol=1e-9)
    # uniform times: every support is [t_i, t_j] between samples, inside the span
    lo, hi = tf.centers - tf.radius, tf.centers + tf.radius
    assert lo[0] == pytest.approx(t[0], abs=1e-12) and hi[-1] == pytest.approx(t[-1], abs=1e-12)
    np.testing.assert_allclose((lo - t[0]) / DT, np.round((lo - t[0]) / DT), atol=1e-6)
    assert np.all(np.diff(tf.centers) > 0)
    # the derivative is the derivative
    tq = np.linspace(tf.centers[3] - tf.radius, tf.centers[3] + tf.radius, 401)
    phi, dphi = tf.evaluate(tq)
    h = 1e-6
    fd = (tf.evaluate(tq + h)[0] - tf.evaluate(tq - h)[0]) / (2 * h)
    np.testing.assert_allclose(dphi[3], fd[3], atol=1e-6 * np.abs(dphi[3]).max())


# ----------------------------------------------------------------------------- 4: several trajectories
def test_trajectories_stack_in_order(lorenz_data):
    t, x, library, xi = lorenz_data
    parts = [(x[:1500], t[:1500]), (x[2000:4500], DT), (x[3000:3800], t[3000:3800])]
    ws = weak_system([p[0] for p in parts], [p[1] for p in parts], library.transform)
    assert ws.skipped == []
    assert ws.G.shape == (sum(ws.rows_per_trajectory), library.n_output_features_)
    assert ws.b.shape == (sum(ws.rows_per_trajectory), 3)
    expected = np.concatenate([np.full(k, j) for j, k in enumerate(ws.rows_per_trajectory)])
    np.testing.assert_array_equal(ws.trajectory_index, expected)
    start = 0
    for j, (xj, tj) in enumerate(parts):
        alone = weak_system([xj], [tj], library.transform)
        rows = slice(start, start + ws.rows_per_trajectory[j])
        np.testing.assert_allclose(ws.G[rows], alone.G, rtol=1e-14, atol=0)
        np.testing.assert_allclose(ws.b[rows], alone.b, rtol=1e-14, atol=0)
        np.testing.assert_allclose(ws.centers[rows], alone.centers)
        start = rows.stop
    # centres are in each trajectory's own time (the scalar step restarts at 0)
    second = ws.centers[ws.trajectory_index == 1]
    assert 0 < second.min() and second.max() < 2500 * DT
    assert relative_residual(ws, xi) < 1e-9
    assert len(ws.widths) == len(ws.n_test) == len(ws.rules) == 3


# ----------------------------------------------------------------------------- 5: short trajectories
def test_short_trajectory_is_skipped_and_all_short_is_unavailable(lorenz_data):
    t, x, library, _ = lorenz_data
    ws = weak_system([x[:2000], x[:10]], [t[:2000], t[:10]], library.transform)
    assert [j for j, _ in ws.skipped] == [1]
    reason = ws.skipped[0][1]
    assert "10 samples" in reason and "\n" not in reason
    assert ws.rows_per_trajectory[1] == 0 and ws.widths[1] is None
    assert set(np.unique(ws.trajectory_index)) == {0}
    with pytest.raises(WeakFormUnavailable, match="no trajectory can host a test function") as info:
        weak_system([x[:10], x[:16]], [t[:10], t[:16]], library.transform)
    assert isinstance(info.value, ValueError) and "\n" not in str(info.value)
    # an explicit width too wide for the trajectory
    with pytest.raises(WeakFormUnavailable, match="width 100"):
        weak_system([x[:150]], [t[:150]], library.transform, WeakForm(width=100))


# ----------------------------------------------------------------------------- 6: the width rule
def test_automatic_width_grows_with_noise_and_overrides_win(lorenz_data):
    t, x, library, _ = lorenz_data
    rules = [WeakForm().test_functions(t, noisy(x, level, seed=0)).rule for level in (0.0, 0.05, 0.2)]
    widths = [r.width for r in rules]
    assert widths[0] < widths[1] < widths[2]  # measured 45, 84, 115 samples
    corners = [np.mean(r.corner_frequency) for r in rules]
    assert corners[0] > corners[1] > corners[2]
    assert all(r.p >= 3 for r in rules)

    xn = noisy(x, 0.1, seed=0)
    tf = WeakForm(width=30, n_test=50, p=4).test_functions(t, xn)
    assert (tf.width, tf.n_test, tf.p, tf.rule) == (30, 50, 4.0, None)
    assert tf.radius == pytest.approx(30 * DT)
    # a fixed exponent: the radius is τ̂ N √(2p + 3) / (2π k*), averaged over variables
    tf = WeakForm(p=4).test_functions(t, xn)
    k = tf.rule.corner_index
    assert tf.p == 4.0
    assert tf.width == int(np.ceil(np.mean(2.0 * M * np.sqrt(11.0) / (2 * np.pi * k))))
    # select_width on its own gives the same numbers
    alone = select_width(t, xn)
    assert alone.width == WeakForm().test_functions(t, xn).width
    assert alone.radius == pytest.approx(alone.width * DT)


def test_spectral_corner_moves_down_with_the_noise_floor():
    rng = np.random.default_rng(1)
    n = 4096
    s = np.arange(n)
    # amplitude e^(-f/8) in bin f: it meets the noise floor |FFT| ≈ σ√n at f = 8 ln(n / (4σ²))/2
    signal = sum(np.exp(-f / 8) * np.sin(2 * np.pi * f * s / n + 1.7 * f) for f in range(1, 400))
    sigmas = (1e-3, 0.02, 0.5)
    corners = [spectral_corner(signal + sd * rng.standard_normal(n))[0] for sd in sigmas]
    assert corners[0] > corners[1] > corners[2] > 10  # measured 44, 35, 23
    crossings = [8 * np.log(np.sqrt(n) / (2 * sd)) for sd in sigmas]  # 83, 59, 33
    assert all(c < x for c, x in zip(corners, crossings))
    assert np.isnan(spectral_corner(np.ones((64, 1)))[0])


# ----------------------------------------------------------------------------- 7: noise robustness
def test_weak_least_squares_beats_finite_differences_at_ten_percent_noise(lorenz_data):
    t, x, library, xi = lorenz_data
    for seed in (0, 1):
        xn = noisy(x, 0.1, seed)
        weak_error = np.linalg.norm(lstsq(weak_system([xn], [t], library.transform)) - xi)
        dx = ps.FiniteDifference()(xn, t)
        strong = np.linalg.lstsq(library.transform(xn), dx, rcond=None)[0]
        strong_error = np.linalg.norm(strong - xi)
        # measured relative errors 0.05 / 0.15 (weak) against 0.91 / 0.46 (differences)
        assert weak_error < strong_error / 3
        assert weak_error < 0.25 * np.linalg.norm(xi)


# ----------------------------------------------------------------------------- covariance, GLS
def test_noise_estimate_recovers_the_level_and_is_small_on_smooth_data(oscillator_data):
    t, x, _, _ = oscillator_data
    clean = estimate_noise(x)
    assert np.all(clean < 1e-6 * x.std(axis=0))
    rng = np.random.default_rng(3)
    sigma = np.array([0.05, 0.2])
    est = estimate_noise(x + sigma * rng.standard_normal(x.shape))
    assert np.allclose(est, sigma, rtol=0.05)
    with pytest.raises(ValueError, match="needs at least 7"):
        estimate_noise(x[:5])


def test_residual_covariance_matches_the_spread_of_residuals_over_noise_draws(oscillator_data):
    # linear model and library: the residual is exactly linear in the noise
    t, x, _, _ = oscillator_data
    t, x = t[:600], x[:600]
    tf = WeakForm(width=40).test_functions(t, x)
    V, Vd = tf.matrices()
    sigma = np.array([0.1, 0.3])
    J = np.broadcast_to(OSC, (len(t), 2, 2))
    C = residual_covariance(tf, J, sigma).toarray()
    rng = np.random.default_rng(0)
    draws = []
    for _ in range(4000):
        e = sigma * rng.standard_normal(x.shape)
        xn = x + e
        r = -Vd @ xn - V @ xn @ OSC.T  # b - G xi for the linear library
        draws.append(r.ravel())  # test function by test function, as the covariance
    emp = np.cov(np.array(draws).T)
    assert np.linalg.norm(emp - C) < 0.1 * np.linalg.norm(C)


def test_whitened_residual_of_the_true_model_has_unit_variance(lorenz_data):
    t, x, library, xi = lorenz_data
    xn = noisy(x, 0.2, seed=4)
    ws = weak_system([xn], [t], library.transform)
    sigma = estimate_noise(xn)
    assert np.allclose(sigma, 0.2 * x.std(axis=0), rtol=0.1)
    white = whitened_system(ws, [xn], library.transform, xi.T, sigma)
    r = white.y - white.X @ xi.ravel()  # xi is (p, n): ravel is the feature ordering
    assert white.X.shape == (3 * len(ws.G), 3 * xi.shape[0])
    assert 0.8 < np.mean(r * r) < 1.25
    with pytest.raises(np.linalg.LinAlgError):
        whitened_system(ws, [xn], library.transform, xi.T, 0.0)


# ----------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "make, match",
    [
        (
            lambda x, t: ([np.where(np.arange(len(x))[:, None] == 5, np.nan, x)], [t]),
            "non-finite value nan at sample 5",
        ),
        (lambda x, t: ([x], [t[:-1]]), r"ts\[0\]: expected 400 times"),
        (lambda x, t: ([x], [np.r_[t[:10], t[9], t[11:]]]), "strictly increasing"),
        (lambda x, t: ([x, x], [t]), "expected 2 time arrays"),
        (lambda x, t: ([x, x[:, :2]], [t, t]), "different numbers of variables"),
        (lambda x, t: ([x], [-0.1]), "positive number"),
    ],
)
def test_bad_data_is_named(lorenz_data, make, match):
    t, x, library, _ = lorenz_data
    xs, ts = make(x[:400], t[:400])
    with pytest.raises(ValueError, match=match):
        weak_system(xs, ts, library.transform)


@pytest.mark.parametrize(
    "weak, match",
    [
        (WeakForm(n_test=0), "n_test"),
        (WeakForm(width=-3), "width"),
        (WeakForm(p=0.5), "p: expected"),
        (WeakForm(spacing=0), "spacing"),
        (WeakForm(tau=2.0), "tau"),
        (WeakForm(quadrature="simpson"), "quadrature"),
        (WeakForm(gls="yes"), "gls: expected True or False"),
        (WeakForm(noise=-1.0), "noise: expected"),
    ],
)
def test_bad_options_are_named(lorenz_data, weak, match):
    t, x, library, _ = lorenz_data
    with pytest.raises(ValueError, match=match):
        weak_system([x[:400]], [t[:400]], library.transform, weak)


def test_bad_features_are_named(lorenz_data):
    t, x, library, _ = lorenz_data
    with pytest.raises(ValueError, match="features: trajectory 0 of 400 samples gave shape"):
        weak_system([x[:400]], [t[:400]], lambda z: library.transform(z)[:-1])
    with pytest.raises(ValueError, match="features: expected a callable"):
        weak_system([x[:400]], [t[:400]], library)


def test_weak_form_only_stores_its_arguments():
    wf = WeakForm(n_test="lots", width=-1)  # validated on use, not on construction
    assert (wf.n_test, wf.width) == ("lots", -1)
    assert not TestFunctions.__test__


def _short_oscillator(m=100, dt=0.05):
    t = dt * np.arange(m)
    sol = solve_ivp(lambda _t, z: OSC @ z, (0, t[-1]), [1.0, 0.0], t_eval=t, rtol=1e-10, atol=1e-12)
    return t, sol.y.T


@pytest.mark.filterwarnings("ignore:the library.s columns are nearly dependent")
def test_explicit_weak_form_places_test_functions_closer_when_equations_are_too_few():
    from symsindy import SymmetricSINDy

    t, x = _short_oscillator()
    # width 30 of 100 samples: 6 test functions, 12 equations for the cubic library's 20 coefficients
    assert weak_system(x, t, ps.PolynomialLibrary(degree=3).fit(x).transform, WeakForm(width=30)).G.shape[0] == 6
    model = SymmetricSINDy(library=ps.PolynomialLibrary(degree=3), formulation="weak", weak=WeakForm(width=30))
    with pytest.warns(UserWarning, match="6 test functions 0.25 radii apart gave 12 equations for 20 free"):
        model.fit(x, t=t, feature_names=["x", "y"])
    info = model.fit_info()
    assert model.formulation_ == "weak"
    assert info["weak"]["spacing"] == 0.0625 and info["weak"]["test_functions"] == [21]
    assert "21 placed 0.0625 radii apart" in info["formulation_reason"]
    np.testing.assert_allclose(model.coef_[:, 1:3], OSC, atol=1e-3)  # noise-free: the linear terms


def test_a_given_test_function_count_is_kept_and_too_few_equations_refused():
    from symsindy import SymmetricSINDy

    t, x = _short_oscillator()
    model = SymmetricSINDy(
        library=ps.PolynomialLibrary(degree=3), formulation="weak", weak=WeakForm(width=30, n_test=6)
    )
    with pytest.raises(ValueError, match="too few test functions: 6 test functions x 2 variables give 12 equations"):
        model.fit(x, t=t, feature_names=["x", "y"])


def test_weak_system_records_its_spacing():
    t, x = _short_oscillator()
    ws = weak_system(x, t, ps.PolynomialLibrary(degree=1).fit(x).transform, WeakForm(width=10, spacing=0.5))
    assert ws.spacing == 0.5
