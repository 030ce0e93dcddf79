import numpy as np
import pysindy as ps
import pytest
from hypothesis import given, settings, strategies as st

from symsindy.actions import induced_action
from symsindy.constraints import (
    constraint_matrix,
    equivariance_residual,
    equivariant_subspace,
    pysindy_constraints,
)
from symsindy.symmetry import Symmetry

from conftest import polynomial_library


def _subspace(variables, spec, degree, **kw):
    sym = Symmetry(variables, spec)
    lib = polynomial_library(len(variables), degree)
    act = induced_action(lib, sym)
    return sym, lib, act, equivariant_subspace(act, **kw)


@pytest.mark.parametrize(
    "variables, spec, degree, dim",
    [
        (["x", "y"], "rotation(x,y)", 3, 4),  # z' = a z + b z|z|^2, a, b complex
        (["x", "y"], "rotation(x,y)", 2, 2),
        (["x", "y", "z"], "flip(x,y)", 2, 14),  # issue: 14 of 30
        (["x", "y", "z"], "rotation(x,y,z)", 1, 1),  # only x' = c x
        (["x", "y"], "swap(x,y)", 2, 6),
    ],
)
def test_known_dimensions(variables, spec, degree, dim):
    *_, sub = _subspace(variables, spec, degree)
    assert sub.dim == dim
    assert sub.exact


def test_basis_is_readable_and_exact():
    *_, sub = _subspace(["x", "y"], "rotation(x,y)", 3)
    Q = sub.basis
    # RREF: every basis vector has a pivot entry 1 where the others vanish
    for j in range(Q.shape[1]):
        piv = np.flatnonzero(Q[:, j])[0]
        assert Q[piv, j] == 1.0
        assert np.count_nonzero(Q[piv]) == 1
    assert set(np.unique(Q)) <= {-1.0, 0.0, 1.0}


def test_flip_basis_is_orbit_sums():
    *_, sub = _subspace(["x", "y", "z"], "flip(x,y)", 2)
    # under a sign flip every coefficient is its own orbit: unit vectors
    assert np.array_equal(np.sort(np.abs(sub.basis).sum(axis=0)), np.ones(14))


def test_constraints_complement_basis():
    _, lib, act, sub = _subspace(list("xyz"), "rotation(x,y); flip(z)", 3)
    N = sub.basis.shape[0]
    assert np.abs(sub.constraints @ sub.basis).max() < 1e-12
    assert np.linalg.matrix_rank(sub.constraints) == sub.constraints.shape[0] == N - sub.dim
    C = constraint_matrix(act)
    assert abs(C @ sub.basis).max() < 1e-12
    assert sub.gap_singular_value > 1e3 * max(sub.null_singular_value, 1e-16)


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_random_equivariant_models_are_equivariant(seed):
    rng = np.random.default_rng(seed)
    sym, lib, act, sub = _subspace(["x", "y", "z"], "rotation(x,y); flip(x,y,z)", 3)
    coef = sub.coef_from(rng.normal(size=sub.dim))
    f = lambda x: lib.transform(x) @ coef.T
    x = rng.normal(size=(6, 3))
    assert sym.equivariance_error(f, x, rng=seed) < 1e-10
    assert equivariance_residual(coef, act) < 1e-14


def test_non_equivariant_model_has_large_residual():
    sym, lib, act, sub = _subspace(["x", "y"], "rotation(x,y)", 2)
    coef = np.zeros((2, 6))
    coef[0, 1] = 1.0  # x' = x, y' = 0
    assert equivariance_residual(coef, act) > 0.1


def test_so3_on_two_vectors_degree5_is_block_solved():
    *_, sub = _subspace(list("xyzuvw"), "rotation(x,y,z)+rotation(u,v,w)", 5)
    assert sub.basis.shape == (2772, sub.dim)
    assert sub.dim > 0 and sub.exact


def test_pysindy_constrained_sr3_gives_the_same_symmetric_model():
    rng = np.random.default_rng(1)
    A = np.array([[-0.1, 2.0], [-2.0, -0.1]])
    x = rng.normal(size=(50, 2))
    xd = x @ A.T + 0.05 * rng.normal(size=x.shape)
    sym = Symmetry(["x", "y"], "rotation(x,y)")
    lhs, rhs = pysindy_constraints(ps.PolynomialLibrary(degree=3), sym, x=x)
    opt = ps.ConstrainedSR3(
        constraint_lhs=lhs,
        constraint_rhs=rhs,
        constraint_order="feature",
        equality_constraints=True,
        reg_weight_lam=0.0,
        max_iter=1000,
        tol=1e-12,
    )
    ps.SINDy(optimizer=opt, feature_library=ps.PolynomialLibrary(degree=3)).fit(x, t=1.0, x_dot=xd)
    from symsindy.model import SymmetricSINDy

    ours = SymmetricSINDy(library=ps.PolynomialLibrary(degree=3), symmetry="rotation(x,y)", threshold=0, alpha=0)
    ours.fit(x, x_dot=xd, feature_names=["x", "y"])
    assert np.allclose(opt.coef_, ours.coef_, atol=1e-10)
    assert equivariance_residual(opt.coef_, ours.action_) < 1e-12
