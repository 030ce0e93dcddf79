"""Tests for bagged symmetric models: exact symmetry of every member, seeds, inclusion, intervals, parallel runs."""

from __future__ import annotations

import numpy as np
import pysindy as ps
import pytest

from symsindy.catalogue import get_system
from symsindy.ensemble import SymmetricEnsemble, symmetric_ensemble
from symsindy.model import SymmetricSINDy


@pytest.fixture(scope="module")
def oscillator():
    system = get_system("damped_oscillator")
    sim = system.simulate(t_end=10.0, dt=0.01, noise=0.02, random_state=1)
    lib = ps.PolynomialLibrary(degree=3)
    lib.fit(sim.x[0])
    return sim, system.true_coefficients(lib)


@pytest.fixture(scope="module")
def lorenz_samples():
    """Random noisy states of Lorenz with noisy exact derivatives."""
    system = get_system("lorenz")
    sim = system.simulate(t_end=20.0, dt=0.01)
    rng = np.random.default_rng(5)
    idx = rng.choice(len(sim.t), 300, replace=False)
    X, D = sim.x_clean[0][idx], sim.x_dot[0][idx]
    X = X + 0.005 * rng.normal(size=X.shape) * np.sqrt((X**2).mean(0))
    D = D + 0.005 * rng.normal(size=D.shape) * np.sqrt((D**2).mean(0))
    lib = ps.PolynomialLibrary(degree=2)
    lib.fit(X)
    return X, D, system.true_coefficients(lib)


def rotation_base(**kw):
    return SymmetricSINDy(library=ps.PolynomialLibrary(degree=3), symmetry="rotation(x,y)", threshold=0.05, **kw)


@pytest.fixture(scope="module")
def fitted(oscillator):
    sim, _ = oscillator
    return SymmetricEnsemble(rotation_base(), n_models=25, random_state=3).fit(
        sim.x[0], t=sim.t, feature_names=["x", "y"]
    )


def test_every_member_is_exactly_symmetric(fitted):
    assert len(fitted.members_) == 25 and fitted.member_coef_.shape == (25, 2, 10)
    assert np.all(fitted.equivariance_residuals_ <= 1e-10)
    assert fitted.equivariance_residual_ <= 1e-10
    x, y = fitted.term_names_.index("x"), fitted.term_names_.index("y")
    for c in list(fitted.member_coef_) + [fitted.coef_]:
        # rotation ties x' and y': a = c[x', x] = c[y', y], b = c[x', y] = -c[y', x]
        assert c[0, x] == c[1, y] and c[0, y] == -c[1, x]
    # the members differ: they saw different rows
    assert np.ptp(fitted.member_coef_[:, 0, x]) > 0


def test_inclusion_intervals_and_aggregate(fitted, oscillator):
    _, truth = oscillator
    support = truth != 0
    assert np.all(fitted.inclusion_probability_[support] == 1.0)
    assert np.all(fitted.inclusion_probability_[~support] <= 0.2)
    lo, hi = fitted.coef_interval_
    assert np.all(lo <= fitted.coef_ + 1e-12) and np.all(fitted.coef_ <= hi + 1e-12)
    assert np.all(lo <= hi)
    assert np.abs(fitted.coef_ - truth).max() < 0.02
    # the aggregate is the basis times the median coordinates
    Q = fitted.subspace_.basis
    z = np.median(fitted.member_coords_, axis=0)
    assert np.allclose((Q @ z).reshape(10, 2).T, fitted.coef_, atol=1e-14)
    assert fitted.equations(2) == ["x' = -0.10 x + 2.00 y", "y' = -2.00 x - 0.10 y"]
    assert np.allclose(fitted.predict(np.array([[1.0, 0.0]])), fitted.coef_[:, fitted.term_names_.index("x")][None])


def test_orbits_are_the_tied_entries(fitted):
    Q = fitted.subspace_.basis
    assert len(fitted.orbits_) == Q.shape[1] == len(fitted.orbit_names_) == len(fitted.orbit_inclusion_probability_)
    used = set()
    for j, orbit in enumerate(fitted.orbits_):
        entries = {(v, t) for v, t, _ in orbit}
        # under a rotation every orbit couples both equations, and orbits here are disjoint
        assert {v for v, _ in entries} == {"x", "y"}
        assert not (entries & used)
        used |= entries
        # an orbit is in a member exactly when its entries are
        for v, t in entries:
            i, k = fitted.feature_names_.index(v), fitted.term_names_.index(t)
            assert fitted.inclusion_probability_[i, k] == fitted.orbit_inclusion_probability_[j]
    assert sorted(fitted.orbit_inclusion_probability_)[-2:] == [1.0, 1.0]
    names = dict(zip(fitted.orbit_names_, fitted.orbit_inclusion_probability_))
    assert names["x': +x; y': +y"] == 1.0
    text = fitted.summary()
    assert text.splitlines()[1].lstrip().startswith("1.00") and "x': +x; y': +y" in text


def test_same_seed_same_results_other_seed_other_rows(oscillator, fitted):
    sim, _ = oscillator
    again = symmetric_ensemble(
        sim.x[0], t=sim.t, feature_names=["x", "y"], base=rotation_base(), n_models=25, random_state=3
    )
    assert np.array_equal(again.member_coef_, fitted.member_coef_)
    assert np.array_equal(again.coef_, fitted.coef_)
    assert np.array_equal(again.inclusion_probability_, fitted.inclusion_probability_)
    other = SymmetricEnsemble(rotation_base(), n_models=25, random_state=4).fit(
        sim.x[0], t=sim.t, feature_names=["x", "y"]
    )
    assert not np.array_equal(other.member_coef_, fitted.member_coef_)


def test_dask_client_gives_the_same_members(oscillator, fitted):
    from dask.distributed import Client, LocalCluster

    sim, _ = oscillator
    with (
        LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None) as cluster,
        Client(cluster) as client,
    ):
        par = SymmetricEnsemble(rotation_base(), n_models=25, random_state=3).fit(
            sim.x[0], t=sim.t, feature_names=["x", "y"], client=client
        )
    assert np.array_equal(par.member_coef_, fitted.member_coef_)
    assert np.all(par.equivariance_residuals_ <= 1e-10)


@pytest.mark.slow
def test_joblib_processes_give_the_same_members(oscillator, fitted):
    sim, _ = oscillator
    par = SymmetricEnsemble(rotation_base(), n_models=25, random_state=3, n_jobs=2).fit(
        sim.x[0], t=sim.t, feature_names=["x", "y"]
    )
    assert np.array_equal(par.member_coef_, fitted.member_coef_)


def test_discrete_symmetry_subsampling_without_replacement(lorenz_samples):
    X, D, truth = lorenz_samples
    base = SymmetricSINDy(library=ps.PolynomialLibrary(degree=2), symmetry="flip(x,y)", threshold=0.5)
    ens = SymmetricEnsemble(base, n_models=15, subsample=0.5, replace=False, random_state=0).fit(
        X, x_dot=D, feature_names=["x", "y", "z"]
    )
    assert np.all(ens.equivariance_residuals_ <= 1e-10)
    # flip(x,y) forbids e.g. a constant in x' and a linear x term in z': exactly zero in every member
    terms = ens.term_names_
    assert np.all(ens.member_coef_[:, 0, terms.index("1")] == 0.0)
    assert np.all(ens.member_coef_[:, 2, terms.index("x")] == 0.0)
    assert np.array_equal(ens.inclusion_probability_ == 1.0, truth != 0)
    # orbits pair entries of x' and y' with opposite parity; z' entries stand alone
    assert any({v for v, _, _ in o} == {"z"} for o in ens.orbits_)


def test_bad_arguments(oscillator):
    sim, _ = oscillator
    x = sim.x[0][:50]
    with pytest.raises(ValueError, match="without replacement"):
        SymmetricEnsemble(rotation_base(), subsample=100, replace=False).fit(x, t=sim.t[:50])
    with pytest.raises(ValueError, match="n_models"):
        SymmetricEnsemble(rotation_base(), n_models=0).fit(x, t=sim.t[:50])
    with pytest.raises(ValueError, match="subsample"):
        SymmetricEnsemble(rotation_base(), subsample=1.5).fit(x, t=sim.t[:50])
    with pytest.raises(ValueError, match="t: sample times"):
        SymmetricEnsemble(rotation_base()).fit(x)
    with pytest.raises(ValueError, match="base"):
        SymmetricEnsemble(base=ps.STLSQ()).fit(x, t=sim.t[:50])


def _trig_library():
    return ps.CustomLibrary(
        library_functions=[lambda a: a, lambda a: np.sin(a), lambda a: np.cos(a)],
        function_names=[lambda a: a, lambda a: f"sin({a})", lambda a: f"cos({a})"],
    )


def test_models_on_a_custom_library_clone_and_bag():
    """sklearn cannot rebuild pysindy's CustomLibrary from its parameters, nor list or print them; the
    models' clone copies it, so bagging a model on one works, and get_params and repr do not raise
    (each raised AttributeError)."""
    from scipy.integrate import solve_ivp
    from sklearn.base import clone

    from symsindy.promote import PromotedSINDy

    lib = _trig_library()
    model = SymmetricSINDy(library=lib, symmetry="flip(th,om)")
    copy = clone(model)
    assert type(copy) is SymmetricSINDy and copy.library is not lib and not hasattr(copy, "coef_")
    assert copy.get_params()["symmetry"] == "flip(th,om)"  # deep: the library's own are left out
    assert repr(model) == "SymmetricSINDy(library=CustomLibrary(...), symmetry='flip(th,om)')"
    assert repr(SymmetricEnsemble(base=model, n_models=3)).startswith("SymmetricEnsemble(base=SymmetricSINDy(")
    # a library that holds a CustomLibrary (a sum of libraries) and another estimator with a library
    summed = ps.PolynomialLibrary(degree=1) + _trig_library()
    assert clone(SymmetricSINDy(library=summed)).library is not summed
    assert isinstance(clone(PromotedSINDy(library=_trig_library())).library, ps.CustomLibrary)

    # a pendulum, th' = om, om' = -sin(th), from four amplitudes
    t = np.linspace(0.0, 20.0, 1001)
    xs = [
        solve_ivp(lambda _, s: [s[1], -np.sin(s[0])], (0, 20), [a, 0.0], t_eval=t, rtol=1e-10, atol=1e-10).y.T
        for a in (0.5, 1.0, 1.5, 2.0)
    ]
    ens = SymmetricEnsemble(base=model, n_models=10, random_state=0).fit(xs, t=t, feature_names=["th", "om"])
    assert ens.term_names_ == ["th", "om", "sin(th)", "sin(om)", "cos(th)", "cos(om)"]
    truth = np.zeros((2, 6))
    truth[0, 1], truth[1, 2] = 1.0, -1.0
    np.testing.assert_allclose(ens.coef_, truth, atol=1e-3)
    np.testing.assert_array_equal(ens.inclusion_probability_, (truth != 0).astype(float))
    assert np.all(ens.equivariance_residuals_ < 1e-9)
