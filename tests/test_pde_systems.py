"""The PDE catalogue: symbolic symmetry claims, spectral solvers, the CLI and recovery by SymmetricPDESINDy."""

from __future__ import annotations

import json
import warnings
from dataclasses import replace

import numpy as np
import pytest
import sympy

from symsindy.cli import main
from symsindy.pde import (
    PDESystem,
    SymmetricPDESINDy,
    check_pde_claims,
    get_pde_system,
    list_pde_systems,
    pde_library,
    pde_terms,
    read_fields,
)

NAMES = list_pde_systems()

# (t_end, nt) for the residual check: samples 0.01 apart (0.005 for KdV), short enough to be quick
RESIDUAL_RUNS = {
    "burgers": (2.0, 201),
    "kdv": (2.0, 401),
    "kuramoto_sivashinsky": (10.0, 1001),
    "ginzburg_landau": (5.0, 501),
    "ginzburg_landau_2d": (3.0, 301),
    "lambda_omega": (3.0, 301),
    "advection_diffusion_rotating": (np.pi / 2, 158),
}


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


# --------------------------------------------------------------------------- the claims


def test_the_catalogue_holds_the_seven_systems():
    assert NAMES == sorted(RESIDUAL_RUNS)
    for name in NAMES:
        s = get_pde_system(name)
        assert isinstance(s, PDESystem) and s.tags[:2] == ("pde", f"{s.dimension}d")
        assert set(s.equations) == set(s.components) and s.symmetries


@pytest.mark.parametrize("name", NAMES)
def test_every_declared_claim_holds_symbolically(name):
    s = get_pde_system(name)
    checks = check_pde_claims(s)
    assert all(c.ok for c in checks), [c.message for c in checks if not c.ok]
    assert [c.claim for c in checks[: len(s.symmetries)]] == [f"symmetry {spec!r}" for spec in s.symmetries]
    assert all(c.method == "symbolic" and c.system == name for c in checks)


@pytest.mark.parametrize(
    "name, spec",
    [
        ("burgers", "flip(x)"),  # a reflection of space alone reverses the advection
        ("burgers", "flip(u)"),
        ("burgers", "scaling(u)"),
        ("kdv", "flip(x)"),
        ("kdv", "flip(x)+flip(u)"),  # u_xxx keeps its sign under it, u u_x does not
        ("kdv", "flip(u)"),
        ("kuramoto_sivashinsky", "flip(x)"),
        ("ginzburg_landau", "swap(u,v)"),  # complex conjugation up to a phase: holds only for b = c = 0
        ("ginzburg_landau", "flip(x)+flip(v)"),
        ("ginzburg_landau_2d", "scaling(u,v)"),
        ("lambda_omega", "flip(u)"),  # conjugation: would need beta = 0
        ("advection_diffusion_rotating", "flip(x)"),  # reverses the sense of rotation
        ("advection_diffusion_rotating", "swap(x,y)"),
        ("advection_diffusion_rotating", "translation(x)"),  # the flow has explicit coordinates
        ("advection_diffusion_rotating", "flip(x)+flip(c)"),
    ],
)
def test_a_wrong_claim_is_rejected(name, spec):
    (check,) = check_pde_claims(get_pde_system(name), [spec])
    assert not check.ok
    assert check.message.startswith(f"system '{name}': symmetry '{spec}' does not hold: ")
    assert "not 0" in check.message


def test_claims_that_hold_beyond_the_declared_ones():
    # a rotation by pi of the plane, a phase rotation by pi, and the combined rotations
    for name, spec in [
        ("advection_diffusion_rotating", "flip(x,y)"),
        ("ginzburg_landau", "flip(u,v)"),
        ("ginzburg_landau_2d", "rotation(x,y)+rotation(u,v)"),
        ("lambda_omega", "flip(y)"),
    ]:
        (check,) = check_pde_claims(get_pde_system(name), [spec])
        assert check.ok, check.message


def test_an_anisotropic_system_loses_its_rotation_of_the_domain():
    s = get_pde_system("lambda_omega")
    u_yy, v_yy = sympy.symbols("u_yy v_yy")
    stretched = {c: sympy.expand(e).subs({u_yy: 2 * u_yy, v_yy: 2 * v_yy}) for c, e in s.equations.items()}
    anisotropic = replace(s, name="lambda_omega_stretched", equations=stretched)
    checks = {
        c.claim: c.ok for c in check_pde_claims(anisotropic, ["rotation(x,y)", "swap(x,y)", "flip(x)", "rotation(u,v)"])
    }
    assert checks == {
        "symmetry 'rotation(x,y)'": False,
        "symmetry 'swap(x,y)'": False,
        "symmetry 'flip(x)'": True,
        "symmetry 'rotation(u,v)'": True,
    }
    failed = [c for c in check_pde_claims(replace(anisotropic, symmetries=("rotation(x,y)",))) if not c.ok]
    assert [c.claim for c in failed] == ["symmetry 'rotation(x,y)'"]


def test_wrong_structural_claims_are_rejected():
    s = get_pde_system("advection_diffusion_rotating")
    bad = {c.claim: c for c in check_pde_claims(replace(s, coordinates=(), tags=("pde", "2d"))) if not c.ok}
    assert set(bad) == {"explicit coordinates (none)", "tag 'linear'", "library degree 1, derivative order 2"}
    assert "x, y, not none as declared" in bad["explicit coordinates (none)"].message
    assert "outside the jet" in bad["library degree 1, derivative order 2"].message
    ks = get_pde_system("kuramoto_sivashinsky")
    (bad,) = [c for c in check_pde_claims(replace(ks, derivative_order=3)) if not c.ok]
    assert "needs derivative order 4" in bad.message
    (bad,) = [c for c in check_pde_claims(replace(ks, degree=1, tags=ks.tags + ("linear",))) if not c.ok]
    assert bad.claim == "tag 'linear'" and "nonlinear" in bad.message
    (bad,) = check_pde_claims(ks, ["rotation(x,w)"])
    assert not bad.ok and bad.message == (
        "system 'kuramoto_sivashinsky': symmetry 'rotation(x,w)' is not a valid spec: unknown variable 'w'; "
        "variables are u, x"
    )


@pytest.mark.parametrize("name", NAMES)
def test_the_declared_library_holds_the_equations(name):
    s = get_pde_system(name)
    data = s.simulate(nx=16, nt=5, t_end=0.01)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pysindy's deprecation of is_uniform
        lib = pde_library(data, s.degree, s.derivative_order)
    terms = pde_terms(lib, s.components, s.axes)
    if s.coordinates:
        # the library needs the coordinates as features: its terms times x and y
        coords = [sympy.Symbol(a) for a in s.coordinates]
        terms = terms + [x * t for x in coords for t in terms]
    coef = s.coefficients(terms)
    for c, row in zip(s.components, coef):
        rebuilt = sum((sympy.Float(k) * t for k, t in zip(row, terms) if k), sympy.S.Zero)
        assert sympy.expand(rebuilt - s.rhs[c]) == 0
    if s.coordinates:
        with pytest.raises(ValueError, match="is not among the library's terms"):
            s.coefficients(pde_terms(lib, s.components, s.axes))


# --------------------------------------------------------------------------- the solvers


@pytest.fixture(scope="module")
def residual_data():
    out = {}
    for name, (t_end, nt) in RESIDUAL_RUNS.items():
        out[name] = get_pde_system(name).simulate(t_end=t_end, nt=nt, random_state=1)
    return out


@pytest.mark.parametrize("name", NAMES)
def test_the_solution_satisfies_its_own_pde(residual_data, name):
    s = get_pde_system(name)
    data = residual_data[name]
    t_end, nt = RESIDUAL_RUNS[name]
    (u,) = data.u
    assert u.shape == (nt,) + (s.nx,) * s.dimension + (s.n_components,) and np.all(np.isfinite(u))
    assert data.names == list(s.components) and data.axes == list(s.axes) and data.t[0][-1] == pytest.approx(t_end)
    for a, lo, length in zip(s.axes, s.origin, s.lengths):
        assert data.grid[a][0] == lo and data.spacing(a) == pytest.approx(length / s.nx)
    # non-trivial: the field changes by a good part of itself
    assert np.linalg.norm(u[-1] - u[0]) > 0.2 * np.linalg.norm(u[0])
    # u_t by fourth-order central differences in time against the right-hand side, spectral in space
    dt = data.t[0][1] - data.t[0][0]
    ut = (-u[4:] + 8 * u[3:-1] - 8 * u[1:-3] + u[:-4]) / (12 * dt)
    rhs = s.evaluate(u[2:-2])
    assert np.linalg.norm(ut - rhs) <= 5e-3 * np.linalg.norm(rhs)


def test_simulations_are_reproducible_and_noise_is_scaled_per_component():
    s = get_pde_system("ginzburg_landau_2d")
    kw = dict(nx=16, nt=6, t_end=0.5, n_runs=2)
    a, b = s.simulate(random_state=4, **kw), s.simulate(random_state=4, **kw)
    c = s.simulate(random_state=5, **kw)
    assert a.n_runs == 2 and a.u[0].shape == (6, 16, 16, 2)
    for x, y in zip(a.u, b.u):
        np.testing.assert_array_equal(x, y)
    assert not np.allclose(a.u[0], c.u[0]) and not np.allclose(a.u[0], a.u[1])
    noisy = s.simulate(random_state=4, noise=0.1, **kw)
    for clean, dirty in zip(a.u, noisy.u):
        diff = (dirty - clean).reshape(-1, 2).std(axis=0) / clean.reshape(-1, 2).std(axis=0)
        np.testing.assert_allclose(diff, 0.1, rtol=0.1)
    np.testing.assert_array_equal(s.simulate(random_state=4, noise=0.1, **kw).u[1], noisy.u[1])


def test_the_default_simulation_is_the_declared_size():
    s = get_pde_system("burgers")
    data = s.simulate()
    assert data.u[0].shape == (s.nt, s.nx, 1) and data.t[0][-1] == s.t_end


def test_the_solver_commutes_with_the_symmetries():
    # Burgers: u0 -> -u0(-x) gives -u(-x, t); lambda-omega: the transposed field gives the transposed solution
    s = get_pde_system("burgers")
    u0 = s.simulate(nt=2, t_end=0.01).u[0][0]
    flipped0 = -np.roll(u0[::-1], 1, axis=0)  # x -> -x on the periodic grid x_k = k dx
    a = replace(s, initial=lambda rng, coords: u0).simulate(nt=3, t_end=0.5).u[0]
    b = replace(s, initial=lambda rng, coords: flipped0).simulate(nt=3, t_end=0.5).u[0]
    np.testing.assert_allclose(b, -np.roll(a[:, ::-1], 1, axis=1), atol=1e-10)
    s = get_pde_system("lambda_omega")
    v0 = s.simulate(nx=24, nt=2, t_end=0.01).u[0][0]
    a = replace(s, initial=lambda rng, coords: v0).simulate(nx=24, nt=3, t_end=0.5).u[0]
    b = replace(s, initial=lambda rng, coords: v0.transpose(1, 0, 2)).simulate(nx=24, nt=3, t_end=0.5).u[0]
    np.testing.assert_allclose(b, a.transpose(0, 2, 1, 3), atol=1e-10)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"nx": 4}, "nx 4: expected integers >= 8"),
        ({"nx": (16, 16)}, "nx (16, 16): expected one count or 1"),
        ({"nt": 1}, "nt 1: expected an integer >= 2"),
        ({"t_end": -1.0}, "t_end -1.0: expected a positive number"),
        ({"noise": -0.1}, "noise -0.1: expected a non-negative number"),
        ({"n_runs": 0}, "n_runs 0: expected an integer >= 1"),
        ({"random_state": -1}, "random_state -1"),
        ({"nt": 10**7}, "values requested; at most"),
    ],
)
def test_bad_simulation_arguments_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        get_pde_system("burgers").simulate(**kwargs)


def test_bad_names_and_parameters_are_named():
    with pytest.raises(ValueError, match="unknown PDE system 'burger'; did you mean burgers"):
        get_pde_system("burger")
    with pytest.raises(ValueError, match="system 'burgers': unknown parameter 'mu'; parameters are nu"):
        get_pde_system("burgers", mu=1.0)
    assert get_pde_system("burgers", nu=0.2).rhs["u"] == sympy.expand(
        -sympy.Symbol("u") * sympy.Symbol("u_x") + 0.2 * sympy.Symbol("u_xx")
    )
    with pytest.raises(ValueError, match=r"fields of shape \(3, 5\); expected \(\.\.\., nx, 1\)"):
        get_pde_system("burgers").evaluate(np.zeros((3, 5)))
    with pytest.raises(ValueError, match="expected a PDESystem"):
        check_pde_claims("burgers")


# --------------------------------------------------------------------------- recovery


def _fit(system, data, specs, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = SymmetricPDESINDy(
            degree=system.degree, derivative_order=system.derivative_order, symmetry=specs, **kw
        ).fit(data)
    return model, system.coefficients(model.terms_)


def test_burgers_is_recovered_with_its_reflection():
    s = get_pde_system("burgers")
    model, truth = _fit(s, s.simulate(), "flip(x)+flip(u)")
    np.testing.assert_array_equal(model.coef_ != 0, truth != 0)
    np.testing.assert_allclose(model.coef_, truth, atol=1e-3)
    assert model.equivariance_residual_ <= 1e-10


def test_two_dimensional_ginzburg_landau_is_recovered_with_phase_and_square_symmetry():
    """pde_action handles rotation(u,v), flip(x), swap(x,y) (the square's symmetries, not yet the
    rotations of the domain); the spatial derivatives are second-order finite differences on the 32 x 32
    grid, hence a few per cent in the coefficients."""
    s = get_pde_system("ginzburg_landau_2d")
    data = s.simulate(nt=11, t_end=0.5, random_state=2)
    model, truth = _fit(s, data, ["rotation(u,v)", "flip(x)", "swap(x,y)"], threshold=0.05)
    np.testing.assert_array_equal(model.coef_ != 0, truth != 0)
    np.testing.assert_allclose(model.coef_, truth, atol=0.05 * np.abs(truth).max())
    assert model.equivariance_residual_ <= 1e-10


# --------------------------------------------------------------------------- the command line


def test_list_shows_the_pdes_after_the_ode_table(capsys, tmp_path):
    from pathlib import Path

    from symsindy.catalogue import default_folder, list_systems

    code, out, err = run(capsys, "systems", "list", "--kind", "pde")
    assert code == 0 and not err
    rows = [line.split() for line in out.splitlines()]
    assert [r[0] for r in rows] == NAMES and all("pde," in r for r in rows)
    code, out, _ = run(capsys, "systems", "list", "--kind", "all")
    assert [line.split()[0] for line in out.splitlines()] == list_systems() + NAMES
    code, out, _ = run(capsys, "systems", "list")
    assert [line.split()[0] for line in out.splitlines()] == list_systems() + NAMES
    # a folder of one's own lists its files only, unless asked
    (tmp_path / "lorenz.toml").write_text((Path(default_folder()) / "lorenz.toml").read_text())
    code, out, _ = run(capsys, "systems", "list", "--folder", str(tmp_path))
    assert [line.split()[0] for line in out.splitlines()] == ["lorenz"]
    code, out, _ = run(capsys, "systems", "list", "--folder", str(tmp_path), "--kind", "all")
    assert [line.split()[0] for line in out.splitlines()] == ["lorenz"] + NAMES
    code, out, _ = run(capsys, "systems", "list", "--kind", "pde", "--json")
    listed = json.loads(out)
    burgers = next(r for r in listed if r["name"] == "burgers")
    assert burgers["symmetries"] == ["flip(x)+flip(u)", "translation(x)"] and burgers["axes"] == ["x"]
    assert burgers["tags"][0] == "pde" and burgers["variables"] == ["u"]


def test_show_a_pde(capsys):
    code, out, err = run(capsys, "systems", "show", "lambda_omega", "--json")
    assert code == 0 and not err
    d = json.loads(out)
    s = get_pde_system("lambda_omega")
    names = {str(x): x for e in s.equations.values() for x in e.free_symbols}
    for c in s.components:
        assert sympy.parse_expr(d["equations"][c], local_dict=names) == s.equations[c]
    assert d["symmetries"] == list(s.symmetries) and d["axes"] == ["x", "y"] and d["kind"] == "pde"
    code, out, _ = run(capsys, "systems", "show", "advection_diffusion_rotating", "--param", "omega=2")
    assert code == 0 and "c_t = " in out and "omega = 2" in out
    assert "library:    degree 1, derivative order 2, with the coordinates x, y as features" in out
    code, out, _ = run(capsys, "systems", "show", "kdv")
    assert "u_t = -6*u*u_x - u_xxx" in out and "(x, t) -> (-x, -t)" in out


@pytest.mark.parametrize("name", NAMES)
def test_simulate_writes_what_read_fields_reads(capsys, tmp_path, name):
    path = tmp_path / f"{name}.npz"
    argv = ["systems", "simulate", name, "--out", str(path), "--nx", "16", "--nt", "5", "--t-end", "0.1"]
    code, out, err = run(capsys, *argv, "--seed", "3", "--trajectories", "2", "--noise", "0.01")
    assert code == 0 and not err and f"of {name} to" in out
    data = read_fields(path)
    expected = get_pde_system(name).simulate(nx=16, nt=5, t_end=0.1, n_runs=2, noise=0.01, random_state=3)
    assert data.names == expected.names and data.axes == expected.axes and data.n_runs == 2
    for a in data.axes:
        np.testing.assert_array_equal(data.grid[a], expected.grid[a])
    for got, want in zip(data.u, expected.u):
        np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(data.t[0], expected.t[0])


def test_simulate_one_run_with_dt(capsys, tmp_path):
    path = tmp_path / "ks.npz"
    argv = ["systems", "simulate", "kuramoto_sivashinsky", "--out", str(path), "--t-end", "10", "--dt", "0.5"]
    code, _, _ = run(capsys, *argv)
    assert code == 0
    with np.load(path) as f:
        assert set(f.files) == {"t", "x", "u", "names"} and f["u"].shape == (21, 256, 1)
    data = read_fields(path)
    assert data.time_step() == pytest.approx(0.5) and data.n_runs == 1


@pytest.mark.parametrize(
    "argv, message",
    [
        (["systems", "simulate", "burgers", "--out", "{tmp}/a.csv"], "--out '{tmp}/a.csv': system 'burgers' is a PDE"),
        (["systems", "simulate", "burgers", "--out", "{tmp}/a.npz", "--derivatives"], "--derivatives: system"),
        (["systems", "simulate", "burgers", "--out", "{tmp}/a.npz", "--nx", "4"], "nx 4: expected integers >= 8"),
        (["systems", "simulate", "burgers", "--out", "{tmp}/a.npz", "--dt", "3"], "--dt 3: need 0 < dt < t_end"),
        (["systems", "simulate", "burgers", "--out", "{tmp}/a.npz", "--param", "mu=1"], "unknown parameter 'mu'"),
        (["systems", "simulate", "lorenz", "--out", "{tmp}/a.csv", "--nx", "16"], "--nx: only for PDE systems"),
        (["systems", "show", "burgers", "--param", "nu"], "--param 'nu': expected NAME=VALUE"),
    ],
)
def test_cli_errors_are_one_line(capsys, tmp_path, argv, message):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code, _, err = run(capsys, *argv)
    assert code == 2 and err.count("\n") == 1 and message.replace("{tmp}", str(tmp_path)) in err
    assert not any(tmp_path.iterdir())


def test_check_covers_the_pdes(capsys):
    code, out, _ = run(capsys, "systems", "check", "burgers", "lambda_omega", "lorenz")
    assert code == 0 and out.strip().endswith("all claims hold")
    assert "ok   system 'lambda_omega': symmetry 'rotation(x,y)' holds" in out
    assert "ok   system 'lorenz': symmetry 'flip(x,y)' holds" in out
