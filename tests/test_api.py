"""One estimator API: the same contract over every estimator (symsindy.base.SINDyMixin), one
validation of the data, ``random_state`` everywhere, everything the README shows importable."""

from __future__ import annotations

import io
import re
import warnings
from pathlib import Path

import numpy as np
import pysindy as ps
import pytest
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.metrics import mean_squared_error

import symsindy
from symsindy import (
    PromotedSINDy,
    SymmetricEnsemble,
    SymmetricSINDy,
    discover_symmetries,
    fit_with_discovered_symmetry,
    get_system,
    load_model,
)

ROOT = Path(__file__).resolve().parents[1]
NAMES = ["x", "y"]


def _library():
    return ps.PolynomialLibrary(degree=2)


ESTIMATORS = {
    "enforced": lambda: SymmetricSINDy(library=_library(), symmetry="rotation(x,y)"),
    "plain": lambda: SymmetricSINDy(library=_library()),
    "auto": lambda: SymmetricSINDy(library=_library(), symmetry="auto", discovery={"n_bootstrap": 3}),
    "promoted": lambda: PromotedSINDy(library=_library(), candidates="so"),
    "ensemble": lambda: SymmetricEnsemble(
        base=SymmetricSINDy(library=_library(), symmetry="rotation(x,y)"), n_models=5, random_state=0
    ),
}


@pytest.fixture(scope="module")
def data():
    """The damped oscillator x' = -0.1 x + 2 y, y' = -2 x - 0.1 y: four trajectories, exact derivatives."""
    sim = get_system("damped_oscillator").simulate(t_end=4.0, dt=0.02, n_trajectories=4, random_state=0)
    return sim


@pytest.fixture(scope="module")
def fitted(data):
    out = {}
    for key, make in ESTIMATORS.items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            out[key] = make().fit(data.x, x_dot=data.x_dot, feature_names=NAMES)
    return out


@pytest.mark.parametrize("key", ESTIMATORS)
def test_unfitted_estimators_refuse_to_predict(key):
    est = ESTIMATORS[key]()
    for call in (lambda: est.predict(np.zeros(2)), lambda: est.equations(), lambda: est.complexity()):
        with pytest.raises(NotFittedError):
            call()


@pytest.mark.parametrize("key", ESTIMATORS)
def test_fitted_model_contract(key, fitted, data):
    est = fitted[key]
    n, p = len(est.feature_names_), len(est.term_names_)
    assert est.feature_names_ == NAMES and est.coef_.shape == (n, p)
    X = np.vstack(data.x_clean)[::7]
    theta = np.asarray(est.library_.transform(X), float)
    # predict: the fitted right-hand side, one state or many
    np.testing.assert_allclose(est.predict(X), theta @ est.coef_.T, rtol=1e-10, atol=1e-12)
    assert est.predict(X[0]).shape == (n,)
    # the model is the damped oscillator
    np.testing.assert_allclose(est.predict(X), np.vstack(data.x_dot)[::7], atol=2e-3)
    # score: R^2 of derivatives, measured or estimated from the time series, and any metric
    assert est.score(data.x, x_dot=data.x_dot) > 0.999
    assert est.score(data.x, t=data.t) > 0.99
    assert est.score(data.x, x_dot=data.x_dot, metric=mean_squared_error) < 1e-5
    # equations, print, sympy, latex, complexity
    eqs = est.equations()
    assert len(eqs) == n and eqs[0].startswith("x' = ") and eqs[1].startswith("y' = ")
    buf = io.StringIO()
    est.print(file=buf)
    assert buf.getvalue().splitlines() == eqs
    exprs = est.sympy()
    assert set(exprs) == set(NAMES)
    point = dict(zip(NAMES, X[3]))
    values = [float(exprs[v].subs({symsindy.symbolic.sympy.Symbol(k): c for k, c in point.items()})) for v in NAMES]
    np.testing.assert_allclose(values, est.predict(X[3]), rtol=1e-9)
    assert r"\dot{x}" in est.latex() and r"\dot{y}" in est.latex()
    assert est.complexity() == np.count_nonzero(est.coef_) > 0
    # simulate
    traj = est.simulate(X[0], np.linspace(0, 1, 11))
    assert traj.shape == (11, n)
    np.testing.assert_allclose(traj[0], X[0])


@pytest.mark.parametrize("key", ESTIMATORS)
def test_save_and_load_model_round_trip(key, fitted, tmp_path, data):
    est = fitted[key]
    path = tmp_path / f"{key}.json"
    est.save(path)
    loaded = load_model(path)
    X = np.vstack(data.x)[::11]
    np.testing.assert_allclose(loaded.rhs(X), est.predict(X), rtol=1e-12, atol=1e-14)
    assert loaded.symmetry == list(est.symmetry_.specs)
    assert loaded.metadata["estimator"] == type(est).__name__


def test_save_keeps_each_estimator_s_own_keys(fitted, tmp_path):
    import json

    fitted["enforced"].save(tmp_path / "a.json")
    assert {"formulation", "threshold", "sparsity"} <= set(json.loads((tmp_path / "a.json").read_text()))
    fitted["promoted"].save(tmp_path / "b.json")
    promo = json.loads((tmp_path / "b.json").read_text())["promotion"]
    assert {"candidate_symmetries", "refit_check", "weight_selection"} <= set(promo)
    fitted["ensemble"].save(tmp_path / "c.json")
    ens = json.loads((tmp_path / "c.json").read_text())["ensemble"]
    assert ens["n_models"] == 5 and len(ens["orbits"]) == len(ens["orbit_inclusion_probability"])


@pytest.mark.parametrize("key", ESTIMATORS)
def test_sklearn_parameters_and_clone(key):
    est = ESTIMATORS[key]()
    params = est.get_params(deep=False)
    assert "random_state" in params
    twin = clone(est)
    assert type(twin) is type(est) and twin.get_params(deep=False).keys() == params.keys()


BAD_INPUT = [
    (
        lambda d: dict(
            x=[np.where(np.arange(d.x[0].size).reshape(d.x[0].shape) == 5, np.nan, d.x[0])], x_dot=d.x_dot[:1]
        ),
        "x: trajectory 0 has a non-finite value",
    ),
    (lambda d: dict(x=d.x, x_dot=d.x_dot, feature_names=["x", "y", "z"]), "feature_names: 3 names for 2 variables"),
    (lambda d: dict(x=d.x, x_dot=d.x_dot, feature_names=["x", "x"]), "the name 'x' is given twice"),
    (lambda d: dict(x=d.x), "t: sample times or a time step are needed"),
    (lambda d: dict(x=d.x, x_dot=[xd[:-1] for xd in d.x_dot]), "x_dot: shapes"),
    (lambda d: dict(x=d.x, t=-0.1), "t: time step -0.1 must be a positive number"),
    (lambda d: dict(x=[xi[:2] for xi in d.x], t=0.02), "at least 3 are needed to differentiate"),
]


@pytest.mark.parametrize("key", ESTIMATORS)
@pytest.mark.parametrize("bad, message", BAD_INPUT)
def test_every_estimator_validates_data_the_same_way(key, bad, message, data):
    kwargs = bad(data)
    kwargs.setdefault("feature_names", NAMES)
    with pytest.raises(ValueError, match=re.escape(message)):
        ESTIMATORS[key]().fit(**kwargs)


def test_random_state_reproduces_and_seed_is_the_deprecated_name(data):
    a = SymmetricSINDy(library=_library(), symmetry="auto", random_state=3).fit(data.x, t=data.t, feature_names=NAMES)
    b = SymmetricSINDy(library=_library(), symmetry="auto", random_state=3).fit(data.x, t=data.t, feature_names=NAMES)
    np.testing.assert_array_equal(a.coef_, b.coef_)
    assert a.discovery_.spec_frequency == b.discovery_.spec_frequency
    system = get_system("lorenz")
    one = system.simulate(t_end=1.0, n_trajectories=2, noise=0.1, random_state=5)
    with pytest.warns(DeprecationWarning, match="'seed' is deprecated"):
        two = system.simulate(t_end=1.0, n_trajectories=2, noise=0.1, seed=5)
    other = system.simulate(t_end=1.0, n_trajectories=2, noise=0.1, random_state=6)
    np.testing.assert_array_equal(one.x[1], two.x[1])
    assert not np.array_equal(one.x[1], other.x[1])
    with pytest.warns(DeprecationWarning):
        rep = discover_symmetries(
            data.x, x_dot=data.x_dot, feature_names=NAMES, library=_library(), seed=2, n_bootstrap=2
        )
    same = discover_symmetries(
        data.x, x_dot=data.x_dot, feature_names=NAMES, library=_library(), random_state=2, n_bootstrap=2
    )
    assert rep.spec_frequency == same.spec_frequency
    with pytest.raises(ValueError, match="random_state 'a'"):
        discover_symmetries(data.x, x_dot=data.x_dot, feature_names=NAMES, random_state="a")


def test_symmetry_auto_discovers_enforces_and_the_old_function_is_an_alias(data, fitted):
    est = fitted["auto"]
    assert "rotation(x,y)" in est.discovery_.specs
    assert est.enforced_specs_ == est.symmetry_.specs and "rotation(x,y)" in est.enforced_specs_
    assert est.equivariance_residual_ < 1e-10
    model, report, enforced = fit_with_discovered_symmetry(
        data.x, x_dot=data.x_dot, feature_names=NAMES, library=_library(), n_bootstrap=3
    )
    np.testing.assert_array_equal(model.coef_, est.coef_)
    assert enforced == est.enforced_specs_ and report.specs == est.discovery_.specs
    with pytest.raises(ValueError, match="discovery \\['n_bootstrap'\\]: expected a dict"):
        SymmetricSINDy(symmetry="auto", discovery=["n_bootstrap"]).fit(data.x, x_dot=data.x_dot)
    with pytest.raises(ValueError, match="discovery: unknown option 'bootstraps'"):
        SymmetricSINDy(symmetry="auto", discovery={"bootstraps": 3}).fit(data.x, x_dot=data.x_dot)


def test_ensemble_with_auto_base_discovers_once(data):
    ens = SymmetricEnsemble(base=SymmetricSINDy(library=_library(), symmetry="auto"), n_models=3, random_state=1)
    ens.fit(data.x, x_dot=data.x_dot, feature_names=NAMES)
    assert "rotation(x,y)" in ens.discovery_.specs
    assert all("rotation(x,y)" in m.symmetry_.specs for m in ens.members_)


def test_everything_the_readme_shows_is_importable_from_symsindy():
    import importlib

    text = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", text, flags=re.S)
    imported = {
        n.strip() for b in blocks for line in re.findall(r"from symsindy import ([^\n(]+)", b) for n in line.split(",")
    }
    assert {"SymmetricSINDy", "Symmetry", "pysindy_constraints"} <= imported
    named = set(re.findall(r"`([A-Za-z_][A-Za-z0-9_.]*)(?:\([^`]*\))?`", text))
    public = {}
    for mod in (
        "symmetry",
        "actions",
        "constraints",
        "optimizers",
        "weak",
        "model",
        "differentiation",
        "discover",
        "promote",
        "conservation",
        "invariants",
        "ensemble",
        "symbolic",
        "base",
        "catalogue",
    ):
        for name in getattr(importlib.import_module(f"symsindy.{mod}"), "__all__", []):
            public.setdefault(name, mod)
    shown = {n.split(".")[-1] for n in named} & set(public)
    missing = sorted((imported | shown) - set(dir(symsindy)))
    assert not missing, f"shown in the README but not importable from symsindy: {missing}"
    assert set(symsindy.__all__) <= set(dir(symsindy))
    for name in ("discover_symmetries", "conserved_quantities", "conserved_from_data", "noether_charge", "load_model"):
        assert name in symsindy.__all__
