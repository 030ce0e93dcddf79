"""`symsindy systems simulate` output fits back with `symsindy fit`."""

import json

import numpy as np
import pytest

from symsindy.catalogue import get_system
from symsindy.cli import main

from conftest import polynomial_library


@pytest.mark.parametrize(
    "name, degree, threshold, spec, derivatives",
    [("lorenz", 2, 0.5, "flip(x,y)", False), ("damped_oscillator", 3, 0.05, "rotation(x,y)", True)],
)
def test_simulated_csv_fits_back(tmp_path, capsys, name, degree, threshold, spec, derivatives):
    csv = tmp_path / f"{name}.csv"
    args = ["systems", "simulate", name, "--out", str(csv), "--noise", "0.01", "--seed", "0"]
    assert main(args + (["--derivatives"] if derivatives else [])) == 0
    out = tmp_path / "model.json"
    assert (
        main(
            [
                "fit",
                str(csv),
                "--symmetry",
                spec,
                "--degree",
                str(degree),
                "--threshold",
                str(threshold),
                "--json",
                str(out),
            ]
        )
        == 0
    )
    d = json.loads(out.read_text())
    system = get_system(name)
    lib = polynomial_library(len(system.variables), degree)
    true = system.true_coefficients(lib)
    coef = np.array(d["coefficients"])
    assert np.array_equal(coef != 0, true != 0)
    assert np.abs(coef - true).max() < 0.05 * np.abs(true).max()
    assert d["symmetry"] == [spec]
