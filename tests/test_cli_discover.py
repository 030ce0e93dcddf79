"""Tests for the ``symsindy discover`` command: the main job end to end."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import numpy as np
import pytest
import sympy as sp
from PIL import Image

from symsindy.catalogue import get_system
from symsindy.cli import main
from symsindy.expressions import parse_expression

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = ROOT / "examples" / "data" / "damped_oscillator.csv"


def _png_is_a_picture(path: Path) -> None:
    """A real figure: decodes, has a sensible size and more than a couple of colours."""
    assert path.stat().st_size > 5000, path
    img = np.asarray(Image.open(path).convert("RGB"))
    assert img.shape[0] > 200 and img.shape[1] > 300, (path, img.shape)
    packed = (img[::3, ::3].astype(np.int64) * [65536, 256, 1]).sum(axis=2)
    colours = np.unique(packed)
    assert len(colours) > 20, (path, len(colours))
    # mostly background, but not blank
    assert 0.01 < np.mean(np.any(img < 200, axis=2)) < 0.9, path


@pytest.fixture(scope="module")
def lorenz_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("lorenz")
    import io
    from contextlib import redirect_stderr, redirect_stdout

    so, se = io.StringIO(), io.StringIO()
    with redirect_stdout(so), redirect_stderr(se):
        code = main(["discover", "lorenz", "--out", str(out)])
    return code, so.getvalue(), se.getvalue(), out


def test_lorenz_main_job(lorenz_run):
    code, out, err, folder = lorenz_run
    assert code == 0, err
    # the equations before and after enforcing, the symmetry found and enforced
    lines = out.splitlines()
    assert (
        sum(line.startswith("  x' = ") for line in lines) == 2
        and sum(line.startswith("  z' = ") for line in lines) == 2
    )
    assert sum(line.startswith("  true z' = ") for line in lines) == 1
    assert "flip(x,y)" in out and "[enforced]" in out
    assert "enforced: flip(x,y)" in out
    assert "declared symmetries: flip(x,y) found" in out
    # one progress line per step, with the elapsed time
    steps = [line for line in err.splitlines() if line.startswith("[")]
    assert [s[:5] for s in steps] == [f"[{k}/6]" for k in range(1, 7)]
    assert all(s.rstrip().endswith(" s)") for s in steps)


def test_lorenz_report_json(lorenz_run):
    _, _, _, folder = lorenz_run
    rep = json.loads((folder / "report.json").read_text())
    for key in (
        "equations",
        "symmetries",
        "enforced",
        "conserved",
        "noether",
        "truth",
        "errors",
        "warnings",
        "settings",
        "timings",
    ):
        assert key in rep, key
    assert "flip(x,y)" in rep["symmetries"]["found"]
    assert rep["enforced"] == ["flip(x,y)"] == rep["symmetries"]["enforced"]
    ev = {e["spec"]: e for e in rep["symmetries"]["evidence"]["specs"]}
    assert ev["flip(x,y)"]["kind"] == "discrete" and ev["flip(x,y)"]["bootstrap_frequency"] >= 0.5
    assert len(rep["symmetries"]["evidence"]["singular_values"]) == 9  # gl(3)
    # the enforced equations parse back and are close to Lorenz's
    system = get_system("lorenz")
    xs = dict(zip(system.variables, system.symbols))
    for v, true in zip(system.variables, system.rhs_list):
        fitted = parse_expression(rep["equations"]["enforced"][v], xs)
        diff = sp.Poly(sp.expand(fitted - true), *system.symbols)
        assert max(abs(float(c)) for c in diff.coeffs()) < 0.5, (v, fitted)
    assert rep["errors"]["enforced"]["relative_error"] < 0.03
    assert rep["errors"]["enforced"]["missed"] == 0 and rep["errors"]["enforced"]["spurious"] == 0
    assert rep["errors"]["symmetries"]["declared"] == {"flip(x,y)": True}
    # the threshold is chosen from the data, as for a file: never from the true coefficients
    assert rep["settings"]["threshold"] == "auto" and rep["settings"]["threshold_rule"] == "automatic"
    assert 0.01 < rep["settings"]["threshold_used"] < 1.0 and rep["settings"]["degree"] == 2
    assert rep["settings"]["formulation_used"] == "weak"
    assert rep["timings"]["total"] > 0


def test_lorenz_figures(lorenz_run):
    _, _, _, folder = lorenz_run
    rep = json.loads((folder / "report.json").read_text())
    for name in ("trajectories.png", "phase.png", "singular_values.png", "coefficients.png"):
        assert name in rep["figures"]
        _png_is_a_picture(folder / name)
    # Lorenz has no polynomial first integral, so there is no drift figure to draw
    assert "conserved.png" not in rep["figures"] and rep["conserved"] == []


def test_lorenz_under_a_minute(lorenz_run):
    _, _, _, folder = lorenz_run
    assert json.loads((folder / "report.json").read_text())["timings"]["total"] < 60


def test_shipped_file_finds_rotation(tmp_path, capsys):
    out = tmp_path / "damped"
    assert main(["discover", str(SHIPPED), "--out", str(out), "--quiet"]) == 0
    text = capsys.readouterr().out
    rep = json.loads((out / "report.json").read_text())
    assert "rotation(x,y)" in rep["symmetries"]["found"] and "rotation(x,y)" in rep["enforced"]
    assert rep["truth"] is None and rep["errors"] is None
    assert rep["settings"]["threshold_rule"] == "automatic"
    assert rep["settings"]["formulation_used"] == "strong"  # the file has measured derivatives
    # damped: nothing conserved, and with no structure no charges
    assert rep["conserved"] == [] and rep["noether"]["structure"] is None
    assert "--canonical" in text
    for name in rep["figures"]:
        _png_is_a_picture(out / name)


def test_canonical_pairs_flag_dissipation(tmp_path, capsys):
    out = tmp_path / "damped"
    assert main(["discover", str(SHIPPED), "--out", str(out), "--canonical", "x:y", "--quiet", "--bootstrap", "0"]) == 0
    rep = json.loads((out / "report.json").read_text())
    charges = {c["symmetry"]: c for c in rep["noether"]["charges"]}
    assert charges["rotation(x,y)"]["charge"] is not None
    # the rotation's charge is the energy, which the damping dissipates
    assert charges["rotation(x,y)"]["conserved"] is False
    assert any("rotation(x,y)" in f and "not conserved" in f for f in rep["noether"]["flags"])


def test_hamiltonian_noether_charge_checked(tmp_path, capsys):
    out = tmp_path / "ho"
    assert main(["discover", "harmonic_oscillator", "--out", str(out), "--samples", "600", "--quiet"]) == 0
    text = capsys.readouterr().out
    rep = json.loads((out / "report.json").read_text())
    assert "rotation(q,p)" in rep["enforced"]
    assert rep["noether"]["structure"]["kind"] == "canonical"
    charges = {c["symmetry"]: c for c in rep["noether"]["charges"]}
    q, p = sp.symbols("q p")
    charge = parse_expression(charges["rotation(q,p)"]["charge"], {"q": q, "p": p})
    assert sp.simplify(charge / (q**2 + p**2)).is_constant()
    assert charges["rotation(q,p)"]["conserved"] is True
    # the conserved quantity found is that charge, and it is the declared energy
    assert any("rotation(q,p)" in c["noether"] and c["conserved"] for c in rep["conserved"])
    assert rep["errors"]["conserved"]["declared"] == {"energy": True}
    assert "Noether charge of rotation(q,p)" in text
    assert "conserved.png" in rep["figures"]
    _png_is_a_picture(out / "conserved.png")


def test_settings_command_reruns_the_same_report(tmp_path):
    first = tmp_path / "a"
    assert (
        main(
            [
                "discover",
                "harmonic_oscillator",
                "--out",
                str(first),
                "--samples",
                "200",
                "--noise",
                "0.02",
                "--trajectories",
                "2",
                "--bootstrap",
                "0",
                "--seed",
                "3",
                "--quiet",
            ]
        )
        == 0
    )
    rep = json.loads((first / "report.json").read_text())
    words = shlex.split(rep["settings"]["command"])
    assert words[:2] == ["symsindy", "discover"]
    second = tmp_path / "b"
    assert main(words[1:] + ["--out", str(second), "--quiet"]) == 0
    again = json.loads((second / "report.json").read_text())
    assert again["equations"] == rep["equations"]
    rules = ("degree_rule", "threshold_rule")
    assert {k: v for k, v in again["settings"].items() if k not in rules} == {
        k: v for k, v in rep["settings"].items() if k not in rules
    }
    assert again["settings"]["threshold_rule"] == rep["settings"]["threshold_rule"] == "automatic"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["lorenzz"], "unknown system 'lorenzz'; did you mean 'lorenz'"),
        (["no_such_system_here"], "'symsindy systems list'"),
        (["missing.csv"], "data file 'missing.csv' does not exist"),
        (["lorenz", "--samples", "3"], "samples 3: expected an integer >= 10"),
        (["lorenz", "--canonical", "x:w"], "unknown variable 'w'"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(argv, message, capsys, tmp_path):
    assert main(["discover", *argv, "--out", str(tmp_path / "o"), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err


def test_out_must_be_a_folder(tmp_path, capsys):
    f = tmp_path / "file.txt"
    f.write_text("x")
    assert main(["discover", "harmonic_oscillator", "--out", str(f), "--quiet"]) == 2
    assert "is a file; expected a folder" in capsys.readouterr().err


def test_simulation_options_are_ignored_for_files_with_a_warning(tmp_path, capsys):
    assert (
        main(["discover", str(SHIPPED), "--out", str(tmp_path / "o"), "--noise", "0.5", "--bootstrap", "0", "--quiet"])
        == 0
    )
    assert "warning: noise applies to simulated catalogue systems only" in capsys.readouterr().out
