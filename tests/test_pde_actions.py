"""The exact action of symmetries on PDE library terms: the library evaluated on the transformed
field equals the transformed library, for random group elements on random fields."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.linalg as sla
from hypothesis import given, settings
from hypothesis import strategies as st
from threadpoolctl import threadpool_limits

import sympy

from symsindy.actions import LibraryNotClosedError
from symsindy.constraints import equivariance_residual, equivariant_subspace
from symsindy.pde import FieldData, SymmetricPDESINDy, jet_variables, pde_action, pde_library, pde_terms, to_pysindy
from symsindy.symmetry import Symmetry


@pytest.fixture(autouse=True, scope="module")
def _one_blas_thread():
    """Small dense products and exponentials: threads only contend on a shared machine."""
    with threadpool_limits(1):
        yield


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
    with pytest.raises(ValueError, match="translates a component; not supported"):
        pde_action(lib, ["u", "v"], ["x", "y"], "translation(u)")
    with pytest.raises(ValueError, match="mixes components with axes"):
        pde_action(lib, ["u", "v"], ["x", "y"], "swap(u,x)")
    with pytest.raises(ValueError, match="acts on u, v; expected the components and axes u, v, x, y"):
        pde_action(lib, ["u", "v"], ["x", "y"], Symmetry(["u", "v"], "rotation(u,v)"))


def test_a_library_without_the_mixed_derivative_is_not_closed_under_rotation():
    """A library holding u_xx and u_yy but not u_xy is closed under swap(x,y), not under rotation(x,y)."""
    lib = _library_2d(1, 2, 1)
    names = [n for n in lib.get_feature_names(["u"]) if "12" not in n]  # pysindy's name of u_xy: u_12
    keep = [k for k, m in enumerate(np.asarray(lib.multiindices).tolist()) if m != [1, 1]]
    lib.multiindices = np.asarray(lib.multiindices)[keep]
    lib.get_feature_names = lambda _components: names
    assert pde_action(lib, ["u"], ["x", "y"], "swap(x,y)").elements
    with pytest.raises(LibraryNotClosedError, match=r"'rotation\(x,y\)': maps the derivatives u_yy, u_xx outside"):
        pde_action(lib, ["u"], ["x", "y"], "rotation(x,y)")


# --------------------------------------------------------------------------- maps of a 2-D domain

_LIBS: dict = {}
_ACTIONS: dict = {}


def _library_2d(ncomp, order, degree):
    """A fitted 2-D PDELibrary (its terms do not depend on the data it was fitted to)."""
    g = np.linspace(0, 1, 8)
    names = ["u", "v"][:ncomp]
    data = FieldData(names, ["x", "y"], {"x": g, "y": g}, [np.arange(2.0)], [np.zeros((2, 8, 8, ncomp))], "t")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pde_library(data, degree=degree, derivative_order=order)


def _jet_library(ncomp, order, degree):
    """(library, Theta as a function of the jet (rows), multi-index of each jet variable), cached."""
    key = (ncomp, order, degree)
    if key not in _LIBS:
        lib = _library_2d(ncomp, order, degree)
        names = ["u", "v"][:ncomp]
        symbols, index = jet_variables(lib, names, ["x", "y"])
        f = sympy.lambdify(symbols, pde_terms(lib, names, ["x", "y"]), modules="numpy")

        def theta(jet):
            cols = f(*jet.T)
            return np.column_stack([np.broadcast_to(np.asarray(c, float), (len(jet),)) for c in cols])

        _LIBS[key] = (lib, theta, index)
    return _LIBS[key]


def _action(ncomp, order, degree, specs):
    key = (ncomp, order, degree, specs if isinstance(specs, str) else tuple(specs))
    if key not in _ACTIONS:
        lib = _jet_library(ncomp, order, degree)[0]
        _ACTIONS[key] = pde_action(lib, ["u", "v"][:ncomp], ["x", "y"], specs)
    return _ACTIONS[key]


def _random_field(rng, ncomp, n_modes=4):
    """u_c(x) = Re sum_k A_ck exp(i K_k . x): random wave vectors K (rows) and complex amplitudes A."""
    return rng.normal(size=(n_modes, 2)), rng.normal(size=(ncomp, n_modes)) + 1j * rng.normal(size=(ncomp, n_modes))


def _jet(field, index, ncomp, points):
    """The exact jet at each point (rows), in the library's order: d^a u_c = Re sum_k A_ck (i K_k)^a e^(i K_k.x)."""
    K, A = field
    phase = np.exp(1j * points @ K.T)  # (m, modes)
    blocks = [(phase * np.prod((1j * K) ** index[b], axis=1)) @ A.T for b in range(0, len(index), ncomp)]
    return np.hstack(blocks).real


def _transform(field, C, P):
    """The field C u(P^-1 x) in the same form: wave vectors P^-T K, amplitudes C A."""
    K, A = field
    return K @ np.linalg.inv(P), C @ A


def _check_word(rng, ncomp, order, degree, specs, word):
    """For the group element g = g_1 g_2 ... (``word``: ("gen", k, angle) or ("elem", k)) and a random
    field u: Theta(jet of g u at y) = T_1 T_2 ... Theta(jet of u at P_g^-1 y), T = expm(angle D) or M."""
    _, theta, index = _jet_library(ncomp, order, degree)
    action = _action(ncomp, order, degree, specs)
    sym = Symmetry(["u", "v"][:ncomp] + ["x", "y"], specs)
    n = ncomp + 2
    G, T = np.eye(n), np.eye(action.n_terms)
    for item in word:
        if item[0] == "gen":
            G = G @ sla.expm(item[2] * sym.generators[item[1]].matrix)
            T = T @ sla.expm(item[2] * action.generators[item[1]])
        else:
            G = G @ sym.elements[item[1]].matrix
            T = T @ action.elements[item[1]]
    C, P = G[:ncomp, :ncomp], G[ncomp:, ncomp:]
    field = _random_field(rng, ncomp)
    y = rng.uniform(-2, 2, size=(12, 2))
    lhs = theta(_jet(_transform(field, C, P), index, ncomp, y))
    rhs = theta(_jet(field, index, ncomp, y @ np.linalg.inv(P).T)) @ T.T
    np.testing.assert_allclose(lhs, rhs, rtol=0, atol=1e-10 * max(1.0, np.abs(rhs).max()))


_CASES = [
    (1, "rotation(x,y)"),
    (2, "rotation(x,y)+rotation(u,v)"),
    (2, "rotation(x,y)"),  # two scalar fields on a rotated plane
]


@pytest.mark.parametrize("order", [2, 3])
@pytest.mark.parametrize("ncomp,spec", _CASES)
@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), angle=st.floats(-np.pi, np.pi))
def test_rotation_of_the_domain_on_random_fields(ncomp, spec, order, seed, angle):
    """u~(x) = C u(R^-1 x): Theta(u~)(x) = expm(angle D) Theta(u)(R^-1 x), exactly, at derivative
    order 2 and 3, degree 2."""
    _check_word(np.random.default_rng(seed), ncomp, order, 2, spec, [("gen", 0, angle)])


_FLIPS = [
    (1, ["rotation(x,y)", "flip(x)"]),
    (2, ["rotation(x,y)+rotation(u,v)", "flip(x)+flip(u)"]),
]


@pytest.mark.parametrize("order", [2, 3])
@pytest.mark.parametrize("ncomp,specs", _FLIPS)
@settings(max_examples=8, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    angles=st.lists(st.floats(-np.pi, np.pi), min_size=1, max_size=3),
    flips=st.lists(st.booleans(), min_size=3, max_size=3),
)
def test_rotations_and_reflections_of_the_domain_on_random_fields(ncomp, specs, order, seed, angles, flips):
    """Random words in the rotations and the reflection (O(2) on the plane, with the vector field
    for two components): the library transforms by the product of the matrices."""
    word = []
    for angle, flip in zip(angles, flips):
        word += [("gen", 0, angle)] + ([("elem", 0)] if flip else [])
    _check_word(np.random.default_rng(seed), ncomp, order, 2, specs, word)


@settings(max_examples=8, deadline=None)
@given(seed=st.integers(0, 10_000), angle=st.floats(-1.0, 1.0))
def test_general_linear_generators_and_elements_on_random_fields(seed, angle):
    """Any linear generator on the axes with any on the components (a shear, a scaling) acts exactly,
    and a discrete element given as a matrix (a rotation by an arbitrary angle) is the exponential
    of its generator."""
    rng = np.random.default_rng(seed)
    G = np.zeros((4, 4))
    G[:2, :2] = rng.normal(scale=0.5, size=(2, 2))
    G[2:, 2:] = rng.normal(scale=0.5, size=(2, 2))
    variables = ["u", "v", "x", "y"]
    sym = Symmetry(variables, "scaling(x=2,y=-1/2)+scaling(u=1)", generators=[G])
    lib, theta, index = _jet_library(2, 2, 2)
    full = pde_action(lib, ["u", "v"], ["x", "y"], sym)
    for k, g in enumerate(sym.generators):
        C, P = sla.expm(angle * g.matrix)[:2, :2], sla.expm(angle * g.matrix)[2:, 2:]
        field = _random_field(rng, 2)
        y = rng.uniform(-1, 1, size=(8, 2))
        lhs = theta(_jet(_transform(field, C, P), index, 2, y))
        rhs = theta(_jet(field, index, 2, y @ np.linalg.inv(P).T)) @ sla.expm(angle * full.generators[k]).T
        np.testing.assert_allclose(lhs, rhs, rtol=0, atol=1e-10 * max(1.0, np.abs(rhs).max()))
    R = sla.expm(angle * Symmetry(variables, "rotation(x,y)+rotation(u,v)").generators[0].matrix)
    (D,) = _action(2, 2, 2, "rotation(x,y)+rotation(u,v)").generators
    (M,) = pde_action(lib, ["u", "v"], ["x", "y"], Symmetry(variables, elements=[R])).elements
    np.testing.assert_allclose(M, sla.expm(angle * D), rtol=0, atol=1e-12 * np.abs(M).max())


# --------------------------------------------------------------------------- equivariant models


def _model(action, rows):
    """coef_ (ncomp, p) from {component index: {term: coefficient}}, a term as ``"v*u_y"`` or
    ``"u**2*u_xx"`` (factors in any order)."""
    X = np.zeros((len(rows), action.n_terms))
    for c, terms in rows.items():
        for name, value in terms.items():
            if name not in action.term_names:
                name = str(sympy.Mul(*[sympy.Symbol(f) for f in name.split("*")]))
            X[c, action.term_names.index(name)] = value
    return X


def _in_subspace(sub, X):
    w = X.T.ravel()  # pysindy's feature ordering
    z, *_ = np.linalg.lstsq(sub.basis, w, rcond=None)
    return np.linalg.norm(sub.basis @ z - w) <= 1e-10 * np.linalg.norm(w)


@pytest.mark.parametrize("order", [2, 3])
def test_rotation_of_a_scalar_field_allows_exactly_the_isotropic_operators(order):
    """rotation(x,y) on u (degree 2): the equivariant models are spanned by 1, u, u**2 and
    (1, u, u**2) times the Laplacian u_xx + u_yy; u_xx alone, u_x, u*u_y are not among them."""
    action = _action(1, order, 2, "rotation(x,y)")
    sub = equivariant_subspace(action)
    lap = lambda f: {f"{f}u_xx": 1.0, f"{f}u_yy": 1.0}
    isotropic = [{"1": 1.0}, {"u": 1.0}, {"u**2": 1.0}, lap(""), lap("u*"), lap("u**2*")]
    assert sub.dim == len(isotropic) and sub.exact
    for terms in isotropic:
        assert _in_subspace(sub, _model(action, {0: terms}))
    for terms in ({"u_xx": 1.0}, {"u_x": 1.0}, {"u*u_y": 1.0}, {"u_xx": 1.0, "u_yy": -1.0}, {"u_xy": 1.0}):
        assert not _in_subspace(sub, _model(action, {0: terms}))
    assert np.isclose(equivariance_residual(_model(action, {0: lap("")}), action), 0.0, atol=1e-14)
    assert equivariance_residual(_model(action, {0: {"u_xx": 1.0}}), action) > 1e-2


def test_rotation_of_a_vector_field_with_its_domain():
    """rotation(x,y)+rotation(u,v): the Laplacian of each component, grad div, the advection
    (u.grad) u and u div u are equivariant, and with flip(x)+flip(u) too; the rotated Laplacian
    (u_t = -lap v, v_t = lap u) only under rotations; u_t = u_x, v_t = v_x and u_t = u_xx,
    v_t = v_yy are not equivariant."""
    so2 = _action(2, 2, 2, "rotation(x,y)+rotation(u,v)")
    o2 = _action(2, 2, 2, ("rotation(x,y)+rotation(u,v)", "flip(x)+flip(u)"))
    s_so2, s_o2 = equivariant_subspace(so2), equivariant_subspace(o2)
    heat = {0: {"u_xx": 1.0, "u_yy": 1.0}, 1: {"v_xx": 1.0, "v_yy": 1.0}}
    grad_div = {0: {"u_xx": 1.0, "v_xy": 1.0}, 1: {"u_xy": 1.0, "v_yy": 1.0}}
    advection = {0: {"u*u_x": 1.0, "v*u_y": 1.0}, 1: {"u*v_x": 1.0, "v*v_y": 1.0}}
    u_div = {0: {"u*u_x": 1.0, "u*v_y": 1.0}, 1: {"v*u_x": 1.0, "v*v_y": 1.0}}
    turned = {0: {"v_xx": -1.0, "v_yy": -1.0}, 1: {"u_xx": 1.0, "u_yy": 1.0}}
    for rows in (heat, grad_div, advection, u_div):
        for action, sub in ((so2, s_so2), (o2, s_o2)):
            X = _model(action, rows)
            assert _in_subspace(sub, X) and equivariance_residual(X, action) < 1e-14
    assert _in_subspace(s_so2, _model(so2, turned)) and not _in_subspace(s_o2, _model(o2, turned))
    for rows in ({0: {"u_x": 1.0}, 1: {"v_x": 1.0}}, {0: {"u_xx": 1.0}, 1: {"v_yy": 1.0}}):
        assert not _in_subspace(s_so2, _model(so2, rows))
        assert equivariance_residual(_model(so2, rows), so2) > 1e-2
    # two scalar fields on a rotated plane: each component's Laplacian, but not grad div
    scalars = _action(2, 2, 2, "rotation(x,y)")
    s_scalars = equivariant_subspace(scalars)
    assert _in_subspace(s_scalars, _model(scalars, heat))
    assert not _in_subspace(s_scalars, _model(scalars, grad_div))


def _heat_2d(rng, n=24, nt=24, dt=0.01, nu=0.5):
    """u_t = nu (u_xx + u_yy) on the periodic square [0, 2 pi)^2, exactly in Fourier space."""
    x = np.arange(n) * 2 * np.pi / n
    k = np.fft.fftfreq(n, 1.0 / n)
    k2 = k[:, None] ** 2 + k[None, :] ** 2
    u0 = np.zeros((n, n))
    X, Y = np.meshgrid(x, x, indexing="ij")
    for kx, ky in ((1, 0), (0, 1), (1, 1), (1, -1), (2, 1), (0, 2)):
        u0 += rng.normal() * np.cos(kx * X + ky * Y + rng.uniform(0, 2 * np.pi))
    t = np.arange(nt) * dt
    u_hat = np.fft.fft2(u0)[None] * np.exp(-nu * k2[None] * t[:, None, None])
    u = np.fft.ifft2(u_hat, axes=(1, 2)).real[..., None]
    return FieldData(["u"], ["x", "y"], {"x": x, "y": x}, [t], [u], "heat")


def test_symmetric_pde_sindy_with_a_rotation_of_the_domain_is_exactly_equivariant():
    data = _heat_2d(np.random.default_rng(0))
    model = SymmetricPDESINDy(symmetry="rotation(x,y)").fit(data)
    assert model.equivariance_residual_ <= 1e-10
    coef = dict(zip(model.term_names_, model.coef_[0]))
    assert coef["u_xx"] == pytest.approx(coef["u_yy"], abs=1e-12)
    assert coef["u_xx"] == pytest.approx(0.5, rel=0.05)
    assert coef["u_x"] == coef["u_y"] == coef["u_xy"] == 0.0
