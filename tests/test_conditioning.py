"""Whether the data determine a model's coefficients: the scaled library's condition number on the
regression rows, the nearly dependent terms, and the warning when it is too large."""

from __future__ import annotations

import warnings

import numpy as np
import pysindy as ps
import pytest

from symsindy.catalogue import get_system
from symsindy.model import ILL_CONDITIONED, IllConditionedWarning, SymmetricSINDy, library_conditioning


def test_conditioning_of_independent_and_nearly_dependent_columns():
    rng = np.random.default_rng(0)
    q, _ = np.linalg.qr(rng.normal(size=(200, 4)))
    c = library_conditioning(q * [1.0, 10.0, 0.1, 3.0], ["a", "b", "c", "d"])
    assert c["condition_number"] == pytest.approx(1.0, abs=1e-9) and not c["ill_conditioned"]
    x = rng.normal(size=(500, 3))
    theta = np.column_stack([x, x[:, 0] + 2 * x[:, 1] + 1e-6 * rng.normal(size=500), np.zeros(500)])
    c = library_conditioning(theta, ["a", "b", "c", "a + 2b", "zero"])
    assert c["condition_number"] > 1e5 and c["ill_conditioned"] and c["cut"] == ILL_CONDITIONED
    assert set(c["nearly_dependent"]) == {"a", "b", "a + 2b"} and "c" not in c["nearly_dependent"]
    assert c["zero_columns"] == ["zero"]
    assert library_conditioning(np.zeros((5, 2)), ["a", "b"])["zero_columns"] == ["a", "b"]
    # exactly dependent columns: singular, recorded as such and as None in the fit's JSON
    dup = library_conditioning(np.column_stack([x[:, 0], x[:, 0]]), ["a", "a again"])
    assert dup["ill_conditioned"] and dup["condition_number"] > 1e12


def _phase_library():
    """Constant and linear terms, sin and cos of each difference of two of three phases."""
    custom = ps.CustomLibrary(
        library_functions=[lambda a, b: np.sin(a - b), lambda a, b: np.cos(a - b)],
        function_names=[lambda a, b: f"sin({a} - {b})", lambda a, b: f"cos({a} - {b})"],
    )
    return ps.GeneralizedLibrary([ps.PolynomialLibrary(degree=1), custom])


def test_locked_phases_warn_and_generic_ones_do_not():
    """Kuramoto's oscillators lock from the catalogue's initial phases: the data hold too little
    to determine the coupling, and the fit says so; from spread-out initial phases it does not."""
    s = get_system("kuramoto")
    names = list(s.variables)
    locked = s.simulate(noise=0.01, random_state=0, n_trajectories=4)
    with pytest.warns(IllConditionedWarning, match=r"nearly dependent on these data \(condition number"):
        model = SymmetricSINDy(library=_phase_library(), formulation="weak").fit(
            locked.x, t=locked.t, feature_names=names
        )
    c = model.fit_info()["conditioning"]
    assert c["ill_conditioned"] and c["condition_number"] > ILL_CONDITIONED
    assert any("theta" in t for t in c["nearly_dependent"])
    warning = [line for line in model.fit_summary() if line.startswith("warning: ")]
    assert len(warning) == 1 and "the coefficients are poorly determined" in warning[0]

    x0 = np.random.default_rng(0).uniform(0, 2 * np.pi, size=(4, 3))
    spread = s.simulate(noise=0.01, random_state=0, x0=x0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", IllConditionedWarning)
        model = SymmetricSINDy(library=_phase_library(), formulation="weak").fit(
            spread.x, t=spread.t, feature_names=names
        )
    c = model.fit_info()["conditioning"]
    assert c["condition_number"] < 1e3 and not c["ill_conditioned"]
    assert not any(line.startswith("warning: ") for line in model.fit_summary())


def test_a_well_posed_fit_records_its_conditioning_quietly():
    s = get_system("lorenz")
    sim = s.simulate(noise=0.01, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", IllConditionedWarning)
        model = SymmetricSINDy().fit(sim.x, t=sim.t)
    c = model.conditioning_
    assert 1 < c["condition_number"] < 1e3 and c["zero_columns"] == [] and len(c["nearly_dependent"]) >= 1


def test_symsindy_fit_says_it_once_in_its_output(tmp_path, capsys):
    from symsindy.cli import main

    s = get_system("kuramoto")
    sim = s.simulate(noise=0.01, random_state=0, n_trajectories=2)
    path = tmp_path / "locked.csv"
    sim.to_csv(path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert main(["fit", str(path), "--degree", "2"]) == 0
    out = capsys.readouterr().out
    assert out.count("warning: the library's columns are nearly dependent on these data") == 1
    assert not [w for w in caught if issubclass(w.category, IllConditionedWarning)]  # said once, in the output
