import numpy as np
import pysindy as ps
import pytest
from hypothesis import given, settings, strategies as st
from scipy.linalg import expm

from symsindy.actions import LibraryNotClosedError, induced_action
from symsindy.symmetry import Symmetry

from conftest import polynomial_library

CASES = [
    (["x", "y"], "rotation(x,y)", 3),
    (["x", "y", "z"], "rotation(x,y,z); flip(x,y,z)", 3),
    (["x", "y", "z"], "flip(x,y); cycle(x,y,z)", 2),
    (["x", "y"], "translation(x); scaling(x=2,y=-1)", 3),
    (["q1", "q2", "p1", "p2"], "rotation(q1,q2)+rotation(p1,p2); swap(q1,q2)+swap(p1,p2)", 2),
]


@pytest.mark.parametrize("variables, spec, degree", CASES)
@settings(max_examples=15, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_polynomial_action_is_exact_at_group_level(variables, spec, degree, seed):
    rng = np.random.default_rng(seed)
    sym = Symmetry(variables, spec)
    lib = polynomial_library(sym.n, degree)
    act = induced_action(lib, sym)
    x = rng.normal(size=(5, sym.n))
    theta = lib.transform(x)
    for D, g in zip(act.generators, sym.generators):
        t = rng.uniform(-1, 1)
        gx = (expm(t * g.augmented()) @ np.c_[x, np.ones(len(x))].T).T[:, :-1]
        # Theta(exp(tA) x) = exp(tD) Theta(x): D generates the action on the library
        assert np.allclose(lib.transform(gx), theta @ expm(t * D).T, rtol=1e-10, atol=1e-10)
    for M, e in zip(act.elements, sym.elements):
        assert np.allclose(lib.transform(x @ e.matrix.T), theta @ M.T, rtol=1e-12, atol=1e-12)


def test_general_linear_element_expands_exactly():
    rng = np.random.default_rng(3)
    R = rng.normal(size=(3, 3))
    sym = Symmetry(["a", "b", "c"], elements=[R])
    lib = polynomial_library(3, 3)
    (M,) = induced_action(lib, sym).elements
    x = rng.normal(size=(7, 3))
    assert np.allclose(lib.transform(x @ R.T), lib.transform(x) @ M.T, rtol=1e-10)


def test_degree_blocks_are_preserved_by_linear_generators():
    sym = Symmetry(["x", "y", "z"], "rotation(x,y,z)")
    lib = polynomial_library(3, 4)
    deg = lib.powers_.sum(axis=1)
    for D in induced_action(lib, sym).generators:
        rows, cols = np.nonzero(D)
        assert np.array_equal(deg[rows], deg[cols])


@pytest.mark.parametrize("method", ["sampled"])
def test_numerical_action_matches_exact(method):
    sym = Symmetry(["x", "y"], "rotation(x,y); swap(x,y)")
    lib = polynomial_library(2, 3)
    exact = induced_action(lib, sym)
    approx = induced_action(lib, sym, method=method)
    assert approx.method == method
    for a, b in zip(exact.generators + exact.elements, approx.generators + approx.elements):
        assert np.allclose(a, b, atol=1e-6)


def test_fourier_library_is_not_closed_under_rotation():
    sym = Symmetry(["x", "y"], "rotation(x,y)")
    lib = ps.FourierLibrary().fit(np.random.default_rng(0).normal(size=(10, 2)))
    with pytest.raises(LibraryNotClosedError) as exc:
        induced_action(lib, sym, method="sampled")
    msg = str(exc.value)
    assert "rotation(x,y)" in msg and "not closed" in msg and "sin(1 x)" in msg and "\n" not in msg


def test_fourier_library_is_closed_under_translation():
    sym = Symmetry(["x", "y"], "translation(x)")
    lib = ps.FourierLibrary(n_frequencies=2).fit(np.random.default_rng(0).normal(size=(10, 2)))
    act = induced_action(lib, sym, method="sampled")
    x = np.random.default_rng(1).normal(size=(4, 2))
    shifted = lib.transform(x + [1e-3, 0])
    assert np.allclose((shifted - lib.transform(x)) / 1e-3, lib.transform(x) @ act.generators[0].T, atol=1e-2)


def test_polynomial_library_without_bias_is_not_closed_under_translation():
    sym = Symmetry(["x", "y"], "translation(x)")
    with pytest.raises(LibraryNotClosedError, match="terms that break closure: x"):
        induced_action(polynomial_library(2, 2, include_bias=False), sym)


def test_interaction_only_library_is_not_closed_under_rotation():
    sym = Symmetry(["x", "y"], "rotation(x,y)")
    with pytest.raises(LibraryNotClosedError, match="x y"):
        induced_action(polynomial_library(2, 2, interaction_only=True), sym)


def test_variable_count_mismatch():
    with pytest.raises(ValueError, match="library has 3 input variables but the symmetry acts on 2"):
        induced_action(polynomial_library(3, 2), Symmetry(["x", "y"], "rotation(x,y)"))


def test_symbolic_action_on_fourier_library_under_translation_is_exact():
    sym = Symmetry(["x", "y"], "translation(x)")
    lib = ps.FourierLibrary(n_frequencies=2).fit(np.random.default_rng(0).normal(size=(10, 2)))
    act = induced_action(lib, sym)
    assert act.method == "symbolic"
    (D,) = act.generators
    # d/dx sin(k x) = k cos(k x): exact integers after snapping
    assert set(np.unique(D)) <= {-2.0, -1.0, 0.0, 1.0, 2.0}
    x = np.random.default_rng(1).normal(size=(5, 2))
    t = 0.7
    R = expm(t * D)
    assert np.allclose(lib.transform(x + [t, 0]), lib.transform(x) @ R.T, atol=1e-10)


def test_symbolic_action_on_concatenated_library():
    sym = Symmetry(["x", "y"], "swap(x,y)")
    lib = (ps.PolynomialLibrary(degree=2) + ps.FourierLibrary()).fit(np.random.default_rng(0).normal(size=(10, 2)))
    act = induced_action(lib, sym)
    assert act.method == "symbolic"
    x = np.random.default_rng(2).normal(size=(6, 2))
    assert np.allclose(lib.transform(x[:, ::-1]), lib.transform(x) @ act.elements[0].T, atol=1e-12)
