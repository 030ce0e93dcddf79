"""Discovery on catalogue systems: a few hundred samples at 5% noise."""

import numpy as np
import pysindy as ps
import pytest
import sympy as sp
from scipy.linalg import subspace_angles

from symsindy.catalogue import get_system
from symsindy.cli import main
from symsindy.discover import _group_closure, discover_symmetries, estimate_derivatives

from conftest import catalogue_csv


def _samples(name, noise=0.05, n=400, seed=0):
    """Smoothed states and derivatives from noisy trajectories, then n random samples."""
    system = get_system(name)
    sim = system.simulate(noise=noise, random_state=seed, n_trajectories=4)
    xs, ds = estimate_derivatives(sim.x, [sim.t] * len(sim.x))
    X, D = np.vstack(xs), np.vstack(ds)
    idx = np.random.default_rng(seed).choice(len(X), n, replace=False)
    degree = max(2, max(sp.Poly(e, *system.symbols).total_degree() for e in system.rhs_list))
    lib = ps.PolynomialLibrary(degree=degree).fit(X)
    true = system.true_coefficients(lib)
    threshold = 0.5 * np.min(np.abs(true[true != 0]))  # the benchmarks' rule
    return system, X[idx], D[idx], degree, threshold


@pytest.mark.parametrize("name", ["damped_oscillator", "hopf", "harmonic_oscillator"])
def test_continuous_algebra_matches_declared(name):
    system, X, D, degree, threshold = _samples(name)
    rep = discover_symmetries(
        X,
        x_dot=D,
        feature_names=list(system.variables),
        library=ps.PolynomialLibrary(degree=degree),
        threshold=threshold,
        n_bootstrap=0,
        discrete=False,
    )
    declared = np.column_stack([np.concatenate([g.matrix.ravel(), g.translation]) for g in system.symmetry.generators])
    found = rep.continuous.basis
    assert found.shape[1] == declared.shape[1], rep.summary()
    assert np.max(subspace_angles(declared, found)) < 0.05


@pytest.mark.parametrize("name", ["lorenz", "chen", "duffing", "lorenz96", "halvorsen", "nose_hoover"])
def test_discrete_group_found_exactly(name):
    system, X, D, degree, threshold = _samples(name)
    rep = discover_symmetries(
        X,
        x_dot=D,
        feature_names=list(system.variables),
        library=ps.PolynomialLibrary(degree=degree),
        threshold=threshold,
        n_bootstrap=0,
    )
    n = len(system.variables)
    declared = _group_closure([e.matrix for e in system.symmetry.elements], n, 1000)
    found = _group_closure([e.matrix for e in rep.discrete_generators], n, 1000)
    assert set(found) == set(declared), rep.summary()
    assert rep.continuous.nullity == 0


@pytest.mark.parametrize("name", ["rossler", "lotka_volterra", "fitzhugh_nagumo", "lorenz84"])
def test_negative_controls_report_nothing(name):
    system, X, D, degree, threshold = _samples(name)
    rep = discover_symmetries(
        X,
        x_dot=D,
        feature_names=list(system.variables),
        library=ps.PolynomialLibrary(degree=degree),
        threshold=threshold,
        n_bootstrap=0,
        candidates="affine",
    )
    assert rep.specs == [] and rep.continuous.nullity == 0, rep.summary()


def test_fit_symmetry_auto_on_lorenz(tmp_path, capsys):
    path = catalogue_csv(tmp_path, "lorenz", noise=0.01, seed=0, trajectories=1)
    assert main(["fit", str(path), "--symmetry", "auto", "--degree", "2", "--threshold", "0.5"]) == 0
    out = capsys.readouterr().out
    assert "symmetry: flip(x,y) (discovered: flip(x,y))" in out
    assert out.count("\n") >= 5 and "x' = " in out


def test_symmetry_auto_must_stand_alone(tmp_path, capsys):
    path = catalogue_csv(tmp_path, "damped_oscillator", noise=0.0, seed=0, trajectories=1)
    assert main(["fit", str(path), "--symmetry", "auto", "--symmetry", "rotation(x,y)"]) == 2
    assert "give it alone" in capsys.readouterr().err
