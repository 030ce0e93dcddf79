import json

import sympy as sp

from symsindy.catalogue import get_system
from symsindy.cli import main

from conftest import catalogue_csv, span_residual


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
    assert main(["noether", str(path), "--symmetry", "rotation(q1,q2)+rotation(p1,p2)", "--canonical", "q1:p1,q2:p2",
                 "--model-degree", "1", "--json", str(out)]) == 0
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
    assert main(["noether", str(path), "--symmetry", "rotation(x,y)", "--canonical", "x:y", "--model-degree", "1",
                 "--json", str(out)]) == 0
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
