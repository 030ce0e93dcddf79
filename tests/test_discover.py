import numpy as np
import pysindy as ps
import pytest
from scipy.integrate import solve_ivp
from scipy.linalg import subspace_angles

from symsindy.discover import (
    candidate_generators,
    discover_continuous,
    discover_discrete,
    discover_symmetries,
    element_spec,
    fit_with_discovered_symmetry,
    generating_set,
    select_nullity,
)
from symsindy.symmetry import Symmetry

from conftest import LORENZ_TERMS, coefficient_matrix, lorenz_trajectory, polynomial_library


def _true_coef(lib, names, terms):
    return coefficient_matrix(lib.get_feature_names(names), names, terms)


@pytest.fixture(scope="module")
def lorenz_noisy():
    t = np.arange(0, 5, 0.002)
    x = lorenz_trajectory(t, t_end=5.0)
    rng = np.random.default_rng(0)
    return t, x + 0.05 * x.std(0) * rng.normal(size=x.shape)


def test_candidate_families():
    assert len(candidate_generators(3, "gl")) == 9
    so = candidate_generators(3, "so")
    assert len(so) == 3 and all(np.allclose(A, -A.T) for A, _ in so)
    assert len(candidate_generators(3, "affine")) == 12
    with pytest.raises(ValueError, match="candidates 'xx'"):
        candidate_generators(3, "xx")


def test_gap_rule():
    assert select_nullity(np.array([1e-16, 1e-15, 0.3, 0.9])) == 2
    assert select_nullity(np.array([1e-3, 0.5, 0.9])) == 1
    assert select_nullity(np.array([0.02, 0.03, 0.04, 0.3])) == 0  # no gap of 10
    assert select_nullity(np.array([0.003])) == 1  # a single candidate against the operator scale


def test_exact_model_algebras():
    lib = polynomial_library(2, 3)
    names = ["x", "y"]
    # x' = -0.1 x + 2 y - x r^2, y' = -2x - 0.1y - y r^2: rotations only
    c = _true_coef(
        lib,
        names,
        {
            ("x", "x"): -0.1,
            ("x", "y"): 2,
            ("y", "x"): -2,
            ("y", "y"): -0.1,
            ("x", "x^3"): -1,
            ("x", "x y^2"): -1,
            ("y", "x^2 y"): -1,
            ("y", "y^3"): -1,
        },
    )
    res = discover_continuous(c, lib, names, "gl")
    assert res.nullity == 1 and res.specs == ["rotation(x,y)"]
    assert res.singular_values[0] < 1e-14
    # a linear model is also symmetric under uniform scaling
    lin = c.copy()
    lin[:, 3:] = 0
    res = discover_continuous(lin, lib, names, "gl")
    assert res.nullity == 2 and sorted(res.specs) == ["rotation(x,y)", "scaling(x=1,y=1)"]


def test_translation_found_with_affine_candidates():
    lib = polynomial_library(3, 2)
    names = ["x", "y", "z"]
    # z does not appear on the right-hand side: translation(z) is a symmetry
    c = _true_coef(lib, names, {("x", "y"): 1, ("y", "x"): -1, ("z", "x^2"): 1, ("z", "y^2"): 1})
    res = discover_continuous(c, lib, names, "affine")
    assert "translation(z)" in res.specs and "rotation(x,y)" in res.specs


def test_so3_recognised():
    lib = polynomial_library(3, 3)
    names = ["x", "y", "z"]
    # x' = -x r^2 is SO(3)-equivariant
    c = _true_coef(
        lib,
        names,
        {
            ("x", "x^3"): -1,
            ("x", "x y^2"): -1,
            ("x", "x z^2"): -1,
            ("y", "x^2 y"): -1,
            ("y", "y^3"): -1,
            ("y", "y z^2"): -1,
            ("z", "x^2 z"): -1,
            ("z", "y^2 z"): -1,
            ("z", "z^3"): -1,
        },
    )
    res = discover_continuous(c, lib, names, "so")
    assert res.nullity == 3 and res.specs == ["rotation(x,y,z)"]


def test_discrete_lorenz_exact_and_named():
    lib = polynomial_library(3, 2)
    names = ["x", "y", "z"]
    c = _true_coef(lib, names, LORENZ_TERMS)
    found = discover_discrete(c, lib, names)
    assert [e.spec for e in found] == ["flip(x,y)"] and found[0].residual == 0


def test_element_specs_round_trip():
    names = ["a", "b", "c", "d"]
    rng = np.random.default_rng(0)
    for _ in range(50):
        perm = rng.permutation(4)
        R = np.eye(4)[:, perm] * rng.choice([-1.0, 1.0], size=4)[None, :]
        if np.array_equal(R, np.eye(4)):
            continue
        spec = element_spec(R, names)
        assert np.array_equal(Symmetry(names, spec).elements[0].matrix, R), spec


def test_generating_set_of_cyclic_group():
    lib = polynomial_library(2, 3)
    names = ["x", "y"]
    c = _true_coef(lib, names, {("x", "x"): -0.1, ("x", "y"): 2, ("y", "x"): -2, ("y", "y"): -0.1})
    found = discover_discrete(c, lib, names)
    gens = generating_set(found)
    assert len(found) == 3  # the rotations by 90, 180, 270 degrees
    assert len(gens) == 1 and gens[0].spec in ("flip(x)+swap(x,y)", "flip(y)+swap(x,y)")


def test_lorenz_from_noisy_data(lorenz_noisy):
    t, x = lorenz_noisy
    rep = discover_symmetries(
        x,
        t=t,
        feature_names=["x", "y", "z"],
        library=ps.PolynomialLibrary(degree=2),
        threshold=0.1,
        n_bootstrap=5,
        random_state=1,
    )
    assert rep.continuous.nullity == 0
    assert rep.specs == ["flip(x,y)"]
    assert rep.spec_frequency["flip(x,y)"] >= 0.8
    d = rep.to_dict()
    for key in ("variables", "continuous", "translations", "discrete", "singular_values", "specs"):
        assert key in d
    assert d["discrete"] == [np.diag([-1.0, -1.0, 1.0]).tolist()]


def test_near_symmetric_system_reports_the_breaking():
    """A small but resolved symmetry-breaking term: no rotation is claimed."""
    rng = np.random.default_rng(3)
    x = rng.normal(size=(400, 2))
    A = np.array([[-0.1, 2.0], [-2.0, -0.1]])
    xd = x @ A.T - x * (x**2).sum(1)[:, None]
    xd[:, 0] += 0.3 * x[:, 0] ** 2  # breaks the rotation (and the flips)
    xd += 0.01 * xd.std(0) * rng.normal(size=xd.shape)
    rep = discover_symmetries(
        x, x_dot=xd, feature_names=["x", "y"], library=ps.PolynomialLibrary(degree=3), n_bootstrap=0
    )
    assert "rotation(x,y)" not in rep.specs
    # the evidence shows the breaking: a visible smallest singular value, and a refit that costs fit
    assert rep.continuous.singular_values[0] > 0.01
    if "rotation(x,y)" in rep.continuous.specs:
        assert "rotation(x,y)" in rep.rejected and rep.refit_cost["rotation(x,y)"] > 1.0
        assert "REJECTED" in rep.summary()
    # without the breaking term the rotation is found
    xd2 = x @ A.T - x * (x**2).sum(1)[:, None] + 0.01 * rng.normal(size=xd.shape)
    rep2 = discover_symmetries(
        x, x_dot=xd2, feature_names=["x", "y"], library=ps.PolynomialLibrary(degree=3), n_bootstrap=0
    )
    assert rep2.continuous.specs == ["rotation(x,y)"]


def test_principal_angle_on_rotating_3d_system():
    """A system symmetric about z: the discovered algebra is that rotation to < 0.05 rad."""
    a, b, c, d, e = 0.95, 0.7, 0.6, 3.5, 0.25

    def f(t, s):
        x, y, z = s
        return [(z - b) * x - d * y, d * x + (z - b) * y, c + a * z - z**3 / 3 - (x**2 + y**2) * (1 + e * z)]

    t = np.arange(0, 40, 0.01)
    sol = solve_ivp(f, (0, 40), [0.1, 0, 0], t_eval=t, rtol=1e-10, atol=1e-10).y.T[1000:]
    rng = np.random.default_rng(0)
    idx = np.sort(rng.choice(len(sol), 300, replace=False))
    xs = sol[idx]
    xd = np.array([f(0, s) for s in xs])
    xs = xs + 0.05 * xs.std(0) * rng.normal(size=xs.shape)
    xd = xd + 0.05 * xd.std(0) * rng.normal(size=xd.shape)
    rep = discover_symmetries(
        xs,
        x_dot=xd,
        feature_names=["x", "y", "z"],
        library=ps.PolynomialLibrary(degree=3),
        threshold=0.1,
        n_bootstrap=0,
        discrete=False,
    )
    truth = Symmetry(["x", "y", "z"], "rotation(x,y)").generators[0].matrix.reshape(-1, 1)
    assert rep.continuous.nullity == 1
    assert np.max(subspace_angles(rep.continuous.basis[:9], truth)) < 0.05


def test_discover_then_enforce(lorenz_noisy):
    t, x = lorenz_noisy
    # threshold: half the smallest true coefficient, the rule the benchmarks use
    model, rep, enforced = fit_with_discovered_symmetry(
        x, t=t, feature_names=["x", "y", "z"], library=ps.PolynomialLibrary(degree=2), threshold=0.5, n_bootstrap=4
    )
    assert enforced == ["flip(x,y)"]
    assert model.symmetry_.specs == ["flip(x,y)"] and model.equivariance_residual_ < 1e-12
    assert np.count_nonzero(model.coef_) == 7
    names = model.term_names_
    assert abs(model.coef_[2, names.index("x y")] - 1) < 0.03 and abs(model.coef_[0, names.index("y")] - 10) < 0.3


def test_noise_free_rotation_system_is_not_rejected_and_bootstrap_runs():
    from symsindy.catalogue import get_system

    system = get_system("hopf")
    sim = system.simulate(random_state=0, n_trajectories=2)
    rep = discover_symmetries(
        sim.x, t=sim.t, feature_names=["x", "y"], library=ps.PolynomialLibrary(degree=3), threshold=0.05, n_bootstrap=3
    )
    assert "rotation(x,y)" in rep.specs and rep.rejected == []
    # rotations by 90 degrees lie in the continuous group: not reported as separate discrete symmetries
    assert not any("swap" in s for s in rep.specs)
    ((A, b),) = rep.continuous.generators
    assert np.allclose(np.abs(A), [[0, 1], [1, 0]], atol=1e-3) and not np.any(b)


def test_specs_few_bootstrap_refits_find_are_reported_as_uncertain(lorenz_noisy):
    t, x = lorenz_noisy
    rep = discover_symmetries(
        x,
        t=t,
        feature_names=["x", "y", "z"],
        library=ps.PolynomialLibrary(degree=2),
        threshold=0.5,
        n_bootstrap=3,
        random_state=1,
    )
    assert rep.specs == ["flip(x,y)"] and rep.spec_frequency["flip(x,y)"] >= 0.5
    assert rep.uncertain == [] and rep.summary().splitlines()[-1] == "found: flip(x,y)"
    # the same report had the refits found the flip only once in three
    rep.spec_frequency = {"flip(x,y)": 1 / 3}
    assert rep.uncertain == ["flip(x,y)"]
    lines = rep.summary().splitlines()
    assert lines[-2] == "found: no symmetry the bootstrap supports"
    assert lines[-1] == "uncertain (in fewer than half of the bootstrap refits): flip(x,y) (33%)"
    d = rep.to_dict()
    assert d["specs"] == ["flip(x,y)"] and d["uncertain"] == ["flip(x,y)"]
    # fit_with_discovered_symmetry's vote uses the same one-half default: nothing would be enforced
    rep.n_bootstrap = 0
    assert rep.uncertain == []
