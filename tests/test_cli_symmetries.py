import json

import numpy as np

from symsindy.cli import main

from conftest import catalogue_csv


def test_symmetries_on_lorenz_finds_flip(tmp_path, capsys):
    path = catalogue_csv(tmp_path, "lorenz")
    out = tmp_path / "sym.json"
    png = tmp_path / "spectrum.png"
    assert (
        main(
            [
                "symmetries",
                str(path),
                "--degree",
                "2",
                "--threshold",
                "0.5",
                "--bootstrap",
                "3",
                "--json",
                str(out),
                "--plot",
                str(png),
            ]
        )
        == 0
    )
    text = capsys.readouterr().out
    assert "found: flip(x,y)" in text
    d = json.loads(out.read_text())
    for key in ("variables", "continuous", "translations", "discrete", "singular_values", "specs"):
        assert key in d
    assert d["specs"] == ["flip(x,y)"] and d["continuous"] == [] and d["variables"] == ["x", "y", "z"]
    assert d["discrete"] == [np.diag([-1.0, -1.0, 1.0]).tolist()]
    assert png.stat().st_size > 10_000


def test_symmetries_damped_oscillator_rotation_with_so_candidates(tmp_path, capsys):
    path = catalogue_csv(tmp_path, "damped_oscillator", derivatives=True)
    out = tmp_path / "sym.json"
    assert main(["symmetries", str(path), "--candidates", "so", "--bootstrap", "0", "--json", str(out)]) == 0
    d = json.loads(out.read_text())
    assert "rotation(x,y)" in d["specs"]
    (A,) = d["continuous"]
    assert np.allclose(np.abs(A), [[0, 1], [1, 0]])


def test_symmetries_negative_control(tmp_path, capsys):
    path = catalogue_csv(tmp_path, "rossler", derivatives=True)
    out = tmp_path / "sym.json"
    assert (
        main(
            [
                "symmetries",
                str(path),
                "--degree",
                "2",
                "--threshold",
                "0.05",
                "--bootstrap",
                "0",
                "--candidates",
                "affine",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    d = json.loads(out.read_text())
    assert d["specs"] == [] and d["continuous"] == [] and d["discrete"] == []


def test_symmetries_bad_input(tmp_path, capsys):
    assert main(["symmetries", str(tmp_path / "missing.csv")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("symsindy symmetries: error:") and "\n" not in err


def test_symmetries_json_says_which_formulation(tmp_path):
    import json as _json

    from symsindy.cli import main as _main

    from pathlib import Path

    shipped = Path(__file__).resolve().parents[1] / "examples" / "data" / "damped_oscillator.csv"
    out = tmp_path / "s.json"
    assert (
        _main(
            [
                "symmetries",
                str(shipped),
                "--bootstrap",
                "0",
                "--formulation",
                "strong",
                "--threshold",
                "0.05",
                "--json",
                str(out),
            ]
        )
        == 0
    )
    d = _json.loads(out.read_text())
    assert d["formulation"] == "strong"
    assert d["fit"]["threshold"] == 0.05 and d["fit"]["sparsity"]["rule"] == "given"
