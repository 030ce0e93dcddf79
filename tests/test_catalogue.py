"""Tests for symsindy.catalogue: every catalogue claim verified by machine, simulation,
true coefficients, folder lookup, and a loader that rejects malformed or hostile files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symsindy import catalogue
from symsindy.catalogue import (
    CatalogueError,
    ClaimError,
    System,
    check_claims,
    get_system,
    list_systems,
    load_folder,
    load_system_file,
    verify_system,
)
from symsindy.expressions import parse_expression

FIXTURES = Path(__file__).parent / "fixtures" / "systems"
CATALOGUE = load_folder()
NAMES = sorted(CATALOGUE)

REQUIRED = [
    "harmonic_oscillator",
    "harmonic_oscillator_2d",
    "damped_oscillator",
    "duffing",
    "van_der_pol",
    "pendulum",
    "lorenz",
    "rossler",
    "lotka_volterra",
    "sir",
    "seir",
    "kepler",
    "henon_heiles",
    "toda_lattice",
    "fpu_beta",
    "lorenz96",
    "kuramoto",
    "hopf",
    "stuart_landau",
    "charged_particle",
    "may_leonard",
    "spherical_pendulum",
    "double_pendulum",
    "thomas",
    "rabinovich_fabrikant",
    "rikitake",
    "brusselator",
    "selkov",
    "rigid_body",
]


def sym(*names):
    return sympy.symbols(names) if len(names) > 1 else sympy.Symbol(names[0])


# --------------------------------------------------------------------------- the catalogue


def test_catalogue_size_and_required_systems():
    assert len(NAMES) >= 30
    missing = [n for n in REQUIRED if n not in CATALOGUE]
    assert not missing, f"missing systems: {missing}"
    assert list_systems() == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_every_claim_holds(name):
    system = CATALOGUE[name]
    checks = check_claims(system)
    failures = [c.message for c in checks if not c.ok]
    assert not failures, "\n".join(failures)
    # the shipped catalogue needs no numeric fallback: every claim is proved symbolically
    assert all(c.method == "symbolic" for c in checks), [c.message for c in checks if c.method != "symbolic"]
    # every declared claim was checked exactly once
    labels = [c.claim for c in checks]
    expected = [c.label for c in system.symmetry_claims] + [c.label for c in system.conserved_claims]
    if system.structure_claim is not None:
        expected.append(system.structure_claim.label)
    for label in expected:
        assert labels.count(label) == 1, label


@pytest.mark.parametrize("name", NAMES)
def test_metadata_is_complete(name):
    s = CATALOGUE[name]
    assert s.description and s.reference and s.tags
    # every tag the equations bear out is given (check_claims verifies the given ones)
    missing = catalogue.derived_tags(s) - set(s.tags)
    assert not missing, f"{name}: tags {sorted(missing)} hold but are not listed"
    assert s.source is not None and s.source.stem == name
    # the structure, where declared, has a Hamiltonian that is itself declared conserved
    if s.structure_claim is not None:
        conserved = [c.expression for c in s.conserved_claims]
        H = s.structure_claim.hamiltonian
        assert any(sympy.simplify(H - c) == 0 for c in conserved), "the Hamiltonian is not listed as conserved"


@pytest.mark.parametrize("name", NAMES)
def test_simulates_over_default_span(name):
    s = CATALOGUE[name]
    sim = s.simulate()
    m = int(round(s.t_end / s.dt)) + 1
    x = sim.x[0]
    assert sim.t.shape == (m,) and x.shape == (m, s.n_variables)
    np.testing.assert_allclose(sim.t[-1], s.t_end)
    assert np.all(np.isfinite(x))
    bound = 100 * max(1.0, float(np.max(np.abs(s.x0))))
    assert np.max(np.abs(x)) < bound, f"{name} leaves |x| < {bound}"
    np.testing.assert_array_equal(x[0], s.x0)
    np.testing.assert_allclose(sim.x_dot[0], s.rhs_function()(x), rtol=1e-12, atol=1e-12)
    # the exact derivatives agree with the sampled trajectory (central differences)
    fd = (x[2:] - x[:-2]) / (2 * s.dt)
    scale = np.max(np.abs(sim.x_dot[0]))
    assert np.max(np.abs(fd - sim.x_dot[0][1:-1])) < 0.05 * scale + 1e-12
    # conserved quantities stay constant along the numerical trajectory
    for cname, expr in s.conserved.items():
        f = sympy.lambdify(s.symbols, expr, "numpy")
        values = np.broadcast_to(np.asarray(f(*x.T), dtype=float), (m,))
        drift = np.max(np.abs(values - values[0])) / max(1.0, abs(values[0]))
        assert drift < 1e-6, f"{name}: {cname} drifts by {drift:.2e}"


@pytest.mark.parametrize("name", [n for n in NAMES if "dissipative" in CATALOGUE[n].tags])
def test_dissipative_systems_contract_volume(name):
    s = CATALOGUE[name]
    div = sum(sympy.diff(s.rhs[v], x) for v, x in zip(s.variables, s.symbols))
    f = sympy.lambdify(s.symbols, div, "numpy")
    x = s.simulate().x[0]
    values = np.broadcast_to(np.asarray(f(*x.T), dtype=float), (len(x),))
    assert values.mean() < 0


def _affine_symmetry_dimension(s: System) -> int:
    """Dimension of {(A, b): J_f (A x + b) = A f} for a polynomial system, exactly."""
    n = s.n_variables
    X = sympy.Matrix(s.symbols)
    A = sympy.Matrix(n, n, lambda i, j: sympy.Symbol(f"a_{i}_{j}"))
    b = sympy.Matrix([sympy.Symbol(f"b_{i}") for i in range(n)])
    unknowns = list(A) + list(b)
    F = sympy.Matrix(s.rhs_list)
    R = F.jacobian(X) * (A * X + b) - A * F
    rows = []
    for r in R:
        for c in sympy.Poly(sympy.expand(r), *s.symbols).coeffs():
            rows.append([c.coeff(u) for u in unknowns])
    return len(unknowns) - sympy.Matrix(rows).rank()


# Systems with linear symmetries the spec grammar cannot write (shears, unitary mixing).
_MORE_THAN_SPECS = {"harmonic_oscillator_2d", "charged_particle", "sir", "seir"}


@pytest.mark.parametrize("name", [n for n in NAMES if CATALOGUE[n].is_polynomial and CATALOGUE[n].n_variables <= 6])
def test_declared_continuous_symmetries_are_complete(name):
    s = CATALOGUE[name]
    gens = [np.concatenate([g.matrix.ravel(), g.translation]) for g in s.symmetry.generators]
    declared = np.linalg.matrix_rank(np.array(gens)) if gens else 0
    found = _affine_symmetry_dimension(s)
    if name in _MORE_THAN_SPECS:
        assert found > declared
    else:
        assert found == declared, f"{name}: affine symmetry algebra has dimension {found}, {declared} declared"


def test_negative_controls_have_no_symmetry():
    controls = [n for n in NAMES if "negative_control" in CATALOGUE[n].tags]
    assert {"rossler", "brusselator", "selkov"} <= set(controls)
    for n in controls:
        s = CATALOGUE[n]
        assert s.symmetry.is_trivial and not s.symmetry_claims
        assert _affine_symmetry_dimension(s) == 0
        # and no sign flip of any set of variables
        for sign in range(1, 2**s.n_variables):
            flips = [v for k, v in enumerate(s.variables) if sign >> k & 1]
            R = np.diag([-1.0 if v in flips else 1.0 for v in s.variables])
            rng = np.random.default_rng(0)
            x = rng.normal(size=(5, s.n_variables))
            f = s.rhs_function()
            assert np.max(np.abs(f(x @ R.T) - f(x) @ R.T)) > 1e-6


# --------------------------------------------------------------------------- specific facts of the issue


def test_damped_oscillator_is_the_stated_one():
    s = CATALOGUE["damped_oscillator"]
    x, y = sym("x", "y")
    assert sympy.simplify(s.rhs["x"] - (-sympy.Rational(1, 10) * x + 2 * y)) == 0
    assert sympy.simplify(s.rhs["y"] - (-2 * x - sympy.Rational(1, 10) * y)) == 0
    assert "rotation(x,y)" in s.symmetry_specs
    assert not s.conserved and s.structure is None


def test_facts_of_named_systems():
    c = CATALOGUE
    assert "rotation(q1,q2)+rotation(p1,p2)" in c["harmonic_oscillator_2d"].symmetry_specs
    assert {"energy", "angular_momentum"} <= set(c["harmonic_oscillator_2d"].conserved)
    assert {"energy", "angular_momentum", "lrl_x", "lrl_y"} <= set(c["kepler"].conserved)
    assert any(not g.is_affine for g in c["kepler"].symmetry.generators)
    assert c["henon_heiles"].symmetry.elements and "energy" in c["henon_heiles"].conserved
    toda = c["toda_lattice"]
    assert toda.symmetry.is_affine and "momentum" in toda.conserved
    assert c["lorenz96"].symmetry.elements and not c["rossler"].symmetry_specs
    kur = c["kuramoto"]
    assert kur.symmetry.is_affine and not kur.is_polynomial
    assert "swap(x1,x2)+swap(y1,y2)" in c["stuart_landau"].symmetry_specs
    for name in ("sir", "seir"):
        total = c[name].conserved["total"]
        assert total == sum(c[name].symbols)
    lv = c["lotka_volterra"].conserved["integral"]
    assert lv.has(sympy.log) and not lv.is_polynomial(*c["lotka_volterra"].symbols)
    assert not c["pendulum"].is_polynomial and c["pendulum"].structure.kind == "canonical"
    rb = c["rigid_body"]
    assert rb.structure.kind == "poisson" and "casimir" in rb.conserved
    P = rb.structure.matrix
    grad = sympy.Matrix([sympy.diff(rb.conserved["casimir"], v) for v in rb.symbols])
    assert sympy.simplify(P * grad) == sympy.zeros(3, 1)  # a Casimir: P grad C = 0


def test_conditional_claims_follow_parameters():
    kur = CATALOGUE["kuramoto"]
    assert "swap(theta1,theta2)" not in kur.symmetry_specs and "phase_sum" in kur.conserved
    equal = kur.with_parameters(omega2=-0.3, omega3=0.5)
    assert "swap(theta1,theta2)" in equal.symmetry_specs and "phase_sum" not in equal.conserved
    assert len(equal.symmetry.elements) == 1
    duff = CATALOGUE["duffing_damped"]
    assert duff.structure is None and not duff.conserved
    free = duff.with_parameters(delta=0)
    assert free.structure is not None and "energy" in free.conserved
    ho = CATALOGUE["harmonic_oscillator"]
    assert "rotation(q,p)" in ho.symmetry_specs
    assert "rotation(q,p)" not in ho.with_parameters(omega=2.0).symmetry_specs
    assert ho.with_parameters(omega=2.0).parameters == {"omega": 2.0}
    with pytest.raises(ValueError, match="unknown parameter 'omga'; parameters are omega"):
        ho.with_parameters(omga=2.0)
    aiz = CATALOGUE["aizawa"]
    assert "rotation(x,y)" in aiz.with_parameters(f=0).symmetry_specs


def test_parameters_are_exact_and_by_name():
    lor = CATALOGUE["lorenz"]
    assert lor.parameters == {"sigma": 10.0, "rho": 28.0, "beta": pytest.approx(8 / 3)}
    x, y, z = sym("x", "y", "z")
    assert lor.rhs["z"] == x * y - sympy.Rational(8, 3) * z
    assert lor.equations["x"] == sym("sigma") * (y - x)
    changed = get_system("lorenz", rho=20)
    assert changed.rhs["y"] == x * (20 - z) - y


# --------------------------------------------------------------------------- wrong claims


_WRONG = {
    "wrong_symmetry": "symmetry 'flip(x,z)'",
    "wrong_conserved": "conserved 'energy'",
    "wrong_structure": "structure (canonical)",
    "wrong_poisson": "structure (poisson)",
    "wrong_condition": "symmetry 'swap(theta1,theta2)' when K = 0",
    "wrong_tag": "tag 'linear'",
    "wrong_lrl": "conserved 'lrl_y'",
}


@pytest.mark.parametrize("name", sorted(_WRONG))
def test_wrong_claim_fails_naming_system_and_claim(name):
    s = load_system_file(FIXTURES / f"{name}.toml")
    checks = check_claims(s)
    failed = [c for c in checks if not c.ok]
    assert [c.claim for c in failed] == [_WRONG[name]]
    msg = failed[0].message
    assert msg.startswith(f"system '{name}': {_WRONG[name]} ")
    assert "\n" not in msg
    with pytest.raises(ClaimError) as info:
        verify_system(s)
    assert f"system '{name}'" in str(info.value) and _WRONG[name] in str(info.value)
    # the other claims in the same file still pass
    assert all(c.ok for c in checks if c.claim != _WRONG[name])


def test_fixture_folder_holds_only_the_known_wrong_files():
    assert sorted(load_folder(FIXTURES)) == sorted(_WRONG)


def test_numeric_fallback_is_reported():
    # atan(y) + atan(1/y) = pi/2 for y > 0 is beyond simplify, so the check falls back to
    # high-precision evaluation at random points and says so.
    s = System(
        "atan",
        ["x", "y"],
        {"x": "1", "y": "0"},
        conserved={"c": "x*(atan(y) + atan(1/y) - pi/2) + y", "d": "x*(atan(y) + atan(1/y)) + y"},
        x0=[0.0, 1.0],
    )
    checks = {c.claim: c for c in check_claims(s)}
    good, bad = checks["conserved 'c'"], checks["conserved 'd'"]
    assert good.ok and good.method == "numeric"
    assert "inconclusive" in good.message and "random points" in good.message
    assert not bad.ok and bad.message.startswith("system 'atan': conserved 'd' does not hold")


def test_checker_numeric_fallback_decides_both_ways():
    y = sympy.Symbol("y")
    chk = catalogue._Checker([y], seed=1, n_points=4, digits=40)
    ident = sympy.atan(y) + sympy.atan(1 / y) - sympy.pi / 2
    assert chk.vanishes(ident)[:2] == (True, "numeric")
    assert chk.vanishes(ident + sympy.Rational(1, 10**12))[0] is False
    assert chk.vanishes(sympy.sin(y) ** 2 + sympy.cos(y) ** 2 - 1) == (True, "symbolic", 0)


def test_trig_identities_are_decided_exactly():
    a, b, p = sympy.symbols("a b p", real=True)
    decide = catalogue._trig_rational_zero
    assert decide(sympy.sin(2 * (a - b)) - 2 * sympy.sin(a - b) * sympy.cos(a - b)) is True
    assert decide(p / (1 + sympy.sin(a) ** 2) - p / (2 - sympy.cos(a) ** 2)) is True
    assert decide(sympy.tan(a) * sympy.cos(a) - sympy.sin(a)) is True
    assert decide(sympy.sin(a) ** 2 - sympy.cos(a) ** 2) is False
    assert decide(sympy.sin(a) * sympy.exp(b)) is None  # other functions: not decided here
    assert decide(sympy.sin(a / 2)) is None


# --------------------------------------------------------------------------- simulation


def test_simulate_several_trajectories_noise_and_seed():
    s = CATALOGUE["van_der_pol"]
    a = s.simulate(t_end=5, dt=0.01, n_trajectories=3, noise=0.05, random_state=7)
    b = s.simulate(t_end=5, dt=0.01, n_trajectories=3, noise=0.05, random_state=7)
    c = s.simulate(t_end=5, dt=0.01, n_trajectories=3, noise=0.05, random_state=8)
    assert a.n_trajectories == 3 and len(a.x_dot) == 3 and a.x0.shape == (3, 2)
    for u, v in zip(a.x, b.x):
        np.testing.assert_array_equal(u, v)
    assert not np.allclose(a.x[1], c.x[1])
    np.testing.assert_array_equal(a.x0[0], s.x0)
    assert not np.allclose(a.x0[1], s.x0) and not np.allclose(a.x0[1], a.x0[2])
    for xn, xc, dx in zip(a.x, a.x_clean, a.x_dot):
        rms = np.sqrt(np.mean(xc**2, axis=0))
        std = np.std(xn - xc, axis=0)
        np.testing.assert_allclose(std / rms, 0.05, rtol=0.1)
        np.testing.assert_allclose(dx, s.rhs_function()(xc))  # derivatives of the clean states
    clean = s.simulate(t_end=5, dt=0.01, random_state=7)
    np.testing.assert_array_equal(clean.x[0], clean.x_clean[0])


def test_simulate_initial_states_by_name_and_array():
    s = CATALOGUE["lorenz"]
    by_name = s.simulate(t_end=1, x0={"x": 1.0, "y": 2.0, "z": 3.0})
    np.testing.assert_array_equal(by_name.x[0][0], [1, 2, 3])
    many = s.simulate(t_end=1, x0=[[1, 2, 3], [3, 2, 1]])
    assert many.n_trajectories == 2
    np.testing.assert_allclose(many.x[0], by_name.x[0])
    with pytest.raises(ValueError, match="initial state: no value for 'z'"):
        s.simulate(x0={"x": 1.0, "y": 2.0})
    with pytest.raises(ValueError, match="need 0 < dt < t_end"):
        s.simulate(t_end=1, dt=-0.1)
    with pytest.raises(ValueError, match="noise must be a non-negative number"):
        s.simulate(t_end=1, noise=-1)
    with pytest.raises(ValueError, match="n_trajectories must be a positive integer"):
        s.simulate(t_end=1, n_trajectories=0)


def test_simulation_csv_round_trip(tmp_path):
    from symsindy.io import read_csv

    s = CATALOGUE["sir"]
    sim = s.simulate(t_end=10, dt=0.5, n_trajectories=2, noise=0.01, random_state=0)
    path = tmp_path / "sir.csv"
    sim.to_csv(path, derivatives=True)
    ds = read_csv(path)
    assert ds.variables == ["S", "I", "R"] and ds.n_trajectories == 2
    np.testing.assert_array_equal(ds.x[1], sim.x[1])
    np.testing.assert_array_equal(ds.x_dot[0], sim.x_dot[0])
    sim.to_csv(path)
    assert read_csv(path).x_dot is None


# --------------------------------------------------------------------------- true coefficients


def test_true_coefficients_reproduce_the_vector_field():
    from pysindy import PolynomialLibrary

    for name in ("lorenz", "stuart_landau", "rigid_body", "may_leonard", "fpu_beta"):
        s = CATALOGUE[name]
        rng = np.random.default_rng(0)
        x = rng.normal(size=(20, s.n_variables))
        lib = PolynomialLibrary(degree=3).fit(x)
        xi = s.true_coefficients(lib)
        assert xi.shape == (s.n_variables, lib.n_output_features_)
        np.testing.assert_allclose(np.asarray(lib.transform(x)) @ xi.T, s.rhs_function()(x), atol=1e-10)
    lor = CATALOGUE["lorenz"]
    lib = PolynomialLibrary(degree=2).fit(np.zeros((2, 3)))
    xi = lor.true_coefficients(lib)
    names = lib.get_feature_names(["x", "y", "z"])
    assert xi[0, names.index("x")] == -10 and xi[0, names.index("y")] == 10
    assert xi[2, names.index("z")] == pytest.approx(-8 / 3) and xi[2, names.index("x y")] == 1
    assert np.count_nonzero(xi) == 7


def test_true_coefficients_errors():
    from pysindy import PolynomialLibrary

    with pytest.raises(ValueError, match="equation for omega is not a polynomial"):
        CATALOGUE["pendulum"].true_coefficients(PolynomialLibrary(degree=3).fit(np.zeros((2, 2))))
    with pytest.raises(ValueError, match=r"term x\*\*2\*y of the equation for y is not in the library"):
        CATALOGUE["van_der_pol"].true_coefficients(PolynomialLibrary(degree=2).fit(np.zeros((2, 2))))
    with pytest.raises(ValueError, match="not fitted"):
        CATALOGUE["lorenz"].true_coefficients(PolynomialLibrary(degree=2))
    with pytest.raises(ValueError, match="acts on 2 variables, the system has 3"):
        CATALOGUE["lorenz"].true_coefficients(PolynomialLibrary(degree=2).fit(np.zeros((2, 2))))


# --------------------------------------------------------------------------- folders


def test_folder_from_environment_and_argument(tmp_path, monkeypatch):
    (tmp_path / "mine.toml").write_text((FIXTURES / "wrong_tag.toml").read_text().replace("wrong_tag", "mine"))
    monkeypatch.setenv(catalogue.ENV_VAR, str(tmp_path))
    assert list_systems() == ["mine"]
    assert get_system("mine").name == "mine"
    monkeypatch.delenv(catalogue.ENV_VAR)
    assert "lorenz" in list_systems()
    assert list(load_folder(tmp_path)) == ["mine"]
    assert get_system("mine", tmp_path).variables == ("x", "y")
    with pytest.raises(CatalogueError, match=r"systems folder '.*nowhere' \(given\) does not exist"):
        list_systems(tmp_path / "nowhere")
    monkeypatch.setenv(catalogue.ENV_VAR, str(tmp_path / "gone"))
    with pytest.raises(CatalogueError, match=r"from \$SYMSINDY_SYSTEMS\) does not exist"):
        load_folder()


def test_unknown_system_suggests_names():
    with pytest.raises(CatalogueError, match="unknown system 'lorentz'.*did you mean lorenz"):
        get_system("lorentz")
    with pytest.raises(CatalogueError, match="not an identifier"):
        get_system("../lorenz")


def test_to_dict_is_json_and_parses_back():
    for name in NAMES:
        s = CATALOGUE[name]
        d = json.loads(json.dumps(s.to_dict()))
        syms = dict(zip(s.variables, s.symbols))
        params = {p: sympy.Symbol(p) for p in s.parameters}
        for v in s.variables:
            assert parse_expression(d["equations"][v], syms, parameters=params) == s.equations[v]
            assert parse_expression(d["rhs"][v], syms) == s.rhs[v]
        for cname, text in d["conserved"].items():
            assert parse_expression(text, syms, parameters=params) == next(
                c.expression for c in s.conserved_claims if c.name == cname
            )
        assert d["symmetries"] == s.symmetry_specs


def test_programmatic_system():
    s = System(
        "spring",
        ["q", "p"],
        {"q": "p", "p": "-k*q"},
        {"k": 4},
        x0={"q": 1, "p": 0},
        symmetries=["rotation(q,p)"],
        conserved={"energy": "p**2/2 + k*q**2/2"},
        t_end=2,
    )
    checks = check_claims(s)
    assert [c.ok for c in checks if c.claim.startswith("symmetry")] == [False]
    assert all(c.ok for c in checks if c.claim.startswith("conserved"))
    sim = s.simulate(dt=0.001)
    np.testing.assert_allclose(sim.x[0][-1, 0], math.cos(4.0), atol=1e-8)


# --------------------------------------------------------------------------- loader errors


GOOD = """\
name = "ok"
description = "a test system"
variables = ["x", "y"]
symmetries = ["flip(x,y)"]

[parameters]
a = 1.0

[equations]
x = "y"
y = "-a*x"

[conserved]
energy = "(x**2 + y**2)/2"

[simulation]
initial_state = { x = 1.0, y = 0.0 }
dt = 0.1
t_end = 1.0
"""


def _load(tmp_path, text, name="ok.toml"):
    p = tmp_path / name
    p.write_text(text)
    return load_system_file(p)


def test_good_text_loads(tmp_path):
    s = _load(tmp_path, GOOD)
    assert s.name == "ok" and s.parameters == {"a": 1.0} and list(s.conserved) == ["energy"]


@pytest.mark.parametrize(
    "old, new, message",
    [
        ('name = "ok"', 'name = "other"', "ok.toml: name 'other' differs from the file name; expected 'ok'"),
        ('name = "ok"\n', "", "ok.toml: missing field 'name'"),
        (
            'description = "a test system"',
            'descripton = "x"',
            "ok.toml: unknown field 'descripton' (did you mean 'description'?)",
        ),
        ('variables = ["x", "y"]', 'variables = "x y"', "ok.toml: variables: expected a list of names"),
        ('variables = ["x", "y"]', 'variables = ["x", "x"]', "ok.toml: variables: variable 'x' appears twice"),
        ('variables = ["x", "y"]', 'variables = ["x", "y_dot"]', "names ending in '_dot'"),
        ('variables = ["x", "y"]', 'variables = ["x", "t"]', "'t' cannot be a state variable name"),
        ('variables = ["x", "y"]', 'variables = ["x", "sin"]', "variable 'sin' has the name of a function"),
        ('y = "-a*x"', 'z = "-a*x"', "ok.toml: equations: no equation for 'y'"),
        ('y = "-a*x"', 'y = "-a*x"\nz = "1"', "ok.toml: equations.z: 'z' is not a variable"),
        ('y = "-a*x"', 'y = "-b*x"', "ok.toml: equations.y: name 'b' is not allowed"),
        ('y = "-a*x"', 'y = "-a*x^2"', "ok.toml: equations.y: operator '^'"),
        ('y = "-a*x"', "y = true", "ok.toml: equations.y: expected an expression as a string, got a boolean"),
        ("a = 1.0", 'a = "x"', "ok.toml: parameters.a: name 'x' is not allowed"),
        ("a = 1.0", "a = true", "ok.toml: parameters.a: expected a number, got a boolean"),
        ("a = 1.0", "a = nan", "ok.toml: parameters.a: expected a finite number"),
        ("a = 1.0", "a = 1" + "0" * 320, "ok.toml: parameters.a: an integer of 1064 bits is too large"),
        ("a = 1.0", "x = 1.0", "ok.toml: parameters: 'x' is both a variable and a parameter"),
        ("a = 1.0", 'a = "10**400"', "ok.toml: parameters.a: '10**400' is not a finite float64 number"),
        ("a = 1.0", 'a = "exp(1000)"', "ok.toml: parameters.a: 'exp(1000)' is not a finite float64 number"),
        ('"flip(x,y)"', '"flip(x,w)"', "ok.toml: symmetries[0]: symmetry 'flip(x,w)': unknown variable 'w'"),
        ('"flip(x,y)"', '"flip(x,y); flip(x)"', "ok.toml: symmetries[0]: one spec per entry"),
        (
            '"flip(x,y)"',
            '{ spec = "flip(x,y)", when = { b = 0 } }',
            "ok.toml: symmetries[0].when: condition on unknown parameter 'b'",
        ),
        ('"flip(x,y)"', '{ spec = "flip(x,y)", when = {} }', "ok.toml: symmetries[0].when: empty condition"),
        ('"flip(x,y)"', '{ spec = "flip(x,y)", if = { a = 0 } }', "ok.toml: symmetries[0]: unknown field 'if'"),
        ('"flip(x,y)"', "3", "ok.toml: symmetries[0]: expected a string, got an integer"),
        ('energy = "(x**2 + y**2)/2"', 'energy = { expr = "x" }', "ok.toml: conserved.energy: unknown field 'expr'"),
        (
            'energy = "(x**2 + y**2)/2"',
            'energy = "open(x)"',
            "ok.toml: conserved.energy: function 'open' is not allowed",
        ),
        ("dt = 0.1", "dt = -0.1", "ok.toml: simulation.dt: expected a positive number"),
        ("t_end = 1.0", "t_end = 0.05", "ok.toml: simulation.t_end: 0.05 is not greater than dt"),
        ("t_end = 1.0", "t_end = 1e9", "ok.toml: simulation: t_end / dt"),
        ("{ x = 1.0, y = 0.0 }", "{ x = 1.0 }", "ok.toml: simulation.initial_state: no value for 'y'"),
        (
            "{ x = 1.0, y = 0.0 }",
            '{ x = 1.0, y = "0" }',
            "ok.toml: simulation.initial_state.y: expected a number, got a string",
        ),
        (
            "{ x = 1.0, y = 0.0 }",
            "{ x = 1.0, y = 0.0, z = 1 }",
            "ok.toml: simulation.initial_state.z: 'z' is not a variable",
        ),
        ("[simulation]", "[simulaton]", "ok.toml: unknown field 'simulaton' (did you mean 'simulation'?)"),
        ('name = "ok"', 'name = "ok"\nname = "ok"', "ok.toml: invalid TOML: Cannot overwrite a value"),
    ],
)
def test_schema_errors_name_file_and_field(tmp_path, old, new, message):
    assert old in GOOD
    with pytest.raises(ValueError) as info:
        _load(tmp_path, GOOD.replace(old, new, 1))
    text = str(info.value)
    assert message in text, text
    assert "\n" not in text


STRUCTURE = (
    GOOD
    + """
[structure]
type = "canonical"
pairs = [["x", "y"]]
hamiltonian = "(x**2 + y**2)/2"
"""
)


@pytest.mark.parametrize(
    "old, new, message",
    [
        ('type = "canonical"', 'type = "symplectic"', "ok.toml: structure.type: 'symplectic' is not a structure type"),
        (
            'pairs = [["x", "y"]]',
            'pairs = [["x", "x"]]',
            "ok.toml: structure.pairs[0]: variable 'x' appears in two pairs",
        ),
        ('pairs = [["x", "y"]]', 'pairs = [["x", "z"]]', "ok.toml: structure.pairs[0]: 'z' is not a variable"),
        ('pairs = [["x", "y"]]', 'pairs = [["x"]]', "ok.toml: structure.pairs: expected a list of [q, p] pairs"),
        (
            'pairs = [["x", "y"]]',
            'matrix = [["0", "1"], ["-1", "0"]]',
            "ok.toml: structure.matrix: a canonical structure takes 'pairs'",
        ),
        (
            'type = "canonical"\npairs = [["x", "y"]]',
            'type = "poisson"\nmatrix = [["0", "1"]]',
            "ok.toml: structure.matrix: expected 2 rows of 2 entries",
        ),
        (
            'type = "canonical"\npairs = [["x", "y"]]',
            'type = "poisson"\nmatrix = [["0", "1"], ["-1", "__import__"]]',
            "ok.toml: structure.matrix[1][1]: name '__import__' is not allowed",
        ),
        (
            'hamiltonian = "(x**2 + y**2)/2"',
            'hamiltonian = "(x**2 + y**2)/2"\nwhen = { c = 1 }',
            "ok.toml: structure.when: condition on unknown parameter 'c'",
        ),
        ('hamiltonian = "(x**2 + y**2)/2"\n', "", "ok.toml: structure: missing field 'hamiltonian'"),
    ],
)
def test_structure_errors(tmp_path, old, new, message):
    assert old in STRUCTURE
    with pytest.raises(ValueError) as info:
        _load(tmp_path, STRUCTURE.replace(old, new, 1))
    assert message in str(info.value), str(info.value)


@pytest.mark.parametrize(
    "rhs, message",
    [
        ("-a*x*10**400", "the right-hand side is not finite at the initial state"),
        ("exp(exp(exp(exp(x))))", "the right-hand side is not finite at the initial state"),
        ("x**(10**10)", "integration of trajectory 0 failed"),
        ("y**2", "integration of trajectory 0 failed"),
    ],
)
def test_simulation_failures_are_value_errors(tmp_path, rhs, message):
    s = _load(tmp_path, GOOD.replace('y = "-a*x"', f'y = "{rhs}"').replace("y = 0.0 }", "y = 3.0 }"))
    with pytest.raises(ValueError, match=f"system 'ok': {message}"):
        s.simulate(t_end=10, dt=0.1)


def test_large_exact_constants_simulate():
    s = System("big", ["x"], {"x": "-a*x"}, {"a": 1}, x0=[1.0]).with_parameters(
        a=sympy.sin(sympy.Integer(10) ** 100) ** 2
    )
    sim = s.simulate(t_end=1, dt=0.5)
    np.testing.assert_allclose(sim.x[0][-1, 0], math.exp(-s.parameters["a"]), rtol=1e-9)


def test_bytes_that_are_not_utf8_or_toml(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_bytes(b'name = "\xff\xfe"\n')
    with pytest.raises(CatalogueError, match=r"bad.toml: not UTF-8 text"):
        load_system_file(p)
    p.write_text("[[[[" * 2000)
    with pytest.raises(CatalogueError, match=r"bad.toml: invalid TOML"):
        load_system_file(p)


HOSTILE = [
    "__import__('os').system('touch {marker}')",
    "__import__('pathlib').Path('{marker}').touch()",
    "().__class__.__bases__[0].__subclasses__()",
    "eval(\"open('{marker}', 'w')\")",
    "exec(\"open('{marker}', 'w')\")",
    "open('{marker}', 'w').write('x')",
    "x.__class__",
    "lambda: open('{marker}', 'w')",
    "[open('{marker}', 'w') for _ in (1,)]",
    "x if open('{marker}', 'w') else y",
    "getattr(x, '__class__')",
    "9**9**9**9",
    "2**10**7",
    "(x := 1)",
    'f\'{{open("{marker}", "w")}}\'',
]
_FIELDS = [
    ('y = "-a*x"', "y = {text}", "equations.y"),
    ('energy = "(x**2 + y**2)/2"', "energy = {text}", "conserved.energy"),
    ("a = 1.0", "a = {text}", "parameters.a"),
    ('"flip(x,y)"', '{{ spec = "flip(x,y)", when = {{ a = {text} }} }}', "symmetries[0].when.a"),
    ('"flip(x,y)"', "{text}", "symmetries[0]"),
]


@pytest.mark.parametrize("expression", HOSTILE)
@pytest.mark.parametrize("old, template, field", _FIELDS)
def test_hostile_expressions_are_rejected_not_run(tmp_path, expression, old, template, field):
    marker = tmp_path / "pwned"
    text = expression.format(marker=marker)
    toml_string = json.dumps(text)  # a TOML basic string
    bad = GOOD.replace(old, template.format(text=toml_string), 1)
    with pytest.raises(ValueError) as info:
        _load(tmp_path, bad)
    assert str(info.value).startswith(f"ok.toml: {field}"), str(info.value)
    assert "\n" not in str(info.value)
    assert not marker.exists()


def test_hostile_expression_message_names_file_and_field(tmp_path):
    bad = GOOD.replace('y = "-a*x"', """y = "__import__('os')" """)
    with pytest.raises(ValueError, match=r"^ok.toml: equations.y: .*'__import__'"):
        _load(tmp_path, bad)


# --------------------------------------------------------------------------- fuzzing the loader


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return (
            repr(v)
            if not isinstance(v, float) or math.isfinite(v)
            else ("nan" if v != v else ("inf" if v > 0 else "-inf"))
        )
    if isinstance(v, str):
        return json.dumps(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(u) for u in v) + "]"
    return "{ " + ", ".join(f"{json.dumps(k)} = {_toml_value(u)}" for k, u in v.items()) + " }"


def _toml(doc: dict) -> str:
    return "\n".join(f"{json.dumps(k)} = {_toml_value(v)}" for k, v in doc.items()) + "\n"


_names = st.sampled_from(["x", "y", "a", "name", "spec", "when", "expression", "energy", "__import__", "t", "", "é"])
_scalars = st.one_of(
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True),
    st.text(max_size=20),
    st.sampled_from(["x", "-a*x", "flip(x,y)", "__import__('os')", "8/3", "x**", "sin(x)"]),
)
_values = st.recursive(
    _scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_names, inner, max_size=4), max_leaves=12
)


def _assert_clean_failure(exc: BaseException, file_name: str):
    assert isinstance(exc, ValueError), f"{type(exc).__name__}: {exc}"
    assert str(exc).startswith(file_name), str(exc)
    assert "\n" not in str(exc)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(max_size=300))
def test_fuzz_random_text(tmp_path, text):
    p = tmp_path / "fuzz.toml"
    p.write_text(text, encoding="utf-8")
    try:
        load_system_file(p)
    except Exception as exc:  # noqa: BLE001 - the point is which exceptions escape
        _assert_clean_failure(exc, "fuzz.toml")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=st.dictionaries(st.sampled_from(list(catalogue._TOP_FIELDS) + ["extra"]), _values, max_size=8))
def test_fuzz_random_structures(tmp_path, doc):
    p = tmp_path / "fuzz.toml"
    p.write_text(_toml(doc), encoding="utf-8")
    try:
        load_system_file(p)
    except Exception as exc:  # noqa: BLE001
        _assert_clean_failure(exc, "fuzz.toml")


_GOOD_DOC = {
    "name": "ok",
    "description": "d",
    "variables": ["x", "y"],
    "symmetries": ["flip(x,y)"],
    "parameters": {"a": 1.0},
    "equations": {"x": "y", "y": "-a*x"},
    "conserved": {"energy": "x**2 + a*y**2"},
    "structure": {"type": "canonical", "pairs": [["x", "y"]], "hamiltonian": "(y**2 + a*x**2)/2"},
    "simulation": {"initial_state": {"x": 1.0, "y": 0.0}, "dt": 0.1, "t_end": 1.0},
}


def _paths(doc, prefix=()):
    for k, v in doc.items():
        yield prefix + (k,)
        if isinstance(v, dict):
            yield from _paths(v, prefix + (k,))


_PATHS = list(_paths(_GOOD_DOC))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(_PATHS), value=_values)
def test_fuzz_mutated_good_file(tmp_path, path, value):
    doc = json.loads(json.dumps(_GOOD_DOC))
    node = doc
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    p = tmp_path / "ok.toml"
    p.write_text(_toml(doc), encoding="utf-8")
    try:
        s = load_system_file(p)
    except Exception as exc:  # noqa: BLE001
        _assert_clean_failure(exc, "ok.toml")
        return
    # whatever loads is a usable system
    assert s.name == doc["name"] and len(s.rhs) == s.n_variables


# Python's own parser warns about text such as '1if'; the parser reads, it does not run.
@pytest.mark.filterwarnings("ignore::SyntaxWarning")
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(expr=st.text(alphabet="xya_().,'\"[]{}:=+-*/%@^<>!~0123456789 lambdimportsecvalopen", max_size=40))
def test_fuzz_expressions(tmp_path, expr):
    p = tmp_path / "ok.toml"
    p.write_text(GOOD.replace('y = "-a*x"', f"y = {json.dumps(expr)}"), encoding="utf-8")
    try:
        s = load_system_file(p)
    except Exception as exc:  # noqa: BLE001
        _assert_clean_failure(exc, "ok.toml: equations.y")
        return
    assert isinstance(s.equations["y"], sympy.Expr)


def test_programmatic_system_errors():
    x, y, q = sympy.symbols("x y q")
    with pytest.raises(CatalogueError, match="system 's': no equation for 'y'"):
        System("s", ["x", "y"], {"x": "y"})
    with pytest.raises(CatalogueError, match="system 's': equations must map"):
        System("s", ["x"], ["x"])
    with pytest.raises(CatalogueError, match="system 's': symmetry 'flip\\(z\\)': unknown variable 'z'"):
        System("s", ["x"], {"x": "-x"}, symmetries=["flip(z)"])
    with pytest.raises(CatalogueError, match="system 's': conserved 'c': unknown symbol 'q'"):
        System("s", ["x"], {"x": "0"}, conserved=[catalogue.ConservedClaim("c", q)])
    with pytest.raises(CatalogueError, match="pairs must put every variable"):
        System(
            "s",
            ["x", "y"],
            {"x": "y", "y": "-x"},
            structure=catalogue.Structure("canonical", (x**2 + y**2) / 2, (("x", "x"),)),
        )
    with pytest.raises(CatalogueError, match="the Poisson matrix must be 2 x 2"):
        System(
            "s",
            ["x", "y"],
            {"x": "y", "y": "-x"},
            structure=catalogue.Structure("poisson", (x**2 + y**2) / 2, (), sympy.ImmutableMatrix([[0]])),
        )
    with pytest.raises(CatalogueError, match="condition on unknown parameter 'b'"):
        System(
            "s",
            ["x"],
            {"x": "-a*x"},
            {"a": 1},
            symmetries=[catalogue.SymmetryClaim("flip(x)", {"b": sympy.Integer(0)})],
        )
    with pytest.raises(CatalogueError, match="parameter 'a': expected a number, got a boolean"):
        System("s", ["x"], {"x": "-a*x"}, {"a": True})
    good = System(
        "s",
        ["x", "y"],
        {"x": "y", "y": "-x"},
        structure=catalogue.Structure("canonical", (x**2 + y**2) / 2, (("x", "y"),)),
    )
    assert all(c.ok for c in check_claims(good))
    assert catalogue.derived_tags(good) == {"polynomial", "linear", "hamiltonian", "volume_preserving"}
