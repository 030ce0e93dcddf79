"""The PDE library on a grid, and its columns in SymPy with derivative symbols u_x, u_xx, v_xy."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import sympy

from symsindy.pde import FieldData, derivative_symbol, pde_library, pde_terms


def _evaluate(terms, values):
    """Each term at the grid points, from the values of every symbol it uses."""
    out = []
    for term in terms:
        syms = sorted(term.free_symbols, key=str)
        f = sympy.lambdify(syms, term, modules="numpy")
        out.append(np.broadcast_to(np.asarray(f(*[values[str(s)] for s in syms]), float), values["shape"]))
    return np.stack(out, axis=-1)


def test_one_dimensional_terms_match_the_library_columns():
    x = np.linspace(0, 2 * np.pi, 400, endpoint=False)
    t = np.linspace(0, 0.5, 5)
    e = np.exp(-t)[:, None]
    u = (np.sin(x) + 0.3 * np.cos(2 * x))[None, :] * e
    data = FieldData(["u"], ["x"], {"x": x}, [t], [u[..., None]], "test")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lib = pde_library(data, degree=2, derivative_order=2)
        cols = np.asarray(lib.transform([np.moveaxis(data.u[0], 0, -2)])[0])  # (nx, nt, p)
    terms = pde_terms(lib, ["u"], ["x"])
    u_, ux, uxx = sympy.symbols("u u_x u_xx")
    assert terms[:5] == [1, u_, u_**2, ux, uxx] and u_ * ux in terms and u_**2 * uxx in terms
    values = {
        "u": u.T,
        "u_x": ((np.cos(x) - 0.6 * np.sin(2 * x))[None, :] * e).T,
        "u_xx": ((-np.sin(x) - 1.2 * np.cos(2 * x))[None, :] * e).T,
        "shape": u.T.shape,
    }
    inner = slice(5, -5)  # away from the one-sided differences at the edges
    np.testing.assert_allclose(cols[inner], _evaluate(terms, values)[inner], atol=2e-3)


def test_two_dimensional_terms_name_mixed_derivatives():
    x, y = np.linspace(0, 1, 12), np.linspace(0, 2, 10)
    t = np.linspace(0, 1, 3)
    u = np.random.default_rng(0).normal(size=(3, 12, 10, 2))
    data = FieldData(["u", "v"], ["x", "y"], {"x": x, "y": y}, [t], [u], "test")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        lib = pde_library(data, degree=1, derivative_order=2, include_bias=False)
    terms = pde_terms(lib, ["u", "v"], ["x", "y"])
    names = {str(s) for term in terms for s in term.free_symbols}
    assert {"u_x", "u_y", "u_xx", "u_xy", "u_yy", "v_xy"} <= names
    assert len(terms) == len(lib.get_feature_names(["u", "v"]))
    v, u_y = sympy.symbols("v u_y")
    assert v * u_y in terms


def test_errors_name_the_problem():
    assert derivative_symbol("v", (1, 1), ["x", "y"]) == sympy.Symbol("v_xy")
    with pytest.raises(ValueError, match="not all zero"):
        derivative_symbol("u", (0,), ["x"])
    x = np.array([0.0, 0.1, 0.3, 0.4])
    data = FieldData(["u"], ["x"], {"x": x}, [np.arange(3.0)], [np.zeros((3, 4, 1))], "f.npz")
    with pytest.raises(ValueError, match="f.npz: axis 'x': the grid is not uniform"):
        pde_library(data)
    with pytest.raises(ValueError, match="degree 0"):
        pde_library(data, degree=0)
