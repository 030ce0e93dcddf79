"""PDEs that depend on the place: the coordinates as features (``CoordinateLibrary``), their
exact action under maps of the domain, the weak form with ``φ xᵃ``, and the fit of transport by
a rotating flow (pysindy issue #265)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import scipy.linalg as sla
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st
from threadpoolctl import threadpool_limits

from symsindy.cli import main
from symsindy.constraints import equivariance_residual, equivariant_subspace
from symsindy.pde import (
    CoordinateLibrary,
    FieldData,
    SymmetricPDESINDy,
    field_weak_system,
    get_pde_system,
    jet_variables,
    load_pde_model,
    pde_action,
    pde_library,
    pde_terms,
    to_pysindy,
)
from symsindy.pde._weak import _axis_weights
from symsindy.symmetry import Symmetry

AXES = ["x", "y"]


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    with threadpool_limits(1):
        yield


@pytest.fixture(scope="module")
def flow():
    """Advection-diffusion in a rotating flow, 1 % noise (the catalogue's grid, one run)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return get_pde_system("advection_diffusion_rotating").simulate(noise=0.01, random_state=1)


# --------------------------------------------------------------------------- the library


def test_columns_are_the_base_columns_times_the_coordinate_monomials():
    rng = np.random.default_rng(0)
    gx, gy = np.linspace(-1, 1, 7), np.linspace(0, 2, 9)
    u = rng.normal(size=(5, 7, 9, 1))
    data = FieldData(["c"], AXES, {"x": gx, "y": gy}, [np.arange(5.0)], [u], "t")
    lib = pde_library(data, 1, 2, coordinates="x,y", coordinate_degree=2)
    base = pde_library(data, 1, 2)
    assert isinstance(lib, CoordinateLibrary) and lib.coordinates == ("x", "y")
    terms, base_terms = pde_terms(lib, ["c"], AXES), pde_terms(base, ["c"], AXES)
    x, y = sympy.symbols("x y")
    monos = [1, x, y, x**2, x * y, y**2]
    assert terms == [m * t for m in monos for t in base_terms]
    assert lib.n_output_features_ == len(terms) == len(lib.get_feature_names(["c"]))
    cols = np.asarray(lib.transform([to_pysindy(u)])[0])
    base_cols = np.asarray(base.transform([to_pysindy(u)])[0])
    X, Y = np.meshgrid(gx, gy, indexing="ij")
    p = base_cols.shape[-1]
    for k, m in enumerate([np.ones_like(X), X, Y, X**2, X * Y, Y**2]):
        np.testing.assert_allclose(cols[..., k * p : (k + 1) * p], m[:, :, None, None] * base_cols, rtol=1e-13)
    # one coordinate only: its monomials
    c, cx = sympy.symbols("c c_x")
    assert pde_terms(pde_library(data, 1, 1, coordinates=["y"]), ["c"], AXES)[-1] == y * c * cx


def test_bad_coordinates_are_refused_in_one_line():
    g = np.linspace(0, 1, 8)
    data = FieldData(["c"], AXES, {"x": g, "y": g}, [np.arange(3.0)], [np.zeros((3, 8, 8, 1))], "t")
    with pytest.raises(ValueError, match="coordinates: unknown axis 'z'; axes are x, y"):
        pde_library(data, coordinates=("z",))
    with pytest.raises(ValueError, match="an axis named twice"):
        pde_library(data, coordinates=("x", "x"))
    with pytest.raises(ValueError, match="coordinate_degree 0: expected an integer >= 1"):
        pde_library(data, coordinates="x", coordinate_degree=0)
    lib = pde_library(data, 1, 1, coordinates="x")
    with pytest.raises(ValueError, match=r"grid of shape \(8, 6\); the library's coordinates are on \(8, 8\)"):
        lib.transform([np.zeros((8, 6, 3, 1))])


# --------------------------------------------------------------------------- the action, on random fields

_LIBS: dict = {}


def _coordinate_library(ncomp, degree, q):
    """(library, Theta of (jet, coordinates) rows, jet multi-indices), cached."""
    key = (ncomp, degree, q)
    if key not in _LIBS:
        g = np.linspace(0, 1, 8)
        names = ["u", "v"][:ncomp]
        data = FieldData(names, AXES, {"x": g, "y": g}, [np.arange(2.0)], [np.zeros((2, 8, 8, ncomp))], "t")
        lib = pde_library(data, degree, 2, coordinates=AXES, coordinate_degree=q)
        symbols, index = jet_variables(lib, names, AXES)
        f = sympy.lambdify(symbols + list(sympy.symbols("x y")), pde_terms(lib, names, AXES), modules="numpy")

        def theta(jet, points):
            cols = f(*jet.T, *points.T)
            return np.column_stack([np.broadcast_to(np.asarray(c, float), (len(jet),)) for c in cols])

        _LIBS[key] = (lib, theta, index)
    return _LIBS[key]


def _jet(field, index, ncomp, points):
    """The exact jet at each point: d^a u_c = Re sum_k A_ck (i K_k)^a e^(i K_k . x)."""
    K, A = field
    phase = np.exp(1j * points @ K.T)
    blocks = [(phase * np.prod((1j * K) ** index[b], axis=1)) @ A.T for b in range(0, len(index), ncomp)]
    return np.hstack(blocks).real


def _affine(g, n):
    """A generator (translation in the last column) or an element (linear) as an (n+1) x (n+1)
    matrix of the affine group or its algebra."""
    out = np.zeros((n + 1, n + 1))
    out[:n, :n] = g.matrix
    if hasattr(g, "translation"):
        out[:n, n] = g.translation
    else:
        out[n, n] = 1.0
    return out


_CASES = [
    (1, 1, 1, ["rotation(x,y)", "flip(x)"]),
    (1, 2, 2, ["rotation(x,y)", "translation(x)", "translation(y)"]),
    (1, 2, 2, ["swap(x,y)", "scaling(x,y)", "flip(u)"]),
    (2, 1, 1, ["rotation(x,y)+rotation(u,v)", "flip(x)+flip(u)", "translation(x,y)"]),
]


@pytest.mark.parametrize("ncomp,degree,q,specs", _CASES)
@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 10_000), ts=st.lists(st.floats(-1.5, 1.5), min_size=3, max_size=3))
def test_the_coordinates_move_with_the_domain_on_random_fields(ncomp, degree, q, specs, seed, ts):
    """For g = exp(t1 A1) E exp(t2 A2) ... (generators and elements in turn) acting as
    u~(x) = C u(P^-1 (x - b)): Theta(x, jet of u~ at x) = T Theta(y, jet of u at y), y = P^-1 (x - b)."""
    rng = np.random.default_rng(seed)
    lib, theta, index = _coordinate_library(ncomp, degree, q)
    names = ["u", "v"][:ncomp] + AXES
    sym = Symmetry(names, specs)
    action = pde_action(lib, names[:ncomp], AXES, specs)
    n = len(names)
    G, T = np.eye(n + 1), np.eye(action.n_terms)
    for k, t in enumerate(ts):
        if k < len(sym.generators):
            G = G @ sla.expm(t * _affine(sym.generators[k], n))
            T = T @ sla.expm(t * action.generators[k])
        for e, M in zip(sym.elements, action.elements):
            if rng.random() < 0.5:
                G, T = G @ _affine(e, n), T @ M
    C, P, b = G[:ncomp, :ncomp], G[ncomp:n, ncomp:n], G[ncomp:n, n]
    K, A = rng.normal(size=(4, 2)), rng.normal(size=(ncomp, 4)) + 1j * rng.normal(size=(ncomp, 4))
    Pinv = np.linalg.inv(P)
    # C u(P^-1 (x - b)): wave vectors K P^-1, amplitudes C A e^(-i K P^-1 b)
    moved = (K @ Pinv, (C @ A) * np.exp(-1j * (K @ Pinv @ b))[None, :])
    x = rng.uniform(-2, 2, size=(10, 2))
    y = (x - b) @ Pinv.T
    lhs = theta(_jet(moved, index, ncomp, x), x)
    rhs = theta(_jet((K, A), index, ncomp, y), y) @ T.T
    np.testing.assert_allclose(lhs, rhs, rtol=0, atol=1e-9 * max(1.0, np.abs(rhs).max()))


def test_a_rotation_by_a_matrix_is_the_exponential_of_its_generator_with_coordinates():
    lib, _, _ = _coordinate_library(1, 2, 2)
    names = ["u"] + AXES
    (D,) = pde_action(lib, ["u"], AXES, "rotation(x,y)").generators
    for angle in (0.3, 2 * np.pi / 3):
        R = sla.expm(angle * Symmetry(names, "rotation(x,y)").generators[0].matrix)
        (M,) = pde_action(lib, ["u"], AXES, Symmetry(names, elements=[R])).elements
        np.testing.assert_allclose(M, sla.expm(angle * D), rtol=0, atol=1e-12 * np.abs(M).max())


def test_a_translation_constrains_a_library_with_coordinates():
    """Without coordinates a translation is trivial; with them it removes every explicit x."""
    lib, _, _ = _coordinate_library(1, 1, 1)
    plain = _coordinate_library(1, 1, 1)[0].base
    assert equivariant_subspace(pde_action(plain, ["u"], AXES, "translation(x)")).dim == plain.n_output_features_
    sub = equivariant_subspace(pde_action(lib, ["u"], AXES, "translation(x)"))
    # the models with no x: the base columns and those times y
    assert sub.dim == 2 * plain.n_output_features_


# --------------------------------------------------------------------------- the weak form


def test_the_weak_rows_hold_with_the_true_rotating_flow():
    s = get_pde_system("advection_diffusion_rotating")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = s.simulate(random_state=2)
    lib = pde_library(data, 1, 2, coordinates=AXES)
    X = s.coefficients(pde_terms(lib, data.names, AXES))
    ws = field_weak_system(data, lib, random_state=0)
    assert np.linalg.norm(ws.b - ws.G @ X.T) <= 1e-5 * np.linalg.norm(ws.b)
    # with a translation of the domain the coordinates' columns change and the rows do not hold
    lib0 = pde_library(data, 1, 2)
    ws0 = field_weak_system(data, lib0, random_state=0)
    p = lib0.n_output_features_
    assert np.linalg.norm(ws0.b - ws0.G @ X[:, :p].T) > 0.5 * np.linalg.norm(ws0.b)


def test_the_moved_derivatives_with_coordinates_are_the_direct_integrals():
    """The columns with every derivative moved onto φ xᵃ (quadratic monomials included) equal the
    integral of φ xᵃ θ with θ's exact derivatives, to quadrature accuracy."""
    x = np.linspace(0, 2 * np.pi, 96, endpoint=False)
    t = np.linspace(0, 2, 61)
    T, Xg = np.meshgrid(t, x, indexing="ij")
    modes = [(1, 0.7, 0.3, 1.0), (2, 1.3, 1.1, 0.5), (3, 0.4, 2.0, 0.25)]
    u = sum(a * np.cos(w * T + d) * np.sin(k * Xg + d) for k, w, d, a in modes)
    ux = sum(a * k * np.cos(w * T + d) * np.cos(k * Xg + d) for k, w, d, a in modes)
    uxx = sum(-a * k * k * np.cos(w * T + d) * np.sin(k * Xg + d) for k, w, d, a in modes)
    data = FieldData(["u"], ["x"], {"x": x}, [t], [u[..., None]], "t")
    lib = pde_library(data, 2, 2, coordinates="x", coordinate_degree=2)
    ws = field_weak_system(data, lib, n_test=40, random_state=3)
    syms = sympy.symbols("u u_x u_xx x")
    f = sympy.lambdify(syms, pde_terms(lib, ["u"], ["x"]), modules="numpy")
    cols = np.stack([np.broadcast_to(np.asarray(c, float), u.shape) for c in f(u, ux, uxx, Xg)], axis=-1)
    mt, mx = ws.widths["t"], ws.widths["x"]
    phi = np.outer(
        _axis_weights(mt, t[1] - t[0], ws.p["t"], 0),
        _axis_weights(mx, x[1] - x[0], ws.p["x"], 0),
    )
    direct = np.array(
        [np.einsum("ij,ijk->k", phi, cols[i - mt : i + mt + 1, j - mx : j + mx + 1]) for _, i, j in ws.centers]
    )
    assert ws.exact.sum() > 0.6 * len(ws.exact)
    scale = np.abs(direct).max(axis=0) + 1e-12
    err = np.abs(ws.G - direct).max(axis=0) / scale
    # the trapezoid rule on bumps of radius ~10 samples: ~1e-5 with or without coordinates (a
    # wrong Leibniz term would be of order 1)
    assert err[ws.exact].max() < 1e-4
    assert err.max() < 3e-2  # the rest take a finite difference of u_x inside the integral (1e-2 here)


# --------------------------------------------------------------------------- the fit


def test_the_rotating_flow_is_recovered_exactly_symmetric(flow):
    """The weak form at 1 % noise, the strong form (time differences of the fields) without noise."""
    s = get_pde_system("advection_diffusion_rotating")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clean = s.simulate(random_state=1)
    for form, data, rtol in (("weak", flow, 0.03), ("strong", clean, 0.05)):
        model = SymmetricPDESINDy(degree=1, coordinates=AXES, symmetry="rotation(x,y)", formulation=form).fit(data)
        X = s.coefficients(model.terms_)
        assert np.array_equal(model.coef_ != 0, X != 0), model.equations()
        np.testing.assert_allclose(model.coef_[X != 0], X[X != 0], rtol=rtol)
        assert model.equivariance_residual_ <= 1e-10
        assert equivariance_residual(model.coef_, pde_action(model.library_, ["c"], AXES, "translation(x)")) > 0.5
        if form == "weak":
            assert model.equations(2) == ["c_t = 1.0*c_x*y + 0.02*c_xx - 1.0*c_y*x + 0.02*c_yy"]


def test_auto_finds_the_rotation_and_not_the_translations(flow):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = SymmetricPDESINDy(degree=1, coordinates=AXES, symmetry="auto").fit(flow)
    report = model.discovery_
    assert "rotation(x,y)" in model.enforced_specs_
    assert report.trivial == []  # neither translation holds for every model of this library
    s = get_pde_system("advection_diffusion_rotating")
    assert np.array_equal(model.coef_ != 0, s.coefficients(model.terms_) != 0)


def test_save_load_and_simulate_with_coordinates(flow, tmp_path):
    model = SymmetricPDESINDy(degree=1, coordinates=AXES, symmetry="rotation(x,y)").fit(flow)
    path = tmp_path / "flow.json"
    model.save(path)
    d = json.loads(path.read_text())
    assert d["coordinates"] == AXES and d["coordinate_degree"] == 1
    back = load_pde_model(path)
    assert back.equations() == model.equations()
    np.testing.assert_allclose(back.predict(flow)[0], model.predict(flow)[0], rtol=1e-12, atol=1e-12)
    # a quarter turn of the flow from the first sample: the blobs are carried round
    t = flow.t[0][:14]
    run = back.simulate(flow.u[0][0], t)
    truth = flow.u[0][: len(t)]
    assert np.linalg.norm(run[-1] - truth[-1]) <= 0.1 * np.linalg.norm(truth[-1])


def test_fit_pde_command_with_coordinates(flow, tmp_path, capsys):
    from symsindy.expressions import parse_expression

    path = tmp_path / "flow.npz"
    np.savez(path, t=flow.t[0], x=flow.grid["x"], y=flow.grid["y"], u=flow.u[0], names=np.array(["c"]))
    out = tmp_path / "flow.json"
    argv = ["fit-pde", str(path), "--degree", "1", "--coordinates", "x,y", "--symmetry", "rotation(x,y)"]
    assert main(argv + ["--json", str(out)]) == 0
    text = capsys.readouterr().out
    assert "coordinates: x, y as features, up to degree 1" in text and "symmetry: rotation(x,y)" in text
    d = json.loads(out.read_text())
    assert d["coordinates"] == AXES
    expr = parse_expression(d["equations"]["c"], ["c", "c_x", "c_y", "c_xx", "c_yy", "x", "y"])
    x, y, cx, cy = sympy.symbols("x y c_x c_y")
    assert float(expr.coeff(x * cy)) == pytest.approx(-1.0, abs=0.02)
    assert float(expr.coeff(y * cx)) == pytest.approx(1.0, abs=0.02)
    assert main(["fit-pde", str(path), "--degree", "1", "--coordinates", "z"]) != 0
    assert "coordinates: unknown axis 'z'" in capsys.readouterr().err
    assert main(["fit-pde", str(path), "--coordinate-degree", "2"]) != 0
    assert "--coordinate-degree: needs --coordinates" in capsys.readouterr().err
