"""Promoting a PDE's symmetry told only a candidate family."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest

from symsindy.pde import get_pde_system, promote_pde


@pytest.fixture(scope="module")
def cgl_noisy():
    system = get_pde_system("ginzburg_landau")
    return system, system.simulate(nx=64, nt=61, t_end=30.0, noise=0.03, random_state=4)


@pytest.fixture(scope="module")
def cgl_promoted(cgl_noisy):
    _, data = cgl_noisy
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return promote_pde(data, family="gl", degree=3)


def test_gl_promotion_finds_and_enforces_the_phase_rotation(cgl_noisy, cgl_promoted):
    system, _ = cgl_noisy
    model, promo = cgl_promoted, cgl_promoted.promotion_
    assert promo["specs"] == ["rotation(u,v)"] and model.symmetry_specs_ == ["rotation(u,v)"]
    assert model.equivariance_residual_ <= 1e-10
    assert np.array_equal(model.coef_ != 0, system.coefficients(model.terms_) != 0)
    assert len(promo["candidates"]) == 4 and promo["lam_ref"] > 0
    weights = [pt["weight"] for pt in promo["path"]]
    assert weights[0] == 0.0 and weights[-1] == 1.0 and weights == sorted(weights)
    # at the fully symmetric end gl(2) keeps more than the rotation, and the data veto says no
    end = promo["path"][-1]
    assert end["nullity"] > 1 and end["rejected"] and "rotation(u,v)" in end["accepted"]
    assert promo["weight"] == min(pt["weight"] for pt in promo["path"] if pt.get("accepted") == ["rotation(u,v)"])


def test_promotion_on_burgers_enforces_nothing():
    """Burgers has no continuous symmetry of its component: nothing the refit check accepts."""
    data = get_pde_system("burgers").simulate(nx=64, nt=61, t_end=1.2, noise=0.02, random_state=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = promote_pde(data, family="gl", weights=[0.0, 0.1, 1.0])
    assert model.promotion_["specs"] == [] and model.promotion_["weight"] is None
    assert model.symmetry_specs_ == []
    assert sorted(model.term_names_[k] for k in np.flatnonzero(model.coef_[0])) == ["u*u_x", "u_xx"]
    assert model.promotion_["path"][-1]["rejected"] == ["scaling(u=1)"]


def test_bad_input_is_named(cgl_noisy):
    _, data = cgl_noisy
    with pytest.raises(ValueError, match="family 'affine'"):
        promote_pde(data, family="affine")
    with pytest.raises(ValueError, match="do not give one"):
        promote_pde(data, symmetry="rotation(u,v)")
    with pytest.raises(ValueError, match="fractions of lam_ref"):
        promote_pde(data, weights=[0.5, 2.0])


def test_fit_pde_promote(cgl_noisy, tmp_path, capsys):
    from symsindy.cli import main

    _, data = cgl_noisy
    path = tmp_path / "cgl.npz"
    np.savez(path, t=data.t[0], x=data.grid["x"], u=data.u[0], names=np.array(data.names))
    out = tmp_path / "cgl.json"
    args = ["fit-pde", str(path), "--promote", "gl", "--degree", "3", "--json", str(out)]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "promotion: told gl; weight " in text and "symmetry: rotation(u,v) (promoted)" in text
    payload = json.loads(out.read_text())
    assert payload["symmetry"] == ["rotation(u,v)"] and payload["promotion"]["specs"] == ["rotation(u,v)"]
    assert main(["fit-pde", str(path), "--promote", "gl", "--symmetry", "flip(x)"]) != 0
    assert "--promote: promotion finds the symmetry" in capsys.readouterr().err
