import json

import sympy as sp

from symsindy.catalogue import get_system
from symsindy.cli import main

from symsindy.conservation import span_residual

from conftest import catalogue_csv


def test_conserved_on_hamiltonian_system_from_noisy_data(tmp_path, capsys):
    path = catalogue_csv(tmp_path, "harmonic_oscillator_2d", trajectories=3)
    out = tmp_path / "c.json"
    png = tmp_path / "c.png"
    assert main(["conserved", str(path), "--model-degree", "1", "--json", str(out), "--plot", str(png)]) == 0
    d = json.loads(out.read_text())
    assert set(d) >= {"variables", "conserved", "residuals"}
    names = d["variables"]
    from symsindy.expressions import parse_expression

    found = [parse_expression(e, names) for e in d["conserved"]]
    system = get_system("harmonic_oscillator_2d")
    for label, q in system.conserved.items():
        assert span_residual(sp.expand(q), found, sp.symbols(names)) <= 1e-2, label
    assert png.stat().st_size > 10_000


def test_noether_isotropic_oscillator_charge_conserved(tmp_path, capsys):
    path = catalogue_csv(tmp_path, "harmonic_oscillator_2d", trajectories=3)
    out = tmp_path / "n.json"
    assert (
        main(
            [
                "noether",
                str(path),
                "--symmetry",
                "rotation(q1,q2)+rotation(p1,p2)",
                "--canonical",
                "q1:p1,q2:p2",
                "--model-degree",
                "1",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    d = json.loads(out.read_text())
    (c,) = d["charges"]
    assert set(c) >= {"symmetry", "charge", "conserved", "symbolic_residual", "drift"}
    q1, q2, p1, p2 = sp.symbols("q1 q2 p1 p2")
    from symsindy.expressions import parse_expression

    assert sp.expand(parse_expression(c["charge"], ["q1", "q2", "p1", "p2"]) - (q1 * p2 - q2 * p1)) == 0
    assert c["conserved"] is True


def test_noether_damped_oscillator_charge_not_conserved(tmp_path, capsys):
    path = catalogue_csv(tmp_path, "damped_oscillator", trajectories=2)
    out = tmp_path / "n.json"
    assert (
        main(
            [
                "noether",
                str(path),
                "--symmetry",
                "rotation(x,y)",
                "--canonical",
                "x:y",
                "--model-degree",
                "1",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    d = json.loads(out.read_text())
    (c,) = d["charges"]
    assert c["conserved"] is False and c["drift"] > 0.05
    assert any("without a conserved charge" in f for f in d["flags"])
    assert "NOT conserved" in capsys.readouterr().out


def test_noether_bad_canonical(tmp_path, capsys):
    path = catalogue_csv(tmp_path, "damped_oscillator", trajectories=1)
    assert main(["noether", str(path), "--symmetry", "rotation(x,y)", "--canonical", "x:w"]) == 2
    err = capsys.readouterr().err.strip()
    assert "unknown variable 'w'" in err and "\n" not in err


def _anharmonic_csv(tmp_path, n_traj=20, n_samples=30, noise=0.01, seed=0):
    """The isotropic anharmonic oscillator H = (p1^2 + p2^2)/2 + (q1^2 + q2^2)/2 + (q1^2 + q2^2)^2/4:
    energy and angular momentum are conserved.  Short trajectories, measured derivatives."""
    import numpy as np
    from scipy.integrate import solve_ivp

    def f(s):
        q1, q2, p1, p2 = s
        r2 = q1**2 + q2**2
        return np.array([p1, p2, -q1 * (1 + r2), -q2 * (1 + r2)])

    rng = np.random.default_rng(seed)
    rows = []
    for k in range(n_traj):
        x0 = rng.uniform(-1, 1, 4)
        t = np.arange(n_samples) * 0.1
        sol = solve_ivp(lambda _, s: f(s), (0, t[-1]), x0, t_eval=t, rtol=1e-10, atol=1e-10)
        X = sol.y.T
        D = np.array([f(x) for x in X])
        X = X + noise * X.std(0) * rng.standard_normal(X.shape)
        D = D + noise * D.std(0) * rng.standard_normal(D.shape)
        rows += [[k, ti, *x, *d] for ti, x, d in zip(t, X, D)]
    path = tmp_path / "anharmonic.csv"
    head = "trajectory,t,q1,q2,p1,p2,q1_dot,q2_dot,p1_dot,p2_dot"
    path.write_text(head + "\n" + "\n".join(",".join(f"{v:.10g}" for v in r) for r in rows) + "\n")
    return path


def test_conserved_lists_only_what_passes_its_checks(tmp_path, capsys):
    """Degree 4 on the anharmonic oscillator: near-null directions that fail a check go under
    'rejected' with the figure, never under 'conserved' (they were listed as conserved, next to
    their own 'NOT conserved' verdicts)."""
    path = _anharmonic_csv(tmp_path)
    out = tmp_path / "c.json"
    assert main(["conserved", str(path), "--degree", "4", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    d = json.loads(out.read_text())
    assert len(d["checks"]) == len(d["conserved"]) == len(d["residuals"])
    assert all(c["conserved"] for c in d["checks"])
    for r in d["rejected"]:
        assert r["conserved"] is False and r["reason"] and r["quantity"] not in d["conserved"]
    listed = text.split("conserved quantities of the model")[1].split("rejected candidates")[0]
    assert "NOT conserved" not in listed
    if d["rejected"]:
        assert "rejected candidates" in text and d["rejected"][0]["reason"] in text
    # what is listed is conserved by the true flow
    from symsindy.expressions import parse_expression

    names = d["variables"]
    q1, q2, p1, p2 = sp.symbols(names)
    rhs = [p1, p2, -q1 * (1 + q1**2 + q2**2), -q2 * (1 + q1**2 + q2**2)]
    xs = sp.symbols(names)
    for e in d["conserved"]:
        C = parse_expression(e, names)
        dC = sp.expand(sum(sp.diff(C, x) * fx for x, fx in zip(xs, rhs)))
        scale = max(abs(float(c)) for c in sp.Poly(sp.expand(C), *xs).coeffs())
        assert all(abs(float(c)) <= 0.05 * scale for c in (sp.Poly(dC, *xs).coeffs() if dC != 0 else [])), e


def _with_a_false_candidate(monkeypatch):
    """Make the search return, besides what it finds, q1 (which the oscillator does not conserve)."""
    import symsindy.conservation as conservation

    real = conservation.conserved_quantities

    def search(rhs, variables, *args, **kwargs):
        result = real(rhs, variables, *args, **kwargs)
        result.quantities.append(conservation.ConservedQuantity(sp.Symbol(variables[0]), 1e-3))
        return result

    monkeypatch.setattr(conservation, "conserved_quantities", search)


def test_a_candidate_that_fails_its_check_is_rejected_not_conserved(tmp_path, capsys, monkeypatch):
    _with_a_false_candidate(monkeypatch)
    path = catalogue_csv(tmp_path, "harmonic_oscillator_2d", trajectories=3)
    out = tmp_path / "c.json"
    assert main(["conserved", str(path), "--model-degree", "1", "--json", str(out)]) == 0
    text = capsys.readouterr().out
    d = json.loads(out.read_text())
    assert "q1" not in d["conserved"] and all(c["conserved"] for c in d["checks"])
    (r,) = d["rejected"]
    assert r["quantity"] == "q1" and r["conserved"] is False and r["drift_model"] > 0.05
    assert "drift along the model" in r["reason"] and r["reason"] in text
    listed = text.split("conserved quantities of the model")[1].split("rejected candidates")[0]
    assert "\n  q1 " not in listed
    # noether's list is checked the same way
    out_n = tmp_path / "n.json"
    assert (
        main(
            [
                "noether",
                str(path),
                "--symmetry",
                "rotation(q1,q2)+rotation(p1,p2)",
                "--canonical",
                "q1:p1,q2:p2",
                "--model-degree",
                "1",
                "--json",
                str(out_n),
            ]
        )
        == 0
    )
    dn = json.loads(out_n.read_text())
    assert "q1" not in dn["conserved"] and [r["quantity"] for r in dn["rejected"]] == ["q1"]


def test_report_rejects_a_candidate_that_fails_its_check(tmp_path, monkeypatch):
    from symsindy.report import run_discovery

    _with_a_false_candidate(monkeypatch)
    rep = run_discovery("harmonic_oscillator", samples=400, trajectories=3, noise=0.01, random_state=1, n_bootstrap=0)
    d = rep.to_dict()
    assert all(c["conserved"] for c in d["conserved"]) and "q" not in [c["expression"] for c in d["conserved"]]
    assert [r["expression"] for r in d["rejected"]] == ["q"] and "drift along the model" in d["rejected"][0]["reason"]
    text = rep.summary()
    assert "rejected candidates (failed a check, not conserved): 1" in text


def test_anharmonic_degree_4_reports_energy_and_angular_momentum_only(tmp_path, capsys):
    """Two independent quantities (it listed three mixtures of L**2, E and noise)."""
    path = _anharmonic_csv(tmp_path)
    out = tmp_path / "c.json"
    assert main(["conserved", str(path), "--degree", "4", "--basis", "poly", "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    names = d["variables"]
    from symsindy.expressions import parse_expression

    found = [parse_expression(e, names) for e in d["conserved"]]
    q1, q2, p1, p2 = sp.symbols(names)
    H = (p1**2 + p2**2) / 2 + (q1**2 + q2**2) / 2 + (q1**2 + q2**2) ** 2 / 4
    L = q1 * p2 - q2 * p1
    assert len(found) == 2 and d["independent"] == 2 and d["dependent"] == []
    assert span_residual(H, found, names) < 1e-2 and span_residual(L, found, names) < 1e-2
    assert d["basis"] == "poly" and "2 independent" in capsys.readouterr().out


def test_conserved_chooses_the_log_family_on_lotka_volterra(tmp_path, capsys):
    path = catalogue_csv(tmp_path, "lotka_volterra", trajectories=3)
    out = tmp_path / "c.json"
    assert main(["conserved", str(path), "--json", str(out)]) == 0
    text = capsys.readouterr().out
    d = json.loads(out.read_text())
    assert d["basis"] == "log" and set(d["basis_candidates"]) >= {"poly", "log", "trig"}
    assert d["basis_candidates"]["poly"]["independent"] == 0 and d["independent"] == 1
    assert "basis: log" in text
    from symsindy.expressions import parse_expression

    found = [parse_expression(e, d["variables"]) for e in d["conserved"]]
    declared = get_system("lotka_volterra").conserved["integral"]
    assert span_residual(declared, found, d["variables"]) < 1e-2
    assert all(c["conserved"] for c in d["checks"])


def test_pendulum_energy_with_a_trig_model_library(tmp_path):
    path = catalogue_csv(tmp_path, "pendulum", trajectories=3)
    out = tmp_path / "c.json"
    assert main(["conserved", str(path), "--model-library", "trig", "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    assert d["basis"] == "trig" and "sin(theta)" in d["equations"]["omega"]
    from symsindy.expressions import parse_expression

    found = [parse_expression(e, d["variables"]) for e in d["conserved"]]
    assert len(found) == 1
    assert span_residual(get_system("pendulum").conserved["energy"], found, d["variables"]) < 1e-2


def test_basis_file_and_bad_basis(tmp_path, capsys):
    path = catalogue_csv(tmp_path, "pendulum", trajectories=3)
    basis = tmp_path / "basis.txt"
    basis.write_text("cos(theta)\n")
    out = tmp_path / "c.json"
    assert main(["conserved", str(path), "--model-library", "trig", "--basis", str(basis), "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    assert d["basis"] == "custom" and len(d["conserved"]) == 1 and "cos(theta)" in d["conserved"][0]
    import pytest

    with pytest.raises(SystemExit) as exc:
        main(["conserved", str(path), "--basis", "bessel"])
    assert exc.value.code == 2 and "'bessel' is neither auto" in capsys.readouterr().err
    assert main(["conserved", str(path), "--basis", "kepler"]) == 2
    assert "give the position variables" in capsys.readouterr().err


def test_from_data_weak_form_and_attracting_sets(tmp_path, capsys):
    path = catalogue_csv(tmp_path, "harmonic_oscillator", trajectories=4)
    out = tmp_path / "c.json"
    assert main(["conserved", str(path), "--from-data", "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    assert d["from_data_formulation"] == "weak" and d["from_data_independent"] == 1
    from symsindy.expressions import parse_expression

    found = [parse_expression(e, d["variables"]) for e in d["from_data"]]
    assert span_residual(get_system("harmonic_oscillator").conserved["energy"], found, d["variables"]) < 1e-2
    assert d["from_data_rejected"] == []
    assert "straight from the data (weak form" in capsys.readouterr().out


def test_kepler_model_library_and_positions(tmp_path, capsys):
    path = catalogue_csv(tmp_path, "kepler", trajectories=3)
    out = tmp_path / "k.json"
    assert (
        main(
            [
                "conserved",
                str(path),
                "--model-library",
                "kepler",
                "--model-degree",
                "1",
                "--basis",
                "kepler",
                "--positions",
                "x,y",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    d = json.loads(out.read_text())
    assert "(x**2 + y**2)**1.5" in d["equations"]["px"] and d["basis"] == "kepler"
    from symsindy.expressions import parse_expression

    found = [parse_expression(e, d["variables"]) for e in d["conserved"]]
    system = get_system("kepler")
    for label in ("energy", "angular_momentum"):
        assert span_residual(system.conserved[label], found, d["variables"]) < 1e-2, label
    assert main(["conserved", str(path), "--model-library", "kepler", "--positions", "x,w"]) == 2
    assert "--positions: unknown variable 'w'" in capsys.readouterr().err


def test_exp_model_library_writes_exponential_interactions(tmp_path):
    """--model-library exp: polynomials and exp(q_i - q_j) for every ordered pair of positions,
    evaluated on arrays and written symbolically (the Toda lattice's forces)."""
    import argparse

    import numpy as np
    import pytest

    from symsindy.commands.conservation import _library
    from symsindy.symbolic import library_terms

    names = ["q1", "q2", "q3", "p1", "p2", "p3"]
    lib = _library(argparse.Namespace(model_degree=1, model_library="exp", positions=None), names)
    X = np.random.default_rng(0).normal(size=(5, 6))
    lib.fit(X)
    terms = [str(t) for t in library_terms(lib, names)]
    assert {"exp(q1 - q2)", "exp(-q1 + q2)", "exp(q2 - q3)", "exp(-q2 + q3)"} <= set(terms)
    k = terms.index("exp(q1 - q2)")
    np.testing.assert_allclose(np.asarray(lib.transform(X))[:, k], np.exp(X[:, 0] - X[:, 1]))
    with pytest.raises(ValueError, match="--model-library exp: give the position variables"):
        _library(argparse.Namespace(model_degree=1, model_library="exp", positions=None), names[:3])


def test_phase_model_library_holds_the_kuramoto_right_hand_side():
    """--model-library phase: sin and cos of every difference of two phases, evaluated on arrays
    and written symbolically; the Kuramoto oscillators' coupling lies in it."""
    import argparse

    import numpy as np

    from symsindy.commands.conservation import _library
    from symsindy.symbolic import library_terms

    names = ["theta1", "theta2", "theta3"]
    lib = _library(argparse.Namespace(model_degree=1, model_library="phase", positions=None), names)
    X = np.random.default_rng(1).normal(size=(6, 3))
    lib.fit(X)
    terms = [str(t) for t in library_terms(lib, names)]
    needed = {"sin(theta1 - theta2)", "sin(theta1 - theta3)", "sin(theta2 - theta3)", "cos(theta1 - theta2)"}
    assert needed <= set(terms)
    k = terms.index("sin(theta2 - theta3)")
    np.testing.assert_allclose(np.asarray(lib.transform(X))[:, k], np.sin(X[:, 1] - X[:, 2]))
    # periodic in each phase: no polynomial term in a phase, so a shift by 2*pi changes no column
    assert not any(t in terms for t in names) and "1" in terms
    for i in range(3):
        shifted = X.copy()
        shifted[:, i] += 2 * np.pi
        np.testing.assert_allclose(np.asarray(lib.transform(shifted)), np.asarray(lib.transform(X)), atol=1e-12)


def test_phase_model_library_polynomials_in_the_variables_that_are_not_phases():
    """--positions names the phases; the other variables enter through polynomials of --model-degree."""
    import argparse

    import numpy as np

    from symsindy.commands.conservation import _library
    from symsindy.symbolic import library_terms

    names = ["theta1", "theta2", "r"]
    lib = _library(argparse.Namespace(model_degree=2, model_library="phase", positions="theta1,theta2"), names)
    X = np.random.default_rng(2).normal(size=(8, 3))
    lib.fit(X)
    terms = [str(t) for t in library_terms(lib, names)]
    assert {"1", "r", "r**2", "sin(theta1 - theta2)", "cos(theta1 - theta2)"} <= set(terms)
    assert not any("theta1" in t and "sin" not in t and "cos" not in t for t in terms)


def test_phase_model_library_finds_the_kuramoto_phase_sum(tmp_path):
    """Four trajectories from spread-out initial phases at 1% noise: the phase sum is conserved by
    the fitted model and reported; with linear phase terms in the library this seed's model held
    theta terms standing in for the coupling and nothing was reported."""
    import numpy as np

    from symsindy.expressions import parse_expression
    from symsindy.io import write_csv

    sim = get_system("kuramoto").simulate(noise=0.01, random_state=3, n_trajectories=4, spread=1.0)
    path = tmp_path / "kuramoto.csv"
    write_csv(path, list(sim.variables), [sim.t] * len(sim.x), sim.x, None)
    out = tmp_path / "c.json"
    args = ["conserved", str(path), "--model-library", "phase", "--model-degree", "1", "--degree", "1"]
    assert main([*args, "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    xs = sp.symbols(d["variables"])
    pts = np.random.default_rng(0).uniform(-3, 3, size=(20, 3))
    for e in d["equations"].values():  # the fitted model is 2*pi-periodic in each phase
        f = sp.lambdify(xs, parse_expression(e, d["variables"]), "numpy")
        for i in range(3):
            np.testing.assert_allclose(f(*(pts + 2 * np.pi * np.eye(3)[i]).T), f(*pts.T), atol=1e-9)
    found = [parse_expression(e, d["variables"]) for e in d["conserved"]]
    assert span_residual(get_system("kuramoto").conserved["phase_sum"], found, d["variables"]) < 1e-2
