"""Tests for ``symsindy systems``: list, show, simulate, check."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import sympy

from symsindy.catalogue import get_system, list_systems
from symsindy.cli import main
from symsindy.io import read_csv

FIXTURES = Path(__file__).parent / "fixtures" / "systems"
NAMES = list_systems()


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_list_text_and_json(capsys):
    from symsindy.pde import list_pde_systems

    pdes = list_pde_systems()
    code, out, err = run(capsys, "systems", "list")
    assert code == 0 and not err
    lines = out.splitlines()
    listed = [line.split()[0] for line in lines]
    # the system files, then the PDEs, each tagged pde
    assert listed == NAMES + pdes and len(NAMES) >= 30 and len(pdes) >= 7
    assert all("pde," in line.split() for line in lines[len(NAMES) :])
    code, out, _ = run(capsys, "systems", "list", "--kind", "ode")
    assert [line.split()[0] for line in out.splitlines()] == NAMES
    code, out, _ = run(capsys, "systems", "list", "--json", "--kind", "ode")
    assert [r["name"] for r in json.loads(out)] == NAMES
    code, out, _ = run(capsys, "systems", "list", "--json")
    rows = json.loads(out)
    assert [r["name"] for r in rows] == NAMES + pdes
    assert [r["kind"] for r in rows] == ["ode"] * len(NAMES) + ["pde"] * len(pdes)
    assert all("pde" in r["tags"] for r in rows[len(NAMES) :])
    lorenz = next(r for r in rows if r["name"] == "lorenz")
    assert lorenz["variables"] == ["x", "y", "z"] and lorenz["symmetries"] == ["flip(x,y)"]
    assert set(lorenz) >= {"name", "description", "variables", "parameters", "tags", "symmetries", "conserved"}


@pytest.mark.parametrize("name", NAMES)
def test_show_json_for_every_system(capsys, name):
    code, out, err = run(capsys, "systems", "show", name, "--json")
    assert code == 0 and not err
    d = json.loads(out)
    assert {"variables", "parameters", "equations", "symmetries", "conserved"} <= set(d)
    s = get_system(name)
    assert d["variables"] == list(s.variables)
    assert d["parameters"] == s.parameters
    # SymPy-parseable: with the names bound as symbols (E, I, S are also SymPy names)
    names = {v: sympy.Symbol(v) for v in list(d["variables"]) + list(d["parameters"])}
    for v in d["variables"]:
        assert sympy.parse_expr(d["equations"][v], local_dict=names) == s.equations[v]
        assert sympy.parse_expr(d["rhs"][v], local_dict=names) == s.rhs[v]
    for text in d["conserved"].values():
        assert isinstance(text, str) and sympy.parse_expr(text, local_dict=names).free_symbols
    assert d["symmetries"] == s.symmetry_specs
    for spec in d["symmetries"]:
        assert isinstance(spec, str)


def test_show_text(capsys):
    code, out, _ = run(capsys, "systems", "show", "kuramoto")
    assert code == 0
    assert "theta1' = " in out
    assert "swap(theta1,theta2)   (when omega2 = omega1; does not hold here)" in out
    assert "phase_sum = theta1 + theta2 + theta3   (when omega3 = -omega1 - omega2; holds here)" in out
    code, out, _ = run(capsys, "systems", "show", "kuramoto", "--param", "omega2=-0.3")
    assert "swap(theta1,theta2)   (when omega2 = omega1; holds here)" in out
    code, out, _ = run(capsys, "systems", "show", "rigid_body")
    assert "structure:  poisson" in out and "H = " in out


def _rows(path):
    with open(path, newline="") as fh:
        return list(csv.reader(fh))


def test_simulate_writes_the_fit_csv_format(capsys, tmp_path):
    out_file = tmp_path / "lorenz.csv"
    code, out, err = run(
        capsys,
        "systems",
        "simulate",
        "lorenz",
        "--out",
        str(out_file),
        "--t-end",
        "2",
        "--dt",
        "0.01",
        "--noise",
        "0.01",
        "--seed",
        "3",
    )
    assert code == 0 and not err and "lorenz" in out
    rows = _rows(out_file)
    assert rows[0] == ["t", "x", "y", "z"]
    assert len(rows) == 1 + 201
    assert float(rows[1][0]) == 0.0 and float(rows[-1][0]) == pytest.approx(2.0)
    ds = read_csv(out_file)
    assert ds.variables == ["x", "y", "z"] and ds.x_dot is None and ds.n_trajectories == 1
    # same seed, same file
    again = tmp_path / "again.csv"
    run(
        capsys,
        "systems",
        "simulate",
        "lorenz",
        "--out",
        str(again),
        "--t-end",
        "2",
        "--dt",
        "0.01",
        "--noise",
        "0.01",
        "--seed",
        "3",
    )
    assert again.read_text() == out_file.read_text()


def test_simulate_trajectories_and_derivatives(capsys, tmp_path):
    out_file = tmp_path / "sir.csv"
    code, _, _ = run(
        capsys,
        "systems",
        "simulate",
        "sir",
        "--out",
        str(out_file),
        "--t-end",
        "20",
        "--dt",
        "0.5",
        "--trajectories",
        "3",
        "--derivatives",
        "--noise",
        "0.02",
        "--seed",
        "1",
    )
    assert code == 0
    rows = _rows(out_file)
    assert rows[0] == ["trajectory", "t", "S", "I", "R", "S_dot", "I_dot", "R_dot"]
    ids = [r[0] for r in rows[1:]]
    assert sorted(set(ids)) == ["0", "1", "2"] and all(ids.count(k) == 41 for k in "012")
    ds = read_csv(out_file)
    assert ds.n_trajectories == 3 and ds.variables == ["S", "I", "R"]
    s = get_system("sir")
    np.testing.assert_array_equal(ds.x[0][0] != s.x0, [True, True, True])  # noise on the states
    np.testing.assert_allclose(ds.x_dot[0][0], s.rhs_function()(s.x0), rtol=1e-12)  # derivatives clean
    # the derivative columns are those of the clean states: they conserve the total exactly
    for dx in ds.x_dot:
        np.testing.assert_allclose(dx.sum(axis=1), 0, atol=1e-15)


def test_simulate_with_parameters(capsys, tmp_path):
    out_file = tmp_path / "ho.csv"
    code, _, _ = run(
        capsys,
        "systems",
        "simulate",
        "harmonic_oscillator",
        "--out",
        str(out_file),
        "--param",
        "omega=2",
        "--t-end",
        "1",
        "--dt",
        "0.25",
    )
    assert code == 0
    ds = read_csv(out_file)
    np.testing.assert_allclose(ds.x[0][:, 0], np.cos(2 * ds.t[0]), atol=1e-8)


@pytest.mark.parametrize(
    "argv, message",
    [
        (["systems", "show", "lorentz"], "unknown system 'lorentz'"),
        (["systems", "show", "lorenz", "--param", "rho"], "--param 'rho': expected NAME=VALUE"),
        (["systems", "show", "lorenz", "--param", "rho=abc"], "--param 'rho=abc': 'abc' is not a number"),
        (["systems", "show", "lorenz", "--param", "rh=1"], "unknown parameter 'rh'"),
        (["systems", "simulate", "lorenz", "--out", "{tmp}/a.csv", "--dt", "0"], "need 0 < dt < t_end"),
        (
            ["systems", "simulate", "lorenz", "--out", "{tmp}/a.csv", "--noise", "-1"],
            "noise must be a non-negative number",
        ),
        (["systems", "simulate", "lorenz", "--out", "{tmp}/a.csv", "--trajectories", "0"], "--trajectories 0"),
        (["systems", "list", "--folder", "{tmp}/nowhere"], "does not exist or is not a folder"),
    ],
)
def test_errors_are_one_line_exit_2(capsys, tmp_path, argv, message):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code, out, err = run(capsys, *argv)
    assert code == 2
    assert message in err and err.count("\n") == 1 and err.startswith("symsindy systems: error: ")
    assert not (tmp_path / "a.csv").exists()


def test_user_folder_with_hostile_file(capsys, tmp_path):
    (tmp_path / "evil.toml").write_text(
        'name = "evil"\ndescription = "d"\nvariables = ["x"]\n[equations]\nx = "__import__(\'os\').system(\'touch '
        + str(tmp_path / "pwned")
        + "')\"\n[simulation]\ninitial_state = { x = 1.0 }\ndt = 0.1\nt_end = 1.0\n"
    )
    code, _, err = run(capsys, "systems", "list", "--folder", str(tmp_path))
    assert code == 2 and "evil.toml: equations.x" in err
    assert not (tmp_path / "pwned").exists()


def test_check_reports_wrong_claims(capsys):
    code, out, _ = run(capsys, "systems", "check", "--folder", str(FIXTURES))
    assert code == 1
    fails = [line for line in out.splitlines() if line.startswith("FAIL")]
    assert len(fails) == len(list(FIXTURES.glob("*.toml")))
    assert "FAIL system 'wrong_symmetry': symmetry 'flip(x,z)' does not hold" in out
    code, out, _ = run(capsys, "systems", "check", "lorenz", "rigid_body")
    assert code == 0 and out.strip().endswith("all claims hold")


def test_console_script_runs():
    proc = subprocess.run(
        [sys.executable, "-m", "symsindy.cli", "systems", "show", "hopf", "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["symmetries"] == ["rotation(x,y)"]


@pytest.mark.parametrize(
    "name, flags", [("damped_oscillator", []), ("lorenz", ["--derivatives", "--trajectories", "2"])]
)
def test_simulated_csv_fits_back_to_the_true_equations(capsys, tmp_path, name, flags):
    # The same path 'symsindy fit' takes: read the CSV, fit SymmetricSINDy with the system's symmetry.
    import pysindy as ps

    from symsindy.model import SymmetricSINDy

    out_file = tmp_path / f"{name}.csv"
    code, _, _ = run(capsys, "systems", "simulate", name, "--out", str(out_file), "--seed", "0", *flags)
    assert code == 0
    data = read_csv(out_file)
    s = get_system(name)
    model = SymmetricSINDy(library=ps.PolynomialLibrary(degree=2), symmetry=s.symmetry_specs)
    model.fit(data.x, t=data.t, x_dot=data.x_dot, feature_names=data.variables)
    truth = s.true_coefficients(model.library_)
    np.testing.assert_allclose(model.coef_, truth, atol=1e-3 * np.max(np.abs(truth)))
