"""The exact action of symmetries on PDE library terms: the library evaluated on the transformed
field equals the transformed library, for random group elements on random fields."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.linalg as sla
from hypothesis import given, settings
from hypothesis import strategies as st

from symsindy.constraints import equivariant_subspace
from symsindy.pde import FieldData, pde_action, pde_library, pde_terms, to_pysindy


def _smooth_field(rng, x, nt, ncomp):
    """Sums of a few random Fourier modes on the grid: (nt, nx, ncomp)."""
    out = np.zeros((nt, len(x), ncomp))
    for k in range(1, 4):
        a = rng.normal(size=(nt, 1, ncomp))
        b = rng.normal(size=(nt, 1, ncomp))
        out += a * np.sin(k * x)[None, :, None] + b * np.cos(k * x)[None, :, None]
    return out


def _columns(lib, u):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return np.asarray(lib.transform([to_pysindy(u)])[0])  # (nx[, ny], nt, p)


def _library(x, u, names, degree=2, order=2):
    data = FieldData(names, ["x"], {"x": x}, [np.arange(u.shape[0], dtype=float)], [u], "test")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pde_library(data, degree=degree, derivative_order=order)


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_flip_of_domain_and_component_on_random_fields(seed):
    """u~(x) = -u(-x) on a grid symmetric about 0: Theta(u~)(x) = M Theta(u)(-x)."""
    rng = np.random.default_rng(seed)
    x = np.linspace(-np.pi, np.pi, 201)
    u = _smooth_field(rng, x, 3, 1)
    lib = _library(x, u, ["u"])
    (M,) = pde_action(lib, ["u"], ["x"], "flip(x)+flip(u)").elements
    flipped = -u[:, ::-1, :]
    lhs = _columns(lib, flipped)
    rhs = _columns(lib, u)[::-1] @ M.T
    inner = slice(10, -10)
    np.testing.assert_allclose(lhs[inner], rhs[inner], atol=1e-8 * np.abs(rhs).max())


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 10_000), angle=st.floats(-3.0, 3.0))
def test_rotation_of_components_on_random_fields(seed, angle):
    """u~ = R(angle) u pointwise: Theta(u~) = expm(angle D) Theta(u), D the generator's matrix."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 2 * np.pi, 64, endpoint=False)
    u = _smooth_field(rng, x, 2, 2)
    lib = _library(x, u, ["u", "v"], degree=3, order=2)
    (D,) = pde_action(lib, ["u", "v"], ["x"], "rotation(u,v)").generators
    c, s = np.cos(angle), np.sin(angle)
    R = np.array([[c, -s], [s, c]])
    rotated = u @ R.T
    lhs = _columns(lib, rotated)
    rhs = _columns(lib, u) @ sla.expm(angle * D).T
    np.testing.assert_allclose(lhs, rhs, atol=1e-8 * np.abs(rhs).max())


def test_swap_of_axes_maps_mixed_derivatives_in_two_dimensions():
    rng = np.random.default_rng(3)
    g = np.linspace(0, 1, 24)
    u = rng.normal(size=(2, 24, 24, 1)).cumsum(axis=1).cumsum(axis=2)
    data = FieldData(["u"], ["x", "y"], {"x": g, "y": g}, [np.arange(2.0)], [u], "test")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lib = pde_library(data, degree=2, derivative_order=2)
    (M,) = pde_action(lib, ["u"], ["x", "y"], "swap(x,y)").elements
    swapped = np.swapaxes(u, 1, 2)
    lhs = _columns(lib, swapped)
    rhs = np.swapaxes(_columns(lib, u), 0, 1) @ M.T
    np.testing.assert_allclose(lhs[2:-2, 2:-2], rhs[2:-2, 2:-2], atol=1e-8 * np.abs(rhs).max())


def test_burgers_symmetry_allows_exactly_the_odd_terms():
    """flip(x)+flip(u) keeps u, u_xx, u*u_x and u**2*u_xx of the quadratic, second-order library:
    Burgers' u_t = -u u_x + nu u_xx is among them, u_x and u**2 are not."""
    x = np.linspace(-1, 1, 32)
    lib = _library(x, np.zeros((3, 32, 1)), ["u"])
    terms = [str(t) for t in pde_terms(lib, ["u"], ["x"])]
    sub = equivariant_subspace(pde_action(lib, ["u"], ["x"], "flip(x)+flip(u)"))
    allowed = {terms[k] for k in range(len(terms)) if np.any(sub.basis[k])}
    assert allowed == {"u", "u_xx", "u*u_x", "u**2*u_xx"}
    # a translation of the domain is trivial for a library without explicit x
    assert equivariant_subspace(pde_action(lib, ["u"], ["x"], "translation(x)")).dim == len(terms)


def test_unsupported_actions_are_refused_in_one_line():
    g = np.linspace(0, 1, 12)
    data = FieldData(["u", "v"], ["x", "y"], {"x": g, "y": g}, [np.arange(2.0)], [np.zeros((2, 12, 12, 2))], "t")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lib = pde_library(data, degree=1, derivative_order=1)
    with pytest.raises(ValueError, match="continuous map of the domain is not supported yet"):
        pde_action(lib, ["u", "v"], ["x", "y"], "rotation(x,y)")
    with pytest.raises(ValueError, match="mixes components with axes"):
        pde_action(lib, ["u", "v"], ["x", "y"], "swap(u,x)")
