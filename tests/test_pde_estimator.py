"""SymmetricPDESINDy as an estimator: print, LaTeX, simulate, save and load."""

from __future__ import annotations

import copy
import io
import json
import warnings

import numpy as np
import pytest

from symsindy.pde import SymmetricPDESINDy, get_pde_system, load_pde_model


@pytest.fixture(scope="module")
def burgers_fit():
    system = get_pde_system("burgers")
    data = system.simulate(nx=64, nt=61, t_end=1.2, random_state=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model = SymmetricPDESINDy(symmetry="flip(x)+flip(u)").fit(data)
    return system, data, model


def test_simulate_reproduces_the_fields_it_was_fitted_to(burgers_fit):
    _, data, model = burgers_fit
    assert sorted(model.term_names_[k] for k in np.flatnonzero(model.coef_[0])) == ["u*u_x", "u_xx"]
    t, u = data.t[0], data.u[0]
    out = model.simulate(u[0], t[:31])
    assert out.shape == (31,) + u.shape[1:]
    assert np.abs(out - u[:31]).max() <= 1e-3 * np.abs(u).max()
    # a model with a wrong coefficient drifts away from the data
    wrong = copy.deepcopy(model)
    wrong.coef_ = model.coef_ * np.where(np.array(model.term_names_) == "u_xx", 2.0, 1.0)
    drift = np.abs(wrong.simulate(u[0], t[:31]) - u[:31]).max()
    assert drift > 20 * np.abs(out - u[:31]).max()


def test_simulate_checks_its_input(burgers_fit):
    _, data, model = burgers_fit
    u0, t = data.u[0][0], data.t[0][:5]
    with pytest.raises(ValueError, match="u0: expected shape"):
        model.simulate(u0[:10], t)
    with pytest.raises(ValueError, match="evenly spaced"):
        model.simulate(u0, np.array([0.0, 0.1, 0.3]))
    with pytest.raises(ValueError, match="strictly increasing"):
        model.simulate(u0, np.array([0.0]))
    with pytest.raises(ValueError, match="max_step"):
        model.simulate(u0, t, max_step=-1.0)
    with pytest.raises(ValueError, match="NaN or inf"):
        model.simulate(np.full_like(u0, np.nan), t)


def test_print_and_latex(burgers_fit):
    _, _, model = burgers_fit
    buf = io.StringIO()
    model.print(file=buf)
    assert buf.getvalue().splitlines() == model.equations()
    tex = model.latex()
    assert tex.startswith("\\begin{aligned}") and tex.endswith("\\end{aligned}")
    assert "u_{t} &=" in tex and "u_{xx}" in tex and "u u_{x}" in tex


def test_save_and_load_round_trip(burgers_fit, tmp_path):
    _, data, model = burgers_fit
    path = tmp_path / "burgers.json"
    model.save(path)
    d = json.loads(path.read_text())
    assert d["kind"] == "pde" and d["symmetry"] == ["flip(x)+flip(u)"] and d["formulation"] == model.formulation_
    assert set(d["equations"]) == {"u"} and len(d["terms"]) == len(d["coefficients"][0])
    loaded = load_pde_model(path)
    assert loaded.equations() == model.equations()
    np.testing.assert_array_equal(loaded.coef_, model.coef_)
    np.testing.assert_allclose(loaded.predict(data)[0], model.predict(data)[0], rtol=0, atol=1e-12)
    t = data.t[0][:6]
    np.testing.assert_allclose(loaded.simulate(data.u[0][0], t), model.simulate(data.u[0][0], t), atol=1e-12)


def test_load_names_a_bad_file(tmp_path):
    missing = tmp_path / "missing.json"
    with pytest.raises(ValueError, match="cannot read a saved PDE model"):
        load_pde_model(missing)
    other = tmp_path / "ode.json"
    other.write_text(json.dumps({"variables": ["x"]}))
    with pytest.raises(ValueError, match="not a saved PDE model"):
        load_pde_model(other)


def _noisy(field, eta, seed):
    rng = np.random.default_rng(seed)
    runs = [u + eta * u.std(axis=tuple(range(u.ndim - 1))) * rng.normal(size=u.shape) for u in field.u]
    return type(field)(field.names, field.axes, field.grid, field.t, runs, field.source)


def test_automatic_threshold_on_very_noisy_kdv_keeps_only_the_true_terms():
    """KdV at 40% noise (weak form): the fields' default sparsity weight gives u_t = -6 u u_x - u_xxx,
    where the ODE default 0.1 keeps noise terms in the small PDE library."""
    system = get_pde_system("kdv")
    data = _noisy(system.simulate(random_state=4), 0.4, 4)
    kws = dict(degree=system.degree, derivative_order=system.derivative_order, formulation="weak", random_state=4)
    model = SymmetricPDESINDy(**kws).fit(data)
    assert model.sparsity_weight == 0.3
    assert sorted(model.term_names_[k] for k in np.flatnonzero(model.coef_[0])) == ["u*u_x", "u_xxx"]
    coef = dict(zip(model.term_names_, model.coef_[0]))
    assert abs(coef["u*u_x"] + 6) < 0.3 and abs(coef["u_xxx"] + 1) < 0.05
    loose = SymmetricPDESINDy(sparsity_weight=0.1, **kws).fit(data)
    assert np.count_nonzero(loose.coef_) > 2
    # every kept coefficient is at or above the chosen threshold
    assert np.all(np.abs(model.coef_[model.coef_ != 0]) >= model.threshold_)


@pytest.mark.parametrize("bad", [-0.1, float("nan"), "big", True])
def test_sparsity_weight_is_checked(burgers_fit, bad):
    _, data, _ = burgers_fit
    with pytest.raises(ValueError, match="sparsity_weight"):
        SymmetricPDESINDy(sparsity_weight=bad).fit(data)
