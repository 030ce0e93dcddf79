import io
import json
import warnings

import numpy as np
import pysindy as ps
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp
from scipy.linalg import expm

from symsindy.expressions import parse_expression
from symsindy.symbolic import SymbolicModel, library_terms, load_model

from conftest import LORENZ_TERMS, coefficient_matrix

x, y, z = sympy.symbols("x y z")
VARS = ["x", "y", "z"]

warnings.filterwarnings("ignore", module="pysindy")


def _data(n=3, m=40, seed=0):
    return np.random.default_rng(seed).normal(size=(m, n))


def _lambdified(terms, names, X):
    f = sympy.lambdify(sympy.symbols(names), terms, modules="numpy")
    return np.column_stack([np.broadcast_to(np.asarray(c, float), (len(X),)) for c in f(*X.T)])


def _assert_terms_match(library, names=VARS, seed=0):
    X = _data(len(names), seed=seed)
    library.fit(X)
    expected = np.asarray(library.transform(X), dtype=float)
    terms = library_terms(library, names)
    assert len(terms) == expected.shape[1]
    got = _lambdified(terms, names, X)
    scale = np.maximum(1.0, np.abs(expected))
    assert np.max(np.abs(got - expected) / scale) <= 1e-12
    return terms


LIBRARIES = {
    "poly2": lambda: ps.PolynomialLibrary(degree=2),
    "poly3_no_bias": lambda: ps.PolynomialLibrary(degree=3, include_bias=False),
    "poly3_no_interaction": lambda: ps.PolynomialLibrary(degree=3, include_interaction=False),
    "poly3_interaction_only": lambda: ps.PolynomialLibrary(degree=3, interaction_only=True),
    "identity": lambda: ps.IdentityLibrary(),
    "fourier3": lambda: ps.FourierLibrary(n_frequencies=3),
    "fourier_sin": lambda: ps.FourierLibrary(n_frequencies=2, include_cos=False),
    "fourier_cos": lambda: ps.FourierLibrary(n_frequencies=2, include_sin=False),
    "custom": lambda: ps.CustomLibrary(
        [lambda a: a**2, lambda a, b: a * b - b, lambda a: abs(a), lambda a: 1 / (1 + a**2)],
        include_bias=True,
    ),
    "custom_with_replacement": lambda: ps.CustomLibrary(
        [lambda a, b: a * b**2, lambda a, b, c: a + b * c], interaction_only=False
    ),
    "concat": lambda: ps.PolynomialLibrary(degree=2) + ps.FourierLibrary(n_frequencies=2),
    "tensored": lambda: ps.PolynomialLibrary(degree=2, include_bias=False) * ps.FourierLibrary(),
    "tensored_inputs": lambda: ps.TensoredLibrary(
        [ps.PolynomialLibrary(degree=2), ps.FourierLibrary()], inputs_per_library=[[0, 1], [2]]
    ),
    "generalized": lambda: ps.GeneralizedLibrary(
        [ps.PolynomialLibrary(degree=2), ps.FourierLibrary(n_frequencies=2)],
        inputs_per_library=[[0, 1, 1], [2]],
        tensor_array=[[1, 1]],
    ),
    "generalized_exclude": lambda: ps.GeneralizedLibrary(
        [ps.PolynomialLibrary(degree=2), ps.FourierLibrary(), ps.PolynomialLibrary(degree=1, include_bias=False)],
        exclude_libraries=[1],
    ),
    "nested": lambda: ps.ConcatLibrary(
        [ps.PolynomialLibrary(degree=1), ps.GeneralizedLibrary([ps.FourierLibrary(), ps.PolynomialLibrary(degree=2)])]
    ),
}


@pytest.mark.parametrize("name", sorted(LIBRARIES))
def test_library_terms_match_transform(name):
    _assert_terms_match(LIBRARIES[name]())


def test_polynomial_terms_follow_powers():
    lib = ps.PolynomialLibrary(degree=2).fit(_data())
    terms = library_terms(lib, VARS)
    assert terms == [1, x, y, z, x**2, x * y, x * z, y**2, y * z, z**2]
    assert all(isinstance(t, sympy.Expr) for t in terms)


def test_fourier_order_and_frequencies():
    # pysindy: frequencies outermost, then inputs, sin before cos, sin(k x)
    lib = ps.FourierLibrary(n_frequencies=2).fit(_data(2))
    assert library_terms(lib, ["x", "y"]) == [
        sympy.sin(x),
        sympy.cos(x),
        sympy.sin(y),
        sympy.cos(y),
        sympy.sin(2 * x),
        sympy.cos(2 * x),
        sympy.sin(2 * y),
        sympy.cos(2 * y),
    ]


def test_sub_libraries_see_their_own_inputs():
    lib = ps.TensoredLibrary([ps.PolynomialLibrary(degree=1), ps.FourierLibrary()], inputs_per_library=[[2], [0]])
    terms = _assert_terms_match(lib)
    assert terms == [sympy.sin(x), sympy.cos(x), z * sympy.sin(x), z * sympy.cos(x)]


def test_symbols_accepted_as_variables():
    lib = ps.PolynomialLibrary(degree=1).fit(_data())
    assert library_terms(lib, [x, y, z]) == library_terms(lib, VARS)


def test_custom_function_failing_on_symbols_is_a_type_error():
    lib = ps.CustomLibrary([lambda a: a**2, lambda a: np.exp(a)], include_bias=True).fit(_data())
    with pytest.raises(TypeError, match=r"^library term 4 \(f1\(x\)\) cannot be written symbolically"):
        library_terms(lib, VARS)
    # a function that returns no expression, and one that branches on its argument
    for f in (lambda a: "s", lambda a: a if a > 0 else -a):
        with pytest.raises(TypeError, match="cannot be written symbolically"):
            library_terms(ps.CustomLibrary([f]).fit(_data()), VARS)
    # inside a combination the index is the global column
    combo = ps.PolynomialLibrary(degree=1) + ps.CustomLibrary([lambda a: np.tanh(a)])
    with pytest.raises(TypeError, match=r"^library term 4 "):
        library_terms(combo.fit(_data()), VARS)


def test_unsupported_library_is_a_type_error():
    lib = ps.PDELibrary(derivative_order=0, function_library=ps.PolynomialLibrary(degree=1))
    lib.n_features_in_ = 3
    with pytest.raises(TypeError, match=r"^library term 0 \(PDELibrary\) cannot be written symbolically"):
        library_terms(lib, VARS)


def test_library_misuse():
    with pytest.raises(ValueError, match="not fitted"):
        library_terms(ps.PolynomialLibrary(), VARS)
    lib = ps.PolynomialLibrary().fit(_data(2))
    with pytest.raises(ValueError, match="fitted on 2 inputs, given 3"):
        library_terms(lib, VARS)


# --------------------------------------------------------------------------- the model


def _lorenz_model(**kw):
    lib = ps.PolynomialLibrary(degree=2).fit(_data())
    terms = library_terms(lib, VARS)
    coef = coefficient_matrix(lib.get_feature_names(VARS), VARS, LORENZ_TERMS)
    return SymbolicModel(VARS, terms, coef, **kw), lib


def test_expressions_keep_exact_floats_and_omit_zeros():
    model, _ = _lorenz_model()
    rhs = model.expressions()
    assert set(rhs) == set(VARS)
    assert rhs["x"] == sympy.Float(-10.0) * x + sympy.Float(10.0) * y
    assert float(rhs["z"].coeff(z)) == -8 / 3
    assert len(rhs["y"].args) == 3


def test_equations_print_and_latex():
    model, _ = _lorenz_model()
    assert model.equations() == [
        "x' = -10.000 x + 10.000 y",
        "y' = 28.000 x - 1.000 y - 1.000 x*z",
        "z' = -2.667 z + 1.000 x*y",
    ]
    assert model.equations(precision=1)[2] == "z' = -2.7 z + 1.0 x*y"
    buf = io.StringIO()
    model.print(file=buf)
    assert buf.getvalue().splitlines() == model.equations()
    tex = model.latex()
    assert tex.startswith("\\begin{aligned}") and tex.endswith("\\end{aligned}")
    assert tex.count("\\dot{") == 3
    assert "\\dot{z} &= -2.667 z + 1.000 x y" in tex


def test_equations_small_and_empty():
    model = SymbolicModel(["u", "v"], [sympy.Integer(1), sympy.Symbol("u")], [[2e-6, 0.0], [0.0, 0.0]])
    assert model.equations() == ["u' = 2.00e-06", "v' = 0"]
    scaled = SymbolicModel(["u"], [2 * sympy.Symbol("u")], [[-0.5]])
    assert scaled.equations() == ["u' = -1.000 u"]


def test_rhs_matches_coef_times_theta_and_shapes():
    model, lib = _lorenz_model()
    X = _data(m=25, seed=3)
    expected = np.asarray(lib.transform(X)) @ model.coef.T
    np.testing.assert_allclose(model.rhs(X), expected, rtol=1e-13, atol=1e-13)
    one = model.rhs(X[0])
    assert one.shape == (3,)
    np.testing.assert_allclose(one, expected[0], rtol=1e-13)
    with pytest.raises(ValueError, match=r"expected \(3,\) or \(m, 3\)"):
        model.rhs(np.ones(4))


def test_rhs_constant_terms_broadcast():
    model = SymbolicModel(["u", "v"], [sympy.Integer(1), sympy.pi], [[1.5, 0.0], [0.0, 2.0]])
    out = model.rhs(np.zeros((5, 2)))
    assert out.shape == (5, 2)
    np.testing.assert_allclose(out, np.tile([1.5, 2 * np.pi], (5, 1)))
    zero = SymbolicModel(["u"], [sympy.Symbol("u")], [[0.0]])
    assert np.array_equal(zero.rhs(np.ones((4, 1))), np.zeros((4, 1)))


def test_model_validation():
    with pytest.raises(ValueError, match=r"coef: shape \(2, 2\), expected \(1, 2\)"):
        SymbolicModel(["u"], [sympy.Integer(1), sympy.Symbol("u")], np.zeros((2, 2)))
    with pytest.raises(ValueError, match="non-finite"):
        SymbolicModel(["u"], [sympy.Symbol("u")], [[np.nan]])
    with pytest.raises(ValueError, match="unknown symbol 'w'"):
        SymbolicModel(["u"], [sympy.Symbol("w")], [[1.0]])
    with pytest.raises(ValueError, match="not a valid variable name"):
        SymbolicModel(["u v"], [sympy.Integer(1)], [[1.0]])
    with pytest.raises(ValueError, match="appears twice"):
        SymbolicModel(["u", "u"], [sympy.Integer(1)], [[1.0], [1.0]])
    # symbols with assumptions are matched by name
    ur = sympy.Symbol("u", real=True)
    model = SymbolicModel(["u"], [ur**2], [[1.0]])
    assert model.rhs(np.array([3.0]))[0] == 9.0
    # coef is a read-only copy
    coef = np.ones((1, 1))
    model = SymbolicModel(["u"], [sympy.Symbol("u")], coef)
    coef[0, 0] = 5.0
    assert model.coef[0, 0] == 1.0
    with pytest.raises(ValueError):
        model.coef[0, 0] = 2.0


# --------------------------------------------------------------------------- simulation


def test_simulate_linear_system_matches_matrix_exponential():
    A = np.array([[-0.1, 2.0], [-2.0, -0.1]])
    model = SymbolicModel(["u", "v"], list(sympy.symbols("u v")), A)
    t = np.linspace(0, 5, 51)
    x0 = np.array([1.0, -0.5])
    X = model.simulate(x0, t)
    assert X.shape == (51, 2)
    exact = np.array([expm(A * ti) @ x0 for ti in t])
    np.testing.assert_allclose(X, exact, atol=1e-8)
    X45 = model.simulate(x0, t, method="RK45", rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(X45, exact, atol=1e-4)
    assert np.array_equal(model.simulate(x0, [0.0]), x0[None, :])


def test_simulate_blow_up_names_the_time():
    u = sympy.Symbol("u")
    model = SymbolicModel(["u"], [u**2], [[1.0]])  # u = 1/(1 - t)
    with pytest.raises(RuntimeError, match=r"^simulation blew up at t = 1(\.0+\d*)? \(target 2\)") as info:
        model.simulate([1.0], np.linspace(0, 2, 21))
    assert "\n" not in str(info.value)
    with pytest.raises(RuntimeError, match="simulation (failed|blew up) at t = "):
        model.simulate([1.0], np.linspace(0, 2, 21), blowup=None)


def test_simulate_non_finite_rhs():
    u = sympy.Symbol("u")
    model = SymbolicModel(["u"], [sympy.log(u), sympy.Integer(1)], [[1e-3, -1.0]])  # u reaches 0 at t ~ 1
    with pytest.raises(RuntimeError, match=r"^simulation failed at t = 0\.9\d* \(target 3\)"):
        model.simulate([1.0], np.linspace(0, 3, 31))


def test_simulate_input_checks():
    model, _ = _lorenz_model()
    with pytest.raises(ValueError, match="x0"):
        model.simulate([1.0, 2.0], [0, 1])
    with pytest.raises(ValueError, match="monotonic"):
        model.simulate([1.0, 2.0, 3.0], [0, 1, 1])


# --------------------------------------------------------------------------- JSON


def test_json_round_trip_is_exact(tmp_path):
    rng = np.random.default_rng(7)
    model, _ = _lorenz_model(symmetry=["flip(x,y)"], metadata={"threshold": np.float64(0.1), "n": np.int64(3)})
    shape = model.coef.shape
    coef = model.coef * (1 + 1e-3 * rng.normal(size=shape)) + (rng.random(shape) < 0.3) * rng.normal(size=shape)
    config = {"type": "PolynomialLibrary", "degree": 2}
    model = SymbolicModel(
        VARS, model.terms, coef, symmetry=["flip(x,y)"], library_config=config, metadata=model.metadata
    )
    path = tmp_path / "model.json"
    model.save_json(path)
    raw = json.loads(path.read_text())
    assert {"variables", "equations", "symmetry", "library", "coefficients"} <= set(raw)
    assert raw["format"] == "symsindy-model" and raw["version"] == 1
    assert raw["variables"] == VARS and raw["symmetry"] == ["flip(x,y)"]
    assert len(raw["coefficients"]) == 3 and all(len(r) == 10 for r in raw["coefficients"])
    assert raw["metadata"] == {"threshold": 0.1, "n": 3}
    # the equations are SymPy-parseable and equal the expressions
    for name, text in raw["equations"].items():
        assert parse_expression(text, VARS) == model.expressions()[name]
    back = load_model(path)
    assert back.coef.tobytes() == model.coef.tobytes()
    assert back.terms == model.terms
    assert back.variables == model.variables and back.symmetry == model.symmetry
    assert back.library_config == model.library_config
    X = _data(m=30, seed=1)
    assert np.array_equal(back.rhs(X), model.rhs(X))


def _write(tmp_path, data, name="model.json"):
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def _good():
    terms = [sympy.Integer(1), x, y] + [x * y] * 7
    return SymbolicModel(["x", "y"], terms, np.arange(20.0).reshape(2, 10)).to_dict()


def _set(key, index, value):
    return lambda d: d[key].__setitem__(index, value)


SHAPE = "model.json: field 'coefficients': expected 2 rows of 10 numbers"


@pytest.mark.parametrize(
    "edit, message",
    [
        (lambda d: d.update(coefficients=[[1.0] * 10]), SHAPE),
        (lambda d: d["coefficients"][1].append(1.0), SHAPE),
        (lambda d: d["coefficients"][0].__setitem__(3, "1"), SHAPE + "; found '1'"),
        (lambda d: d["coefficients"][0].__setitem__(3, True), SHAPE + "; found True"),
        (
            _set("library", 1, "__import__('os').system('x')"),
            "model.json: field 'library[1]': call of '__import__('os').system' is not allowed",
        ),
        (_set("library", 2, "w"), "model.json: field 'library[2]': name 'w' is not allowed; known names are x, y"),
        (_set("library", 2, 3), "model.json: field 'library': expected a list of expression strings"),
        (lambda d: d.update(variables=["x", "y z"]), "model.json: field 'variables': 'y z' is not a valid variable"),
        (lambda d: d.update(variables="xy"), "model.json: field 'variables': expected a list of names"),
        (lambda d: d.pop("library"), "model.json: missing field 'library'"),
        (lambda d: d.update(symmetry=["rotation(x,w)"]), "model.json: field 'symmetry': "),
        (lambda d: d.update(symmetry="flip(x)"), "model.json: field 'symmetry': expected a list of spec strings"),
        (lambda d: d.update(format="other"), "model.json: field 'format': expected 'symsindy-model'"),
        (lambda d: d.update(version=2), "model.json: field 'version'"),
        (lambda d: d.update(metadata=[1]), "model.json: field 'metadata': expected an object or null"),
        (
            lambda d: d["equations"].update(x="x + 1"),
            "model.json: field 'equations.x' does not match 'library' and 'coefficients'",
        ),
        (lambda d: d["equations"].update(x="x.__class__"), "model.json: field 'equations.x': attribute access"),
        (lambda d: d["equations"].pop("y"), "model.json: field 'equations': expected one entry for each of x, y"),
    ],
)
def test_malformed_files_give_one_line_naming_file_and_field(tmp_path, edit, message):
    d = _good()
    edit(d)
    path = _write(tmp_path, d)
    with pytest.raises(ValueError) as info:
        load_model(path)
    text = str(info.value)
    assert "\n" not in text
    assert text.startswith(str(path)) or text.startswith(str(tmp_path))
    assert message in text


def test_not_json_and_non_finite(tmp_path):
    with pytest.raises(ValueError, match=r"model.json: not valid JSON: .* line 1"):
        load_model(_write(tmp_path, "{not json"))
    with pytest.raises(ValueError, match="model.json: expected a JSON object"):
        load_model(_write(tmp_path, "[1, 2]"))
    d = json.dumps(_good()).replace("19.0", "NaN")
    with pytest.raises(ValueError, match="field 'coefficients'.*found nan"):
        load_model(_write(tmp_path, d))
    # equations are optional on reading; the library and coefficients define the model
    d = _good()
    d.pop("equations")
    assert load_model(_write(tmp_path, d)).n_terms == 10


def test_unwritable_terms_and_metadata():
    model = SymbolicModel(["x"], [sympy.cot(x)], [[1.0]])
    with pytest.raises(ValueError, match="field 'library': term 0 cannot be written"):
        model.to_dict()
    model = SymbolicModel(["x"], [x], [[1.0]], metadata={"f": object()})
    with pytest.raises(ValueError, match="field 'metadata'"):
        model.to_dict()


# --------------------------------------------------------------------------- properties

_LIB = (ps.PolynomialLibrary(degree=2) + ps.FourierLibrary(n_frequencies=2)).fit(_data())
_TERMS = library_terms(_LIB, VARS)
_P = len(_TERMS)
_coefs = hnp.arrays(
    np.float64,
    (3, _P),
    elements=st.one_of(st.just(0.0), st.floats(-1e3, 1e3, allow_nan=False, allow_subnormal=False)),
)


@settings(max_examples=60, deadline=None)
@given(_coefs, hnp.arrays(np.float64, (7, 3), elements=st.floats(-5, 5, allow_nan=False)))
def test_rhs_agrees_with_library_transform(coef, X):
    model = SymbolicModel(VARS, _TERMS, coef)
    theta = np.asarray(_LIB.transform(X), dtype=float)
    expected = theta @ coef.T
    scale = np.abs(theta) @ np.abs(coef).T
    assert np.all(np.abs(model.rhs(X) - expected) <= 1e-12 * scale + 1e-300)


@settings(max_examples=40, deadline=None)
@given(_coefs)
def test_json_dict_round_trip_bitwise(coef):
    model = SymbolicModel(VARS, _TERMS, coef, symmetry=["rotation(x,y)"])
    back = SymbolicModel.from_dict(json.loads(json.dumps(model.to_dict())))
    assert back.coef.tobytes() == model.coef.tobytes()
    X = _data(m=5, seed=2)
    assert np.array_equal(back.rhs(X), model.rhs(X))
