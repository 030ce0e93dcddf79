import json

import numpy as np
import pysindy as ps
import pytest
from sklearn.base import clone

from symsindy.commands._promote import parse_promote_weight, promote_from_args
from symsindy.discover import discover_continuous
from symsindy.promote import (
    PromotedSINDy,
    PromotionError,
    PromotionProblem,
    PromotionWarning,
    _relative_spectrum,
    solve_cvxpy,
    solve_fast,
)

NAMES = ["x", "y"]
OSC = np.array([[-0.1, 2.0], [-2.0, -0.1]])


def _oscillator(n=300, noise=0.02, seed=0, breaking=0.0):
    """States drawn at random, measured derivatives of the damped oscillator.

    ``breaking`` adds ``breaking * x^2`` to y': a term no rotation-equivariant model has.
    """
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 2))
    D = X @ OSC.T
    D[:, 1] += breaking * X[:, 0] ** 2
    return X, D + noise * rng.normal(size=D.shape)


def _coef(est, var, term):
    return est.coef_[NAMES.index(var), est.term_names_.index(term)]


def _cubic():
    return ps.PolynomialLibrary(degree=3)


@pytest.fixture(scope="module")
def oscillator():
    return _oscillator()


@pytest.fixture(scope="module")
def promoted_so(oscillator):
    X, D = oscillator
    return PromotedSINDy(library=_cubic(), candidates="so").fit(X, x_dot=D, feature_names=NAMES)


# ------------------------------------------------------------------------------ solvers


@pytest.mark.parametrize("family", ["so", "gl", "affine"])
@pytest.mark.parametrize("weight,l1", [(0.01, 0.0), (0.2, 0.0), (0.05, 1e-3)])
def test_fast_solver_agrees_with_cvxpy(oscillator, family, weight, l1):
    X, D = oscillator
    est = PromotedSINDy(library=_cubic(), candidates=family, weight=0.0).fit(X, x_dot=D, feature_names=NAMES)
    prob = est._setup_.problem()
    lam = weight * est.lam_ref_
    x_fast, info = solve_fast(prob, lam, l1)
    x_ref, ref = solve_cvxpy(prob, lam, l1, solver="SCS")
    assert info["converged"] and ref["converged"]
    assert np.linalg.norm(x_fast - x_ref) <= 1e-6 * np.linalg.norm(x_ref)
    # and the objective is no worse than the reference's
    f_ref = prob.objective(x_ref, lam, l1)
    assert prob.objective(x_fast, lam, l1) <= f_ref + 1e-7 * (1 + abs(f_ref))


def test_fast_solver_agrees_with_clarabel_on_a_random_problem():
    rng = np.random.default_rng(1)
    N, M, q = 12, 12, 3
    A = rng.normal(size=(40, N))
    prob = PromotionProblem(A.T @ A / 40, rng.normal(size=N), rng.normal(size=(M * q, N)) / 5, (M, q))
    for lam, mu in [(0.05, 0.0), (0.3, 0.02)]:
        x_fast, info = solve_fast(prob, lam, mu)
        x_ref, ref = solve_cvxpy(prob, lam, mu, solver="CLARABEL")
        assert info["converged"] and ref["converged"]
        assert np.linalg.norm(x_fast - x_ref) <= 1e-6 * np.linalg.norm(x_ref)


def test_weight_one_is_the_fully_symmetric_least_squares_fit(oscillator):
    X, D = oscillator
    est = PromotedSINDy(library=_cubic(), candidates="gl", weight=0.0).fit(X, x_dot=D, feature_names=NAMES)
    prob = est._setup_.problem()
    lam_ref, x0 = prob.symmetric_solution()
    x, info = solve_fast(prob, lam_ref, 0.0)
    assert info["converged"]
    assert np.linalg.norm(x - x0) <= 1e-6 * np.linalg.norm(x0)
    # gl-equivariant models are multiples of the identity: f = c x, c near the damping -0.1
    full = est._setup_.coef(x0)
    assert np.count_nonzero(np.abs(full) > 1e-9) == 2
    assert np.isclose(full[0, 1], full[1, 2]) and -0.2 < full[0, 1] < 0.0


def test_lie_operator_matches_discovery(oscillator):
    """The penalty's matrix has the singular values discovery reports for the same model."""
    X, D = oscillator
    est = PromotedSINDy(library=_cubic(), candidates="gl", weight=0.05).fit(X, x_dot=D, feature_names=NAMES)
    setup = est._setup_
    xt = (est.promoted_coef_ * setup.colscale[None, :] / setup.yscale).ravel()
    s_rel, _ = _relative_spectrum(setup.T1, setup.T2, setup.T, xt)
    disc = discover_continuous(est.promoted_coef_, est.library_, NAMES, "gl", x_samples=X)
    np.testing.assert_allclose(s_rel, disc.singular_values, atol=1e-9)


# ------------------------------------------------------------------------------ the estimator


def test_symmetric_system_reports_rotation_and_refit_is_exact(promoted_so):
    est = promoted_so
    assert est.symmetry_specs_ == ["rotation(x,y)"]
    assert est.symmetry_summary() == "rotation(x,y)"
    assert list(est.symmetry_.specs) == ["rotation(x,y)"]
    assert est.equivariance_residual_ <= 1e-10
    # the exact support, debiased: coefficients close to the truth, not shrunk
    assert est.complexity() == 4
    np.testing.assert_allclose([_coef(est, "x", "x"), _coef(est, "x", "y")], [-0.1, 2.0], atol=0.01)
    np.testing.assert_allclose([_coef(est, "y", "x"), _coef(est, "y", "y")], [-2.0, -0.1], atol=0.01)
    assert est.solver_info_["n_fallbacks"] == 0
    assert any(e["chosen"] for e in est.weight_path_)


def test_gl_candidates_find_rotation_and_linearity(oscillator):
    X, D = oscillator
    est = PromotedSINDy(library=_cubic(), candidates="gl").fit(X, x_dot=D, feature_names=NAMES)
    assert "rotation(x,y)" in est.symmetry_specs_
    assert "scaling(x=1,y=1)" in est.symmetry_specs_  # homogeneous of degree 1: a linear model
    assert est.equivariance_residual_ <= 1e-10
    assert est.complexity() == 4


def test_promotion_does_not_just_shrink(oscillator):
    """A moderate weight makes the promoted model exactly symmetric without pulling it to zero;
    the refit removes what shrinkage there is."""
    X, D = oscillator
    est = PromotedSINDy(library=_cubic(), candidates="gl", weight=0.05).fit(X, x_dot=D, feature_names=NAMES)
    assert "rotation(x,y)" in est.symmetry_specs_
    np.testing.assert_allclose(est.promoted_coef_[:, 1:3], OSC, rtol=0.1, atol=0.01)
    np.testing.assert_allclose(est.coef_[:, 1:3], OSC, atol=0.01)
    # the adaptive weights leave the clearly broken shears almost unpenalised
    w = np.sort(est.direction_weights_)
    assert w[-1] == 1.0 and w[0] < 0.05


def test_broken_symmetry_keeps_the_breaking_term():
    X, D = _oscillator(breaking=0.5, seed=2)
    for family in ("so", "gl"):
        est = PromotedSINDy(library=_cubic(), candidates=family).fit(X, x_dot=D, feature_names=NAMES)
        assert not any(s.startswith("rotation") for s in est.symmetry_specs_), family
        assert abs(_coef(est, "y", "x^2") - 0.5) < 0.02, family
        assert abs(_coef(est, "x", "y") - 2.0) < 0.02, family


def test_fit_from_times_differentiates():
    from scipy.integrate import solve_ivp

    t = np.arange(0.0, 20.0, 0.01)
    x = solve_ivp(lambda _, s: OSC @ s, (0, 20), [2.0, 0.0], t_eval=t, rtol=1e-10, atol=1e-12).y.T
    est = PromotedSINDy(library=_cubic(), candidates="so").fit(x, t=0.01, feature_names=NAMES)
    assert est.symmetry_specs_ == ["rotation(x,y)"]
    np.testing.assert_allclose(est.coef_[:, 1:3], OSC, atol=1e-3)
    with pytest.raises(ValueError, match="t: sample times or a time step are needed"):
        PromotedSINDy().fit(x)


def test_weight_selection_is_reproducible_with_a_seed():
    X, D = _oscillator(n=60, noise=0.05, seed=4)
    kw = dict(library=_cubic(), candidates="gl", weight_grid=[0.0, 0.01, 0.1, 0.5, 1.0], selection="cv")
    a = PromotedSINDy(random_state=3, **kw).fit(X, x_dot=D, feature_names=NAMES)
    b = PromotedSINDy(random_state=3, **kw).fit(X, x_dot=D, feature_names=NAMES)
    c = PromotedSINDy(random_state=4, **kw).fit(X, x_dot=D, feature_names=NAMES)
    assert a.weight_ == b.weight_
    assert [e["fold_errors"] for e in a.weight_path_] == [e["fold_errors"] for e in b.weight_path_]
    np.testing.assert_array_equal(a.coef_, b.coef_)
    # another seed gives other folds
    assert [e["fold_errors"] for e in a.weight_path_] != [e["fold_errors"] for e in c.weight_path_]


def test_user_generators_are_orthonormalised(oscillator):
    X, D = oscillator
    J = np.array([[0.0, -3.0], [3.0, 0.0]])  # not normalised
    a = PromotedSINDy(library=_cubic(), candidates=[(J, None)], weight=0.3).fit(X, x_dot=D, feature_names=NAMES)
    b = PromotedSINDy(library=_cubic(), candidates="so", weight=0.3).fit(X, x_dot=D, feature_names=NAMES)
    np.testing.assert_allclose(a.promoted_coef_, b.promoted_coef_, rtol=1e-6, atol=1e-9)
    # one candidate direction: the penalty is a group lasso, all or nothing at weight 1
    assert a.symmetry_specs_ == []
    a.set_params(weight=1.0).fit(X, x_dot=D, feature_names=NAMES)
    assert a.symmetry_specs_ == ["rotation(x,y)"]


def test_refit_false_returns_thresholded_promoted_model(oscillator):
    X, D = oscillator
    with pytest.raises(ValueError, match="threshold 'auto' needs refit=True"):
        PromotedSINDy(library=_cubic(), weight=0.05, refit=False).fit(X, x_dot=D, feature_names=NAMES)
    est = PromotedSINDy(library=_cubic(), candidates="gl", weight=0.05, threshold=0.05, refit=False).fit(
        X, x_dot=D, feature_names=NAMES
    )
    assert est.model_ is None
    promoted = est.promoted_coef_
    np.testing.assert_array_equal(est.coef_, np.where(np.abs(promoted) < est.threshold, 0.0, promoted))
    assert "rotation(x,y)" in est.symmetry_specs_
    assert est.equivariance_residual_ > 0  # shrunk, thresholded and not refitted: close, not exact


# ------------------------------------------------------------------------------ failures


def test_non_convergence_falls_back_and_is_reported(oscillator):
    X, D = oscillator
    est = PromotedSINDy(library=_cubic(), candidates="gl", weight=0.05, max_iter=1)
    with pytest.warns(
        PromotionWarning,
        match=r"fast: not converged in 1 iterations \(relative residual \d\.\de[+-]\d+\); used cvxpy:CLARABEL",
    ):
        est.fit(X, x_dot=D, feature_names=NAMES)
    info = est.solver_info_
    assert info["fallback"] == "cvxpy:CLARABEL" and info["solver"] == "cvxpy:CLARABEL"
    assert info["n_fallbacks"] == 1 and info["converged"]
    assert np.any(est.coef_) and "rotation(x,y)" in est.symmetry_specs_


def test_bogus_cvxpy_solver_falls_back_to_fast(oscillator):
    X, D = oscillator
    est = PromotedSINDy(library=_cubic(), candidates="so", weight=0.3, solver="cvxpy", cvxpy_solver="NOPE")
    with pytest.warns(PromotionWarning, match="cvxpy solver 'NOPE': not installed"):
        est.fit(X, x_dot=D, feature_names=NAMES)
    assert est.solver_info_["fallback"] == "fast"
    assert np.any(est.coef_)


def test_every_route_failing_raises_one_line(oscillator):
    X, D = oscillator
    est = PromotedSINDy(library=_cubic(), candidates="so", weight=0.3, max_iter=1, cvxpy_solver="NOPE")
    with pytest.raises(PromotionError) as err:
        est.fit(X, x_dot=D, feature_names=NAMES)
    msg = str(err.value)
    assert "\n" not in msg and "every solver failed" in msg and "fast: not converged" in msg


def test_zero_model_is_never_returned_silently(oscillator):
    X, D = oscillator
    with pytest.raises(PromotionError, match="zero model"):
        PromotedSINDy(library=_cubic(), candidates="so", weight=0.0, threshold=100.0).fit(
            X, x_dot=D, feature_names=NAMES
        )


@pytest.mark.parametrize(
    "kwargs,fragment",
    [
        ({"weight": "big"}, "weight 'big': expected a number >= 0 or 'auto'"),
        ({"weight": -1.0}, "weight -1.0: expected a finite number >= 0"),
        ({"candidates": "su2"}, "candidates 'su2': expected one of gl, so, affine, sl"),
        ({"solver": "admm"}, "solver 'admm': expected 'fast' or 'cvxpy'"),
        ({"n_folds": 1}, "n_folds 1: expected an integer >= 2"),
        ({"weight_grid": [0.1, -1]}, "weight_grid"),
        ({"candidates": [(np.eye(3), None)]}, "candidates[0]: A has shape (3, 3)"),
    ],
)
def test_bad_parameters_are_named(oscillator, kwargs, fragment):
    X, D = oscillator
    with pytest.raises(ValueError) as err:
        PromotedSINDy(library=_cubic(), **kwargs).fit(X, x_dot=D, feature_names=NAMES)
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_sklearn_conventions(promoted_so):
    est = PromotedSINDy(candidates="so", weight=0.2, l1=1e-3)
    assert est.get_params()["weight"] == 0.2
    c = clone(est)
    assert c.get_params() == est.get_params() and not hasattr(c, "coef_")
    assert promoted_so.predict(np.array([1.0, 0.0])).shape == (2,)


# ------------------------------------------------------------------------------ command line


def test_promote_from_args(tmp_path):
    from symsindy.io import read_data

    from pathlib import Path

    data = read_data(Path(__file__).resolve().parents[1] / "examples" / "data" / "damped_oscillator.csv")
    out = tmp_path / "model.json"
    est, lines = promote_from_args(data, 3, 0.05, "so", "auto", json_out=out)
    assert lines[0].startswith("x' = ") and lines[1].startswith("y' = ")
    assert "promoted symmetry: rotation(x,y) (so candidates)" in lines
    assert any(line.startswith("promotion weight: ") and "leave-one-out" in line for line in lines)
    assert any(line.startswith("refit check: ") and "(passed)" in line for line in lines)
    assert "threshold: 0.05 (given)" in lines
    saved = json.loads(out.read_text())
    assert saved["symmetry"] == ["rotation(x,y)"] and saved["variables"] == ["x", "y"]
    assert np.allclose(saved["coefficients"], est.coef_)
    with pytest.raises(ValueError, match="--promote 'su2'"):
        promote_from_args(data, 3, 0.05, "su2", "auto")


def test_the_command_line_helpers_moved_to_commands_keep_their_old_path():
    import symsindy.promote as promote

    for name, moved in (("parse_promote_weight", parse_promote_weight), ("promote_from_args", promote_from_args)):
        with pytest.warns(DeprecationWarning, match=f"symsindy.promote.{name} moved to symsindy.commands._promote"):
            assert getattr(promote, name) is moved
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        promote.nothing  # noqa: B018


def test_parse_promote_weight():
    import argparse

    assert parse_promote_weight("auto") == "auto"
    assert parse_promote_weight("0.25") == 0.25
    for bad in ("-1", "nan", "x"):
        with pytest.raises(argparse.ArgumentTypeError):
            parse_promote_weight(bad)


def _hopf_samples(seed, n=256, noise=0.01):
    from symsindy.catalogue import get_system

    system = get_system("hopf")
    sim = system.simulate(t_end=8, dt=0.01, x0=np.array([(0.1, 0.0), (2.0, 0.0), (0.0, 0.5), (-1.5, 0.3)]))
    X = np.asarray(sim.x).reshape(-1, 2)
    rng = np.random.default_rng(seed)
    Xs = X[rng.choice(len(X), n, replace=False)]
    D = system.rhs_function()(Xs)
    return Xs + noise * X.std(0) * rng.normal(size=Xs.shape), D + noise * D.std(0) * rng.normal(size=D.shape)


@pytest.mark.parametrize("seed", [0, 2, 3, 6, 9, 10])
def test_gl_promotion_keeps_the_hopf_cubic_terms(seed):
    """Hopf normal form told only gl(2): a dilation would wipe out the cubic terms; on these
    seeds the fit on all the data has revealed one at the cross-validated weight."""
    X, D = _hopf_samples(seed)
    est = PromotedSINDy(library=_cubic(), candidates="gl", threshold=0.05, selection="cv", random_state=0).fit(
        X, x_dot=D
    )
    assert est.symmetry_specs_ == ["rotation(x0,x1)"]
    assert np.count_nonzero(est.coef_) == 8  # x, y and two cubic terms per equation
    chosen = [e for e in est.weight_path_ if e["chosen"]]
    assert len(chosen) == 1 and chosen[0]["weight"] == est.weight_ and chosen[0]["final_check"]["accepted"]


def _fit_forcing_dilation(monkeypatch, times):
    """Fit gl(2) promotion on Hopf data while the fit on all the data is made to reveal
    rotation + dilation the first ``times`` times it is analysed (after the cross-validation)."""
    import symsindy.promote._estimator as promote  # where _enforceable is called

    X, D = _hopf_samples(0)
    real = promote._enforceable
    state = {"final": False, "forced": 0}

    class Forced(PromotedSINDy):
        def _select_weight(self, setup):
            out = super()._select_weight(setup)
            state["final"] = True
            return out

    def enforceable(names, disc):
        if state["final"] and state["forced"] < times:
            state["forced"] += 1
            sym = promote.Symmetry(names, "rotation(x0,x1); scaling(x0=1,x1=1)")
            return sym, sym
        return real(names, disc)

    monkeypatch.setattr(promote, "_enforceable", enforceable)
    est = Forced(library=_cubic(), candidates="gl", threshold=0.05, selection="cv", random_state=0).fit(X, x_dot=D)
    return est, state["forced"]


def test_a_symmetry_the_folds_reject_is_not_enforced(monkeypatch):
    """Force the fit on all the data to reveal rotation + dilation: the check on the folds refuses
    it and the next smaller accepted weight is used."""
    est, forced = _fit_forcing_dilation(monkeypatch, times=1)
    assert forced == 1
    checked = [e for e in est.weight_path_ if "final_check" in e]
    assert len(checked) == 2
    refused, accepted = checked[1], checked[0]  # tried from the larger weight down
    assert not refused["final_check"]["accepted"] and "scaling" in refused["final_check"]["specs"]
    assert accepted["final_check"]["accepted"] and accepted["chosen"] and est.weight_ == accepted["weight"]
    assert refused["final_check"]["cv_error"] > 100 * accepted["final_check"]["cv_error"]
    assert est.symmetry_.specs == ["rotation(x0,x1)"] and np.count_nonzero(est.coef_) == 8


def test_fast_solver_with_l1_returns_the_rank_it_found():
    """With l1 the l1 block's scale beta adapts and can get small; the returned solution must
    still show the rank the nuclear norm reached (the discovery reads it at 1e-6), not carry the
    l1 block's residual divided by beta."""
    from symsindy.catalogue import get_system

    system = get_system("aizawa", f=0.0)  # Langford's system: rotation about z
    sim = system.simulate(t_end=100, dt=0.01, x0=np.array([[0.1, 0.0, 0.0]]))
    X = np.asarray(sim.x).reshape(-1, 3)[5000:]
    rng = np.random.default_rng(0)
    X = X[rng.choice(len(X), 1000, replace=False)]
    D = system.rhs_function()(X)
    X = X + 0.01 * X.std(0) * rng.normal(size=X.shape)
    D = D + 0.01 * D.std(0) * rng.normal(size=D.shape)
    est = PromotedSINDy(library=_cubic(), candidates="so", weight=0.0).fit(X, x_dot=D)
    prob, lam = est.problem_, 0.05 * est.lam_ref_
    x_fast, info = solve_fast(prob, lam, 1e-3)
    assert info["converged"] and info["state"]["beta"] < 0.05
    s = np.linalg.svd(prob.lie_matrix(x_fast), compute_uv=False)
    assert s[-1] < 1e-7 * s[0]
    x_ref, ref = solve_cvxpy(prob, lam, 1e-3, solver="SCS")
    assert ref["converged"] and np.linalg.norm(x_fast - x_ref) <= 1e-6 * np.linalg.norm(x_ref)


def test_when_every_accepted_weight_reveals_a_refused_symmetry_nothing_is_enforced(monkeypatch):
    with pytest.warns(PromotionWarning, match="nothing is enforced"):
        est, _ = _fit_forcing_dilation(monkeypatch, times=10**6)
    checks = [e["final_check"] for e in est.weight_path_ if "final_check" in e]
    assert checks and not any(c["accepted"] for c in checks)
    assert est.symmetry_.is_trivial and np.count_nonzero(est.coef_) == 8


# ------------------------------------------------------------------------------ scarce data


def _short_trajectories(entry, start, seed, n_traj, n_samples, dt, noise):
    """Short trajectories of a catalogue system from ``start(rng)``, measured derivatives, noise
    ``noise`` x each variable's std: ``(X, D, variables)``."""
    from scipy.integrate import solve_ivp

    f = entry.rhs_function()
    rng = np.random.default_rng(seed)
    xs = []
    for _ in range(n_traj):
        x0 = start(rng)
        t = np.arange(n_samples) * dt
        sol = solve_ivp(lambda _, s: f(s[None])[0], (0, t[-1]), x0, t_eval=t, rtol=1e-10, atol=1e-10)
        xs.append(sol.y.T)
    X = np.vstack(xs)
    D = f(X)
    X = X + noise * X.std(0) * rng.standard_normal(X.shape)
    D = D + noise * D.std(0) * rng.standard_normal(D.shape)
    return X, D, list(entry.variables)


def _langford_short_trajectories(seed, n_traj=3, n_samples=6, dt=0.1, noise=0.01):
    """Langford's system (aizawa, f = 0; rotation about z): short trajectories from perturbed
    starts, measured derivatives, noise ``noise`` x each variable's std."""
    from symsindy.catalogue import get_system

    entry = get_system("aizawa", f=0.0)
    x0 = np.asarray(entry.x0, float)
    return _short_trajectories(entry, lambda rng: x0 + 0.5 * rng.standard_normal(3), seed, n_traj, n_samples, dt, noise)


@pytest.mark.parametrize("seed", [0, 1])
def test_scarce_data_gl_promotion_does_not_collapse_the_model(seed):
    """18 samples (3 trajectories of 6) of a 3-D system symmetric about z, cubic library, told
    only gl(3): k-fold cross-validation enforced all of gl(3) and returned x' = c x, y' = c y,
    z' = c z; the leave-one-out choice finds the rotation and keeps the dynamics."""
    X, D, names = _langford_short_trajectories(seed)
    lib = _cubic()
    old = PromotedSINDy(library=lib, candidates="gl", selection="cv", threshold=0.05, alpha=0.05).fit(
        X, x_dot=D, feature_names=names
    )
    assert np.count_nonzero(old.coef_) == 3 and "scaling(x=1)" in old.symmetry_.specs  # the collapse
    est = PromotedSINDy(library=lib, candidates="gl").fit(X, x_dot=D, feature_names=names)
    assert est.symmetry_.specs == ["rotation(x,y)"]
    assert est.weight_selection() == "leave-one-out" and est.weight_ < 1
    terms = est.term_names_
    for var, term in [("x", "y"), ("x", "x z"), ("y", "x"), ("y", "y z"), ("z", "1"), ("z", "x^2"), ("z", "y^2")]:
        assert est.coef_[names.index(var), terms.index(term)] != 0, (var, term)
    assert np.count_nonzero(est.coef_) >= 10
    assert est.equivariance_residual_ < 1e-10
    chosen = [c for c in est.candidates_ if c["chosen"]]
    assert len(chosen) == 1 and chosen[0]["symmetry"] == ["rotation(x,y)"]
    # the collapsed model is among the candidates and loses on leave-one-out error
    full = [c for c in est.candidates_ if c["n_terms"] == 3]
    assert full and all(c["loo_error"] > 100 * chosen[0]["loo_error"] for c in full)
    # 54 equations for the 60 unconstrained coefficients: the refit check cannot test it
    assert est.refit_check_["testable"] is False and est.refit_check_["passed"] is None


def test_returned_promoted_model_keeps_no_coefficient_below_its_threshold():
    X, D, names = _langford_short_trajectories(0, n_traj=4)
    est = PromotedSINDy(library=_cubic(), candidates="gl").fit(X, x_dot=D, feature_names=names)
    kept = np.abs(est.coef_[est.coef_ != 0])
    assert kept.size and kept.min() >= est.threshold_ > 0


def test_the_data_veto_refuses_a_symmetry_the_refit_check_rejects(oscillator):
    """Weight 1 makes the promoted model fully symmetric; with a rotation-breaking x^2 term the
    refit check rejects the rotation, so nothing is enforced and the term stays."""
    X, D = _oscillator(n=200, breaking=0.5)
    with pytest.warns(PromotionWarning, match="the data reject the promoted symmetry"):
        est = PromotedSINDy(library=_cubic(), candidates="so", weight=1.0).fit(X, x_dot=D, feature_names=NAMES)
    assert est.symmetry_.is_trivial
    assert est.refit_check_["testable"] and est.refit_check_["passed"] is False
    assert est.refit_check_["cost"] > est.refit_check_["allowed"]
    assert abs(_coef(est, "y", "x^2") - 0.5) < 0.05


def test_loo_selection_keeps_a_breaking_term():
    X, D = _oscillator(n=64, breaking=0.5, seed=3)
    est = PromotedSINDy(library=_cubic(), candidates="gl").fit(X, x_dot=D, feature_names=NAMES)
    assert "rotation(x,y)" not in est.symmetry_.specs
    assert abs(_coef(est, "y", "x^2") - 0.5) < 0.05
    chosen = next(c for c in est.candidates_ if c["chosen"])
    for c in est.candidates_:
        if "rotation(x,y)" in c["symmetry"]:
            assert not c["eligible"] or c["loo_error"] > chosen["loo_error"]
        if not c["eligible"]:
            assert c["reason"]


def test_promotion_on_a_time_series_uses_the_weak_form():
    from symsindy.catalogue import get_system

    system = get_system("hopf")
    sim = system.simulate(t_end=8, dt=0.01, x0=np.array([(0.1, 0.0), (2.0, 0.0), (0.0, 0.5), (-1.5, 0.3)]))
    xs = [np.asarray(x) for x in sim.x]
    rng = np.random.default_rng(0)
    xs = [x + 0.01 * x.std(0) * rng.standard_normal(x.shape) for x in xs]
    est = PromotedSINDy(library=_cubic(), candidates="gl").fit(xs, t=0.01, feature_names=["x", "y"])
    assert est.formulation_ == "weak" and est.model_.formulation_ == "weak"
    assert est.symmetry_.specs[:1] == ["rotation(x,y)"]
    np.testing.assert_allclose(est.coef_[:, 1:3], [[1.0, -1.0], [1.0, 1.0]], atol=0.05)
    assert np.count_nonzero(est.coef_) == 8
    d = est.to_dict()
    assert d["formulation"] == "weak" and d["weight_selection"] == "leave-one-out"
    assert any(c["chosen"] for c in d["candidate_symmetries"])
    from symsindy.promote import _json_safe

    json.dumps(_json_safe(d))


def test_rref_snap_turns_a_near_rotation_into_the_rotation():
    from symsindy.promote import _rref_snap

    v = np.array([0.37, 1.0, -0.06, -0.9, 0.16, -0.3, 0.0, 0.04, 0.03])  # measured at 18 samples
    S = _rref_snap(v[None], 0.5, 1.0)
    np.testing.assert_array_equal(S, [[0, 1, 0, -1, 0, 0, 0, 0, 0]])
    # two directions: the pivots are the largest entries, and the basis is reduced
    W = np.array([[1.0, 0.02, 0.5], [0.98, 0.0, -0.49]])
    S = _rref_snap(W, 0.25, 0.5)
    assert S.shape == (2, 3) and np.all(np.isin(S, [0.0, 1.0, -1.0, 0.5, -0.5]))
    assert np.linalg.matrix_rank(S) == 2


def test_sl_family_is_gl_without_the_dilation():
    from symsindy.discover import candidate_generators

    for n in (2, 3):
        sl = candidate_generators(n, "sl")
        V = np.array([np.concatenate([A.ravel(), b]) for A, b in sl])
        assert len(sl) == n * n - 1
        np.testing.assert_allclose(V @ V.T, np.eye(len(sl)), atol=1e-12)
        assert all(abs(np.trace(A)) < 1e-12 for A, _ in sl)
        # together with the identity they span gl(n)
        eye = np.concatenate([np.eye(n).ravel(), np.zeros(n)])[None]
        assert np.linalg.matrix_rank(np.vstack([V, eye])) == n * n
    # told only sl(2), the Hopf normal form keeps its cubic terms: no dilation to offer
    X, D = _hopf_samples(0, n=64)
    est = PromotedSINDy(library=_cubic(), candidates="sl").fit(X, x_dot=D)
    assert est.symmetry_.specs == ["rotation(x0,x1)"] and np.count_nonzero(est.coef_) == 8


def test_nested_refit_check_against_a_symmetric_subspace():
    """The F test that adds symmetry: measured against the least-squares fit inside the rotation's
    subspace, the dilation costs fit on the Hopf normal form (it forbids the cubic terms) and
    nothing on the linear oscillator."""
    from symsindy.discover import _fit_rows, _rss, refit_check
    from symsindy.symmetry import Symmetry

    def check(X, D, names):
        lib = _cubic()
        lib.fit(X)
        theta = np.asarray(lib.transform(X), float)
        rot = Symmetry(names, f"rotation({names[0]},{names[1]})")
        ref = _fit_rows({"threshold": 0.0}, rot, theta, D, lib, names, X)
        both = Symmetry(names, f"rotation({names[0]},{names[1]}); scaling({names[0]}=1,{names[1]}=1)")
        c = refit_check({}, both, theta, D, lib, names, X, free=(ref, _rss(ref, theta, D)))
        return c, ref.subspace_.dim

    c, dim = check(*_hopf_samples(0, n=128), ["x0", "x1"])
    assert c["testable"] and c["passed"] is False and c["cost"] > 10 * c["allowed"]
    assert 0 < c["q"] < dim and c["dof"] == 128 * 2 - dim
    c, _ = check(*_oscillator(n=128), NAMES)
    assert c["testable"] and c["passed"] is True


# ------------------------------------------------------------------------------ penalty scaling, 4-D


@pytest.mark.parametrize("norm", ["basis", "operator"])
def test_generator_norm_scales_the_penalised_directions(oscillator, norm):
    """Without adaptive weights the penalised directions' Lie-derivative operators are orthogonal;
    ``"operator"`` gives them one norm (a whitening), ``"basis"`` keeps the orthonormal candidates,
    whose operators differ in norm (gl(2) on a cubic library)."""
    X, D = oscillator
    est = PromotedSINDy(library=_cubic(), candidates="gl", weight=0.05, adaptive=False, generator_norm=norm)
    est.fit(X, x_dot=D, feature_names=NAMES)
    setup = est._setup_
    ops = np.einsum("kab,kj->jab", setup.T, setup.P).reshape(setup.P.shape[1], -1)
    G = ops @ ops.T
    np.testing.assert_allclose(G - np.diag(np.diag(G)), 0.0, atol=1e-9 * G.max())
    norms = np.sqrt(np.diag(G))
    if norm == "operator":
        np.testing.assert_allclose(norms, 1.0, rtol=1e-10)
    else:
        assert norms.max() > 1.5 * norms.min()
        np.testing.assert_allclose(setup.P.T @ setup.P, np.eye(setup.P.shape[1]), atol=1e-10)
    # the same basis-independent penalty whatever basis of gl(2) the user writes down
    if norm == "operator":
        rng = np.random.default_rng(0)
        cands = [(rng.normal(size=(2, 2)), None) for _ in range(4)]
        other = PromotedSINDy(library=_cubic(), candidates=cands, weight=0.05, adaptive=False, generator_norm=norm)
        other.fit(X, x_dot=D, feature_names=NAMES)
        x = rng.normal(size=est.problem_.n_unknowns)
        sv = [np.linalg.svd(e.problem_.lie_matrix(x), compute_uv=False) for e in (est, other)]
        np.testing.assert_allclose(sv[0], sv[1], rtol=1e-8)


def test_unknown_generator_norm_is_named(oscillator):
    X, D = oscillator
    with pytest.raises(ValueError, match="generator_norm 'unit': expected one of basis, operator"):
        PromotedSINDy(library=_cubic(), generator_norm="unit", weight=0.1).fit(X, x_dot=D, feature_names=NAMES)


def test_weight_zero_is_the_least_squares_fit_without_iterations(oscillator):
    X, D = oscillator
    est = PromotedSINDy(library=_cubic(), candidates="gl", weight=0.0, refit=False, threshold=0.0)
    est.fit(X, x_dot=D, feature_names=NAMES)
    assert est.solver_info_["solver"] == "closed form" and est.solver_info_["iterations"] == 0
    lib = _cubic().fit(X)
    ls = np.linalg.lstsq(lib.transform(X), D, rcond=None)[0].T
    np.testing.assert_allclose(est.promoted_coef_, ls, rtol=1e-8, atol=1e-10)


def _stuart_landau_short_trajectories(seed, n_traj=6, n_samples=6, dt=0.1, noise=0.01):
    from symsindy.catalogue import get_system

    entry = get_system("stuart_landau")
    return _short_trajectories(entry, lambda rng: rng.uniform(-1.2, 1.2, size=4), seed, n_traj, n_samples, dt, noise)


def test_gl4_promotion_converges_and_names_so4():
    """Two coupled Stuart-Landau oscillators, 36 samples, cubic library (140 unknowns), told gl(4)
    (16 generators): every ADMM solve of the path converges (before the step's floor, the large
    weights did not within 20,000 iterations and fell back to cvxpy, minutes each), and the
    algebra of the fully symmetric end, which holds all of so(4), is named (merging rotation
    triples used to fail once two triples shared a plane)."""
    X, D, names = _stuart_landau_short_trajectories(0)
    est = PromotedSINDy(library=_cubic(), candidates="gl").fit(X, x_dot=D, feature_names=names)
    assert est.penalised_directions_ == 16
    assert est.solver_info_["n_fallbacks"] == 0 and est.solver_info_["converged"]
    end = est.weight_path_[-1]
    assert end["weight"] == 1.0 and "rotation(x1,y1,x2)" in end["specs"]
    assert sum(s.startswith("rotation(") for s in end["specs"]) == 4  # so(4): one triple and three planes
    assert est.equivariance_residual_ < 1e-10


def test_a_nearly_converged_fast_solve_is_used_flagged_without_cvxpy(oscillator, monkeypatch):
    """At its iteration limit within FAST_REDUCED_TOL, the ADMM solution is used and reported as of
    reduced accuracy; cvxpy is not called."""
    from symsindy.promote import _estimator

    def no_cvxpy(*args, **kwargs):
        raise AssertionError("cvxpy was called")

    monkeypatch.setattr(_estimator, "solve_cvxpy", no_cvxpy)
    X, D = oscillator
    est = PromotedSINDy(library=_cubic(), candidates="gl", weight=0.05, tol=1e-16, max_iter=400)
    with pytest.warns(PromotionWarning, match="relative residual .*; used that solution, of reduced accuracy"):
        est.fit(X, x_dot=D, feature_names=NAMES)
    info = est.solver_info_
    assert info["solver"] == "fast (reduced accuracy)" and info["fallback"] == "fast (reduced accuracy)"
    assert info["n_fallbacks"] == 1 and not info["converged"]
    assert "rotation(x,y)" in est.symmetry_specs_


def test_adaptive_weights_make_the_penalty_independent_of_the_generator_norm(oscillator):
    """The adaptive weights whiten the directions by the unpenalised fit's Lie-derivative matrix, so
    any invertible rescaling of the directions before them (the generator norm) changes the penalty
    only by a constant factor (while no weight is floored): the same promoted model."""
    X, D = oscillator
    fits = [
        PromotedSINDy(library=_cubic(), candidates="gl", weight=0.05, generator_norm=g).fit(
            X, x_dot=D, feature_names=NAMES
        )
        for g in ("basis", "operator")
    ]
    assert not np.allclose(fits[0]._setup_.P, fits[1]._setup_.P)
    rng = np.random.default_rng(1)
    ratios = []
    for _ in range(5):
        x = rng.normal(size=fits[0].problem_.n_unknowns)
        nuc = [np.sum(np.linalg.svd(e.problem_.lie_matrix(x), compute_uv=False)) for e in fits]
        ratios.append(nuc[1] / nuc[0])
    np.testing.assert_allclose(ratios, ratios[0], rtol=1e-8)
    np.testing.assert_allclose(fits[0].promoted_coef_, fits[1].promoted_coef_, rtol=1e-6, atol=1e-9)
    np.testing.assert_array_equal(fits[0].coef_ != 0, fits[1].coef_ != 0)


def test_a_weight_no_solver_can_do_is_skipped_and_reported(oscillator, monkeypatch):
    """With the automatic weight, one weight of the path at which every route fails is left out
    (its path entry says why, the warning names it); the other weights still choose the model."""
    from symsindy.promote import _estimator

    real = _estimator.solve_fast
    calls = {"n": 0}

    def failing_once(problem, lam, *args, **kwargs):
        calls["n"] += 1
        x, info = real(problem, lam, *args, **kwargs)
        if calls["n"] == 3:
            return x, {**info, "converged": False, "status": "not converged (forced)", "relative_residual": 1.0}
        return x, info

    monkeypatch.setattr(_estimator, "solve_fast", failing_once)
    X, D = oscillator
    est = PromotedSINDy(library=_cubic(), candidates="so", cvxpy_solver="NOPE")
    with pytest.warns(PromotionWarning, match=r"1 weights of the path skipped .*weight [\d.e-]+ skipped: promotion at"):
        est.fit(X, x_dot=D, feature_names=NAMES)
    failed = [pt for pt in est.weight_path_ if "failed" in pt]
    assert len(failed) == 1 and "every solver failed" in failed[0]["failed"] and failed[0]["proposed"] == []
    assert est.solver_info_["n_skipped"] == 1
    assert len(est.weight_path_) == len(est._grid())
    assert "rotation(x,y)" in est.symmetry_specs_ and est.equivariance_residual_ < 1e-10
    assert not failed[0].get("chosen")


def test_when_every_promoting_weight_fails_the_least_squares_fit_proposes_alone(oscillator):
    """Weight 0 (the least-squares fit) needs no solver; with every other weight failing, the
    candidates come from that fit alone (here its discovery still proposes the rotation), and
    the warning counts the skipped weights."""
    X, D = oscillator
    est = PromotedSINDy(library=_cubic(), candidates="so", max_iter=1, cvxpy_solver="NOPE", weight_grid=[0.1, 0.3])
    with pytest.warns(PromotionWarning, match="2 weights of the path skipped"):
        est.fit(X, x_dot=D, feature_names=NAMES)
    assert est.weight_ == 0.0 and [pt["weight"] for pt in est.weight_path_ if "failed" not in pt] == [0.0]
    assert est.solver_info_["n_skipped"] == 2 and np.any(est.coef_)
