"""The estimator :class:`PromotedSINDy`: promote, discover, enforce and refit, with the weight or
the candidate symmetry chosen by leave-one-out error or cross-validation (see :mod:`symsindy.promote`)."""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import scipy.linalg as sla
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from ..actions import induced_action
from ..base import SINDyMixin
from ..base import _json_safe  # noqa: F401  (symsindy.promote re-exports it)
from ..constraints import equivariance_residual
from ..discover import data_weight, discover_continuous
from ..symmetry import Symmetry
from ._candidates import (
    _algebra_key,
    _as_symmetry,
    _describe,
    _enforceable,
    _named_specs,
    _simple_generators,
    _snapped_candidates,
    _symmetry_key,
    _unnamed,
)
from ._problem import (
    PromotionProblem,
    _lam_ref,
    _lie_parts,
    _orthonormal_candidates,
    _penalised_directions,
    _relative_spectrum,
)
from ._solvers import solve_cvxpy, solve_fast

SOLVERS = ("fast", "cvxpy")
#: an ADMM solve that stops at its iteration limit with residuals within this relative tolerance
#: (about an interior-point solution's accuracy on these problems) is used, flagged as of reduced
#: accuracy, rather than handed to cvxpy, which on gl(4) with a cubic library (a 2240 x 140 Lie
#: matrix) takes minutes and gigabytes per solve
FAST_REDUCED_TOL = 1e-7
#: rules for ``weight="auto"``: leave-one-out over candidate symmetries, or k-fold cross-validation
SELECTIONS = ("loo", "cv")


class PromotionWarning(UserWarning):
    """A promotion solve failed or did not converge; a fallback was taken."""


class PromotionError(ValueError):
    """Every route of a promoted fit failed."""


@dataclass
class _Setup:
    names: list
    library: object
    X: np.ndarray  # states the library and the Lie derivatives are measured on
    D: np.ndarray  # regression targets (m, n): derivatives, or their weak-form counterparts
    theta: np.ndarray  # normalised library rows (m, p)
    colscale: np.ndarray
    yscale: float
    cands: list  # orthonormal candidate basis (full family)
    T1: np.ndarray
    T2: np.ndarray
    T: np.ndarray  # full-family operators T1 - T2, (q, M, N)
    P: np.ndarray  # (q, q') the promoted directions as combinations of the candidates
    L: np.ndarray  # (M * q', N) scaled promoted operator
    shape: tuple
    lam_ref: float
    dropped: dict
    direction_weights: np.ndarray
    theta_raw: np.ndarray = None  # the library rows in data units (m, p)
    subspaces: dict = field(default_factory=dict)  # symmetry key -> (symmetry, action, subspace)
    free: object = None  # the refit check's free fit, once computed (False: not possible)

    def problem(self, rows=None) -> PromotionProblem:
        th = self.theta if rows is None else self.theta[rows]
        Y = self.D / self.yscale if rows is None else self.D[rows] / self.yscale
        m, n = len(th), Y.shape[1]
        G = th.T @ th / m
        H = np.kron(np.eye(n), G)
        g = (th.T @ Y / m).T.ravel()
        return PromotionProblem(H, g, self.L, self.shape)

    def coef(self, xt: np.ndarray) -> np.ndarray:
        """Coefficients in data units from the normalised unknowns."""
        n, p = len(self.names), len(self.colscale)
        return self.yscale * xt.reshape(n, p) / self.colscale[None, :]


class PromotedSINDy(SINDyMixin, BaseEstimator):
    """SINDy that promotes, discovers, enforces and refits a symmetry chosen by the data.

    A nuclear-norm penalty over a candidate algebra favours models with as much symmetry as
    the data support (see :mod:`symsindy.promote` for the problem and its normalisation); the
    symmetry the promoted model has is then enforced exactly and the model refitted without
    the penalty.

    Parameters
    ----------
    library : pysindy feature library, optional
        Default ``ps.PolynomialLibrary(degree=2)``.
    candidates : {"so", "gl", "affine"} or list of (A, b), default "gl"
        The candidate algebra (user generators are orthonormalised).
    weight : float or "auto", default "auto"
        Penalty weight in units of ``lam_ref`` (1: as symmetric as the candidates allow).
        ``"auto"``: chosen by ``selection`` (see :mod:`symsindy.promote`).
    weight_grid : sequence of float, optional
        Weights tried by ``"auto"``; default 0 and 10 values log-spaced from 1e-3 to 1.
    selection : {"loo", "cv"}, default "loo"
        ``"loo"``: leave-one-out over the candidate symmetries the path reveals;
        ``"cv"``: ``n_folds``-fold cross-validation with the one-standard-error rule.
    n_folds : int, default 5
        Folds of ``selection="cv"``.
    l1 : float, default 0.0
        l1 weight on the normalised coefficients (unit-RMS terms and derivatives).
    threshold : float or "auto", default "auto"
        Sequential thresholding in the refit (automatic: as :class:`~symsindy.model.SymmetricSINDy`);
        a number also thresholds ``promoted_coef_`` when ``refit=False``, which needs one.
    alpha : float, default 0.0
        Ridge weight during thresholding in the refit.
    formulation : {"auto", "strong", "weak"}, default "auto"
        The regression rows, as :class:`~symsindy.model.SymmetricSINDy`.
    weak : WeakForm, optional
        Test-function settings of the weak form.
    refit_tol : float, default 0.1
        Tolerance of the refit check (:func:`symsindy.discover.refit_check`).
    solver : {"fast", "cvxpy"}, default "fast"
        ADMM (:func:`solve_fast`) or cvxpy (:func:`solve_cvxpy`); the other is the fallback.
    cvxpy_solver : str, default "CLARABEL"
    cvxpy_options : dict, optional
        Passed to ``cvxpy.Problem.solve``.
    tol : float, default 1e-11
        Relative tolerance of the ADMM residuals.
    max_iter : int, default 20000
        ADMM iterations.
    adaptive : bool, default True
        Weight each direction of the candidate algebra (right singular vectors of the
        unpenalised fit's Lie-derivative matrix) by ``s_min / s_i`` (relative singular values
        floored at ``adaptive_floor``), as in the adaptive lasso.
    adaptive_floor : float, default 1e-3
    generator_norm : {"basis", "operator"}, default "basis"
        Scale of the candidate directions in the penalty: orthonormal over ``(vec A, b)``, or
        each direction's Lie-derivative operator of unit norm on the data (see
        :mod:`symsindy.promote`).
    null_tol : float, default 1e-6
        Relative singular values of the promoted model's Lie derivative below this count as
        symmetries (at least 1e-4 for a cvxpy solution, whose zeros are less exact).
    refit : bool, default True
        Enforce the discovered symmetry and refit (debias); else return the thresholded
        promoted coefficients.
    random_state : int, default 0
        Seeds the cross-validation folds.
    differentiation : pysindy differentiation, optional
        Default :func:`symsindy.model.default_differentiation`; ignored when ``x_dot`` is given.

    Attributes
    ----------
    coef_ : (n, p) array
        The final model (after the refit).
    promoted_coef_ : (n, p) array
        The penalised solution, before debiasing.
    weight_ : float
        The weight used (units of ``lam_ref_``).
    lam_ref_ : float
    problem_ : PromotionProblem
        The convex problem on all the data (normalised units; ``lam = weight_ * lam_ref_``).
    weight_path_ : list of dict
        Per weight of the grid.  ``"loo"``: ``weight``, ``specs`` (the exact symmetry of the
        promoted model), ``proposed`` (the candidates it gave) and ``chosen``.  ``"cv"``:
        ``weight``, ``cv_error`` (mean held-out relative squared error), ``cv_se``,
        ``fold_errors``, ``specs`` (the symmetry found in most folds), ``chosen`` and, where the
        fit on all the data was checked, ``final_check`` (``specs``, ``cv_error``,
        ``accepted``).  Empty when ``weight`` is given.
    candidates_ : list of dict
        ``"loo"`` only (else empty): every candidate symmetry, best first, with ``symmetry``
        (named specs), ``unnamed_generators``, ``description``, ``source`` (``"none"``,
        ``"exact"``, ``"snapped"`` or ``"extended"``: joined with a simple generator),
        ``weights`` (that revealed it), ``loo_error``, ``n_terms``, ``free_coefficients``,
        ``refit_check``, ``nested_check`` (the F test against a less symmetric candidate, when
        it was made), ``eligible``, ``reason`` (why not) and ``chosen``.
    refit_check_ : dict or None
        The refit check of what was enforced (:func:`symsindy.discover.refit_check`:
        ``cost``, ``allowed``, ``passed``, ``q``, ``dof``, ``testable``; ``passed`` None when
        the data are too few to test); None when nothing was.
    threshold_ : float
        The refit's threshold.
    formulation_, formulation_reason_ : str
    discovered_ : ContinuousSymmetries
        The algebra of the promoted model.
    symmetry_ : Symmetry
        What was enforced in the refit.
    symmetry_specs_ : list of str
        Named symmetries of the promoted model (``discovered_.specs``).
    equivariance_residual_ : float
        Of ``coef_`` under ``symmetry_``.
    solver_info_ : dict
        ``solver``, ``converged``, ``iterations``, ``status`` of the final solve; ``fallback``
        (None or what was used instead); ``n_solves``, ``n_fallbacks``; ``refit_fallback``.
    penalised_directions_ : int
        Directions of the candidate algebra in the penalty (after leaving out trivial and
        non-closed ones).
    direction_weights_ : array
        Their adaptive weights (ones when ``adaptive=False``).
    dropped_directions_ : dict
        ``not_closed`` and ``trivial``: how many were left out.
    model_ : SymmetricSINDy or None
        The refitted model.
    library_, feature_names_, term_names_, n_features_in_
    """

    def __init__(
        self,
        library=None,
        candidates="gl",
        weight="auto",
        weight_grid=None,
        n_folds=5,
        l1=0.0,
        threshold="auto",
        alpha=0.0,
        selection="loo",
        formulation="auto",
        weak=None,
        refit_tol=0.1,
        solver="fast",
        cvxpy_solver="CLARABEL",
        cvxpy_options=None,
        tol=1e-11,
        max_iter=20000,
        adaptive=True,
        adaptive_floor=1e-3,
        generator_norm="basis",
        null_tol=1e-6,
        refit=True,
        random_state=0,
        differentiation=None,
    ):
        self.library = library
        self.candidates = candidates
        self.weight = weight
        self.weight_grid = weight_grid
        self.n_folds = n_folds
        self.l1 = l1
        self.threshold = threshold
        self.alpha = alpha
        self.selection = selection
        self.formulation = formulation
        self.weak = weak
        self.refit_tol = refit_tol
        self.solver = solver
        self.cvxpy_solver = cvxpy_solver
        self.cvxpy_options = cvxpy_options
        self.tol = tol
        self.max_iter = max_iter
        self.adaptive = adaptive
        self.adaptive_floor = adaptive_floor
        self.generator_norm = generator_norm
        self.null_tol = null_tol
        self.refit = refit
        self.random_state = random_state
        self.differentiation = differentiation

    # ------------------------------------------------------------------ validation
    def _check_params(self):
        def number(name, lo=0.0, strict=False):
            v = getattr(self, name)
            ok = isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool) and np.isfinite(v)
            if not ok or v < lo or (strict and v == lo):
                raise ValueError(f"{name} {v!r}: expected a finite number {'>' if strict else '>='} {lo:g}")
            return float(v)

        if isinstance(self.weight, str):
            if self.weight != "auto":
                raise ValueError(f"weight {self.weight!r}: expected a number >= 0 or 'auto'")
        else:
            number("weight")
        number("l1")
        if isinstance(self.threshold, str):
            if self.threshold != "auto":
                raise ValueError(f"threshold {self.threshold!r}: expected a number >= 0 or 'auto'")
            if not self.refit:
                raise ValueError(
                    "threshold 'auto' needs refit=True: the automatic threshold is chosen in the refit; "
                    "give a number to threshold the promoted coefficients"
                )
        else:
            number("threshold")
        number("alpha")
        number("refit_tol")
        if self.selection not in SELECTIONS:
            raise ValueError(f"selection {self.selection!r}: expected one of {', '.join(SELECTIONS)}")
        number("tol", strict=True)
        number("null_tol", strict=True)
        number("adaptive_floor", strict=True)
        if self.generator_norm not in ("basis", "operator"):
            raise ValueError(f"generator_norm {self.generator_norm!r}: expected one of basis, operator")
        if self.solver not in SOLVERS:
            raise ValueError(f"solver {self.solver!r}: expected 'fast' or 'cvxpy'")
        if not (isinstance(self.max_iter, (int, np.integer)) and self.max_iter >= 1):
            raise ValueError(f"max_iter {self.max_iter!r}: expected an integer >= 1")
        if not (isinstance(self.n_folds, (int, np.integer)) and self.n_folds >= 2):
            raise ValueError(f"n_folds {self.n_folds!r}: expected an integer >= 2")
        grid = self._grid()
        if grid.ndim != 1 or not grid.size or not np.all(np.isfinite(grid)) or np.any(grid < 0):
            raise ValueError(f"weight_grid {self.weight_grid!r}: expected a non-empty list of finite numbers >= 0")

    def _grid(self) -> np.ndarray:
        if self.weight_grid is None:
            return np.concatenate([[0.0], np.logspace(-3, 0, 10)])
        return np.sort(np.asarray(self.weight_grid, float).ravel())

    # ------------------------------------------------------------------ fitting
    def fit(self, x, t=None, x_dot=None, feature_names=None):
        """Fit to one trajectory ``(n_samples, n)`` or a list of them.

        Parameters
        ----------
        x : array or list of arrays
        t : float, array or list of arrays, optional
            Time step or sample times; needed unless ``x_dot`` is given.
        x_dot : array or list of arrays, optional
            Measured derivatives.
        feature_names : list of str, optional
            Variable names (default ``x0, x1, ...``).
        """
        from ..model import SymmetricSINDy

        self._check_params()
        base = SymmetricSINDy(
            library=self.library,
            threshold=self.threshold,
            alpha=self.alpha,
            differentiation=self.differentiation,
            formulation=self.formulation,
            weak=self.weak,
        )
        xs, ts, dxs, names, _ = base._validate(x, t, x_dot, feature_names)
        # the same regression rows as SymmetricSINDy: samples with (smoothed) derivatives, or the
        # weak form's test-function integrals
        rows = base._rows(xs, ts, dxs, names, Symmetry(names))
        self._events = {"n_solves": 0, "n_fallbacks": 0, "n_skipped": 0, "messages": []}
        try:
            self._fit(rows, names)
        finally:
            del self._events
        self.formulation_ = rows.formulation
        self.formulation_reason_ = rows.reason
        if self.model_ is not None:
            self.model_.formulation_ = rows.formulation
            self.model_.formulation_reason_ = rows.reason
            self.model_.weak_system_ = rows.weak
        return self

    def _fit(self, rows, names):
        from threadpoolctl import threadpool_limits

        n = len(names)
        setup = self._setup(rows, names)
        candidates, model = [], None
        # the solves work on small dense matrices: BLAS threads cost more than they save
        with threadpool_limits(limits=1, user_api="blas"):
            if self.weight == "auto" and self.selection == "loo":
                weight, path, candidates, chosen, (xt, info) = self._select_loo(setup)
                sym = named = chosen["symmetry"]
                model = chosen["model"]
                check = chosen["check"]
                disc = self._discover(setup, xt, setup.coef(xt), setup.X, info["solver"])
            else:
                weight, path, sym, named, xt, info, disc = self._weight_rule(setup)
                # the data veto: a symmetry the refit check rejects is not enforced
                check = self._check(setup, sym)
                if check is not None and check["passed"] is False:
                    warnings.warn(
                        f"promotion: the data reject the promoted symmetry {_describe(sym)} (refit cost "
                        f"{check['cost']:.3g} > allowed {check['allowed']:.3g}); nothing is enforced",
                        PromotionWarning,
                        stacklevel=3,
                    )
                    sym = named = Symmetry(names)
            promoted = setup.coef(xt)
        refit_note = None
        if self.refit:
            if model is None:
                model, sym, refit_note = self._enforce(setup, sym, named, final=True)
            coef = np.array(model.coef_, float)
            residual = float(model.equivariance_residual_)
        else:
            model = None
            coef = np.where(np.abs(promoted) < self.threshold, 0.0, promoted)
            residual = self._residual(setup, coef, sym)
        if not np.any(coef) and np.any(setup.D):
            raise PromotionError(
                f"promoted fit: every route gave the zero model (weight {weight:.3g}, threshold {self.threshold}); "
                "lower the threshold or the weight"
            )

        self._setup_ = setup
        self.library_ = setup.library
        self.feature_names_ = names
        self.term_names_ = list(setup.library.get_feature_names(names))
        self.n_features_in_ = n
        self.lam_ref_ = setup.lam_ref
        self.problem_ = setup.problem()
        self.weight_ = weight
        self.weight_path_ = path
        self.candidates_ = candidates
        self.refit_check_ = check
        self.promoted_coef_ = promoted
        self.discovered_ = disc
        self.symmetry_specs_ = list(disc.specs) if not candidates else _named_specs(sym)
        self.symmetry_ = sym
        self.model_ = model
        self.coef_ = coef
        self.threshold_ = float(model.threshold_) if model is not None else float(self.threshold)
        self.equivariance_residual_ = residual
        self.penalised_directions_ = int(setup.shape[1])
        self.dropped_directions_ = dict(setup.dropped)
        self.direction_weights_ = np.array(setup.direction_weights, float)
        ev = self._events
        self.solver_info_ = {
            "solver": info["solver"],
            "requested": self.solver if self.solver == "fast" else f"cvxpy:{str(self.cvxpy_solver).upper()}",
            "converged": info["converged"],
            "iterations": info.get("iterations"),
            "status": info.get("status"),
            "fallback": info.get("fallback"),
            "n_solves": ev["n_solves"],
            "n_fallbacks": ev["n_fallbacks"],
            "n_skipped": ev["n_skipped"],
            "refit_fallback": refit_note,
        }
        if refit_note:
            ev["messages"].append(refit_note)
        if ev["messages"]:
            first = ev["messages"][0]
            more = f" (and {len(ev['messages']) - 1} more)" if len(ev["messages"]) > 1 else ""
            counts = [f"{ev['n_fallbacks']} of {ev['n_solves']} solves fell back"]
            if ev["n_skipped"]:
                counts.append(f"{ev['n_skipped']} weights of the path skipped (no solver converged)")
            warnings.warn(
                f"promotion: {', '.join(counts)}; {first}{more}",
                PromotionWarning,
                stacklevel=3,
            )

    def _weight_rule(self, setup):
        """A given weight, or k-fold cross-validation (``selection="cv"``): the symmetry the promoted
        model on all the data has at that weight."""
        names = setup.names
        if self.weight == "auto":
            weight, path, validation = self._select_weight(setup)
            tries = validation["weights"] if validation else [weight]
        else:
            weight, path, validation = float(self.weight), [], None
            tries = [weight]
        for k, weight in enumerate(tries):
            xt, info = self._solve(setup.problem(), weight, None)
            disc = self._discover(setup, xt, setup.coef(xt), setup.X, info["solver"])
            sym, named = _enforceable(names, disc)
            if validation is None or sym.is_trivial:
                break
            # the fit on all the data can reveal a larger symmetry than the folds did at
            # this weight: enforce it only if it predicts held-out data as well as the
            # weights the cross-validation accepted, else try the next smaller accepted weight
            error = validation["check"](sym, named)
            path[validation["index"][k]]["final_check"] = {
                "specs": _describe(sym),
                "cv_error": error,
                "accepted": bool(error <= validation["bound"]),
            }
            if error <= validation["bound"]:
                break
        else:
            warnings.warn(
                "promotion: at every weight the cross-validation accepted, the symmetry the fit on all the data "
                "revealed predicts held-out data worse than that; nothing is enforced",
                PromotionWarning,
                stacklevel=4,
            )
            sym, named = Symmetry(names), Symmetry(names)
        if validation is not None:
            for e in path:
                e["chosen"] = float(e["weight"]) == weight
        return weight, path, sym, named, xt, info, disc

    def _setup(self, rows, names) -> _Setup:
        n = len(names)
        library = rows.library
        X, D = rows.states, np.asarray(rows.target, float)
        theta = np.asarray(rows.theta, float)
        terms = list(library.get_feature_names(names))
        colscale = np.sqrt(np.mean(theta**2, axis=0))
        if np.any(colscale == 0):
            k = int(np.flatnonzero(colscale == 0)[0])
            raise ValueError(
                f"library term {terms[k]!r} is zero on all samples; use a smaller library or more varied data"
            )
        yscale = float(np.sqrt(np.mean(D**2)))
        if yscale == 0:
            raise ValueError("x_dot: the derivatives are zero on all samples; there is no dynamics to fit")
        cands = _orthonormal_candidates(self.candidates, n)
        S = data_weight(library, X)
        T1, T2, cands, not_closed = _lie_parts(library, names, cands, S, colscale, x_samples=X)
        if not cands:
            raise ValueError(f"candidates {self.candidates!r}: the library is not closed under any of them")
        T = T1 - T2
        theta_n = theta / colscale
        M, N = T.shape[1], T.shape[2]
        # combinations with a zero operator are symmetries of every model: nothing to promote
        xt_ls = np.linalg.lstsq(theta_n, D / yscale, rcond=None)[0].T.ravel()
        P, weights, n_trivial = _penalised_directions(
            T, T1, T2, xt_ls, generator_norm=self.generator_norm, adaptive=self.adaptive, floor=self.adaptive_floor
        )
        dropped = {"not_closed": not_closed, "trivial": n_trivial}
        qp = P.shape[1]
        if qp:
            TP = np.einsum("kab,kj->ajb", T, P).reshape(M * qp, N)
            norm = float(np.linalg.norm(TP, 2))
            L = TP / norm if norm > 0 else TP
        else:
            L = np.zeros((0, N))
        setup = _Setup(
            names,
            library,
            X,
            D,
            theta_n,
            colscale,
            yscale,
            cands,
            T1,
            T2,
            T,
            P,
            L,
            (M, qp),
            0.0,
            dropped,
            weights,
            theta,
        )
        if qp:
            setup.lam_ref = _lam_ref(setup.problem())
        return setup

    # ------------------------------------------------------------------ pieces
    def _solve(self, problem: PromotionProblem, weight: float, warm, tol=None):
        """Solve at ``lam = weight * lam_ref(problem)`` with the requested solver, then the other;
        when neither converges, a cvxpy solution of reduced accuracy (status
        ``optimal_inaccurate``) is used if there is one, else PromotionError is raised.  An ADMM
        solve that stops at ``max_iter`` within ``FAST_REDUCED_TOL`` is used at once, flagged
        (``solver`` and ``fallback`` "fast (reduced accuracy)"; its zeros are judged as a
        cvxpy solution's), without trying cvxpy.

        Without l1, weight >= 1 has a known solution, the least-squares fit in the fully
        symmetric subspace, and weight 0 the (minimum-norm) least-squares fit: no iterations
        needed (with fewer samples than unknowns the iterations at weight 0 crawl along the
        loss's null space and may not converge at all).
        """
        routes = [self.solver] + [s for s in SOLVERS if s != self.solver]
        failures = []
        self._events["n_solves"] += 1
        if self.l1 == 0 and problem.shape[1] and weight >= 1:
            _, x0 = problem.symmetric_solution()
            return x0, {
                "solver": "closed form",
                "converged": True,
                "iterations": 0,
                "status": "fully symmetric",
                "fallback": None,
            }
        if self.l1 == 0 and weight == 0:
            x0 = np.linalg.lstsq(problem.H, problem.g, rcond=None)[0]
            return x0, {
                "solver": "closed form",
                "converged": True,
                "iterations": 0,
                "status": "least squares",
                "fallback": None,
            }
        lam = weight * _lam_ref(problem) if problem.shape[1] else 0.0
        inaccurate = None
        for k, route in enumerate(routes):
            try:
                if route == "fast":
                    x, info = solve_fast(
                        problem,
                        lam,
                        self.l1,
                        tol=self.tol if tol is None else tol,
                        max_iter=self.max_iter,
                        warm=warm,
                        single_thread=False,
                    )
                else:
                    x, info = solve_cvxpy(problem, lam, self.l1, solver=self.cvxpy_solver, options=self.cvxpy_options)
            except (ValueError, ArithmeticError, np.linalg.LinAlgError, sla.LinAlgError) as exc:
                x, info = None, {"solver": route, "converged": False, "status": str(exc).splitlines()[0]}
            if info["converged"]:
                if k:
                    info["fallback"] = info["solver"]
                    self._events["n_fallbacks"] += 1
                    self._events["messages"].append(f"{failures[0]}; used {info['solver']} instead")
                else:
                    info["fallback"] = None
                return x, info
            if info.get("status") == "optimal_inaccurate" and x is not None and np.all(np.isfinite(x)):
                inaccurate = (x, info)
            failures.append(f"{info['solver']}: {info['status']}")
            if np.isfinite(info.get("relative_residual", np.inf)):
                failures[-1] += f" (relative residual {info['relative_residual']:.1e})"
            if (
                route == "fast"
                and x is not None
                and np.all(np.isfinite(x))
                and info.get("relative_residual", np.inf) <= FAST_REDUCED_TOL
            ):
                info = {**info, "solver": "fast (reduced accuracy)", "fallback": "fast (reduced accuracy)"}
                self._events["n_fallbacks"] += 1
                self._events["messages"].append(f"{failures[-1]}; used that solution, of reduced accuracy")
                return x, info
        if inaccurate is not None:
            x, info = inaccurate
            info = {**info, "fallback": f"{info['solver']} (reduced accuracy)"}
            self._events["n_fallbacks"] += 1
            self._events["messages"].append(f"{'; '.join(failures)}; used the reduced-accuracy solution")
            return x, info
        raise PromotionError(f"promotion at lam={lam:.3g}: every solver failed ({'; '.join(failures)})")

    def _discover(self, setup: _Setup, xt, coef, X_samples, solver="fast"):
        s_rel, _ = _relative_spectrum(setup.T1, setup.T2, setup.T, xt)
        # an interior-point solution is accurate to about 1e-6: its zeros are that large
        tol = self.null_tol if solver in ("fast", "closed form") else max(self.null_tol, 1e-4)
        nullity = int(np.sum(s_rel <= tol))
        disc = discover_continuous(coef, setup.library, setup.names, setup.cands, nullity=nullity, x_samples=X_samples)
        if isinstance(self.candidates, str):
            disc.family = self.candidates
        return disc

    def _fit_symmetric(self, setup: _Setup, sym: Symmetry, idx=None):
        """:class:`~symsindy.model.SymmetricSINDy` with ``sym`` enforced, fitted to the rows ``idx``
        (all by default) with the estimator's threshold and ridge; raises ValueError (or
        NoSymmetricModelError) when no model can be fitted."""
        from ..model import SymmetricSINDy

        key = _algebra_key(sym)
        if key not in setup.subspaces:
            est = SymmetricSINDy(symmetry=sym)
            setup.subspaces[key] = est._subspace(setup.library, sym, setup.X)
        sym_r, action, subspace = setup.subspaces[key]
        model = SymmetricSINDy(library=self.library, symmetry=sym_r, threshold=self.threshold, alpha=self.alpha)
        th = setup.theta_raw if idx is None else setup.theta_raw[idx]
        tg = setup.D if idx is None else setup.D[idx]
        return model._fit_rows(th, tg, setup.library, setup.names, sym_r, action, subspace)

    def _enforce(self, setup: _Setup, sym: Symmetry, named: Symmetry, idx=None, final: bool = False):
        """Fit SymmetricSINDy with ``sym`` (from :func:`_enforceable`); if that fails, with its
        named part, then with nothing.  Returns ``(model, enforced, note)``."""
        names = setup.names
        routes = [sym]
        if len(named.generators) != len(sym.generators):
            routes.append(named)
        if not named.is_trivial:
            routes.append(Symmetry(names))
        note, last = None, None
        for k, s in enumerate(routes):
            try:
                model = self._fit_symmetric(setup, s, idx)
            except ValueError as exc:  # NoSymmetricModelError is a ValueError
                last = str(exc).splitlines()[0]
                continue
            if final and not np.any(model.coef_) and not s.is_trivial:
                last = "the symmetric refit is the zero model"
                continue
            if k:
                note = f"enforcing {_describe(sym)} failed ({last}); enforced {_describe(s)}"
            return model, s, note
        raise PromotionError(f"promoted fit: the refit failed for every symmetry tried ({last})")

    def _check(self, setup: _Setup, sym: Symmetry):
        """Discovery's refit check of ``sym`` on the rows (:func:`symsindy.discover.refit_check`);
        None for no symmetry.  ``passed`` is None when the data are too few to test it."""
        from ..discover import free_refit, refit_check

        if sym.is_trivial:
            return None
        kw = {"alpha": self.alpha}
        if setup.free is None:
            try:
                setup.free = free_refit(kw, setup.theta_raw, setup.D, setup.library, setup.names)
            except ValueError:
                setup.free = False
        if setup.free is False:
            k_free = setup.theta_raw.shape[1] * setup.D.shape[1]
            return {
                "cost": None,
                "allowed": None,
                "passed": None,
                "q": None,
                "dof": int(setup.D.size - k_free),
                "testable": False,
            }
        check = refit_check(
            kw, sym, setup.theta_raw, setup.D, setup.library, setup.names, setup.X, self.refit_tol, free=setup.free
        )
        if not check["testable"]:
            check["passed"] = None
        return check

    def _evaluate(self, setup: _Setup, e: dict, plain_terms) -> None:
        """Refit with ``e["symmetry"]`` enforced; fill ``model``, ``loo``, ``n_terms``, ``check``,
        ``eligible`` and ``reason`` (why not)."""
        from ..optimizers import loo_error

        sym = e["symmetry"]
        e["model"], e["loo"], e["reason"] = None, float("inf"), None
        try:
            model = self._fit_symmetric(setup, sym)
        except ValueError as exc:
            e["reason"] = str(exc).splitlines()[0]
        else:
            if np.any(model.coef_) or not np.any(setup.D):
                e["model"] = model
                basis = None if sym.is_trivial else model.subspace_.basis
                e["loo"] = loo_error(setup.theta_raw, setup.D, model.coef_, basis)
                if not np.isfinite(e["loo"]):
                    e["reason"] = "the model's support is not determined without each sample in turn"
            else:
                e["reason"] = "the refit is the zero model"
        e["n_terms"] = int(np.count_nonzero(e["model"].coef_)) if e["model"] is not None else 0
        e["check"] = self._check(setup, sym)
        ok = e["model"] is not None and np.isfinite(e["loo"])
        if ok and e["check"] is not None and e["check"]["passed"] is False:
            ok, e["reason"] = (
                False,
                (f"the data reject it (refit cost {e['check']['cost']:.3g} > allowed {e['check']['allowed']:.3g})"),
            )
        if (
            ok
            and plain_terms
            and e["n_terms"] < 0.5 * plain_terms
            and e["check"] is not None
            and e["check"]["passed"] is not True
        ):
            # a model that loses most of its terms to the enforcement needs a test it passed
            ok, e["reason"] = (
                False,
                (
                    f"it keeps {e['n_terms']} of the unconstrained model's {plain_terms} terms and the refit check "
                    "cannot test it"
                ),
            )
        e["eligible"] = bool(ok)

    def _most_symmetric(self, setup: _Setup, best: dict, eligible: list, found: dict, plain_terms) -> dict:
        """Add symmetry to ``best`` while the data allow it.

        Leave-one-out error prefers a few spurious terms that soak up noise over a symmetry
        that forbids them.  So, from ``best``, every eligible candidate nested in it (its
        subspace inside ``best``'s) and ``best`` joined with each simple generator of the
        family (a rotation of two variables, a scaling of one, of two or of all) is refitted
        and put to the nested refit check against the least-squares fit in the current
        subspace (the F test of :func:`symsindy.discover.refit_check`: does the extra symmetry
        cost more fit than chance?); the most symmetric that passes (then the smaller
        leave-one-out error) becomes current, up to three times.
        """
        from ..discover import _fit_rows, _rss, refit_check

        kw = {"alpha": self.alpha}
        names = setup.names
        affine = any(np.any(b) for _, b in setup.cands)
        current = best
        for _ in range(3):
            Qb = current["model"].subspace_.basis
            options = []
            for e in eligible:
                if e is current or e["model"] is None:
                    continue
                Qa = e["model"].subspace_.basis
                if Qa.shape[1] < Qb.shape[1] and np.linalg.norm(Qa - Qb @ (Qb.T @ Qa)) <= 1e-8 * max(
                    1.0, np.linalg.norm(Qa)
                ):
                    options.append(e)
            for gen in _simple_generators(setup, names, affine):
                sym = _as_symmetry(
                    names, [(g.matrix, g.translation) for g in current["symmetry"].generators] + [gen], affine
                )
                key = _algebra_key(sym)
                if key == _algebra_key(current["symmetry"]):
                    continue
                if key not in found:
                    found[key] = {"symmetry": sym, "weights": list(current["weights"]), "source": "extended"}
                    self._evaluate(setup, found[key], plain_terms)
                e = found[key]
                if e["eligible"] and e not in options and e["model"].subspace_.dim < Qb.shape[1]:
                    options.append(e)
            if not options:
                break
            if current["symmetry"].is_trivial and setup.free not in (None, False):
                ref = setup.free
            else:
                try:
                    model = _fit_rows(
                        {**kw, "threshold": 0.0},
                        current["symmetry"],
                        setup.theta_raw,
                        setup.D,
                        setup.library,
                        names,
                        setup.X,
                    )
                except ValueError:
                    break
                ref = (model, _rss(model, setup.theta_raw, setup.D))
            passed = []
            for e in options:
                check = refit_check(
                    kw, e["symmetry"], setup.theta_raw, setup.D, setup.library, names, setup.X, self.refit_tol, free=ref
                )
                e["nested_check"] = check
                if check["testable"] and check["passed"]:
                    passed.append(e)
            if not passed:
                break
            current = min(passed, key=lambda e: (e["model"].subspace_.dim, len(_unnamed(e["symmetry"])), e["loo"]))
        return current

    def _select_loo(self, setup: _Setup):
        """``weight="auto"`` by leave-one-out over the candidate symmetries the promotion path reveals.

        Returns ``(weight, path, candidates, chosen, (x, info))``.
        """
        names = setup.names
        grid = self._grid()
        if grid[0] != 0.0:
            grid = np.concatenate([[0.0], grid])
        affine = any(np.any(b) for _, b in setup.cands)
        found: dict = {}

        def add(sym, w, source):
            key = _algebra_key(sym)
            if key not in found:
                found[key] = {"symmetry": sym, "weights": [], "source": source}
            if float(w) not in found[key]["weights"]:
                found[key]["weights"].append(float(w))

        add(Symmetry(names), 0.0, "none")
        path, solutions = [], {}
        if setup.shape[1]:
            prob, warm = setup.problem(), None
            for w in grid:
                try:
                    xt, info = self._solve(prob, w, warm)
                except PromotionError as exc:
                    # one weight that no solver can do does not sink the path: the others
                    # still propose candidates, and the failure is reported with the fit
                    warm = None
                    self._events["n_skipped"] += 1
                    self._events["messages"].append(f"weight {w:.3g} skipped: {exc}")
                    path.append({"weight": float(w), "specs": [], "proposed": [], "failed": str(exc)})
                    continue
                warm = info.get("state") if info["solver"] == "fast" else None
                solutions[float(w)] = (xt, info)
                disc = self._discover(setup, xt, setup.coef(xt), setup.X, info["solver"])
                sym, _ = _enforceable(names, disc)
                proposed = [] if sym.is_trivial else [(sym, "exact")]
                proposed += [(c, "snapped") for c in _snapped_candidates(setup, xt, names, affine)]
                for c, src in proposed:
                    add(c, w, src)
                path.append(
                    {
                        "weight": float(w),
                        "specs": list(disc.specs) + ([f"{len(disc.unnamed)} unnamed"] if disc.unnamed else []),
                        "proposed": sorted({_describe(c) for c, _ in proposed}),
                    }
                )
        else:
            solutions[0.0] = self._solve(setup.problem(), 0.0, None)
        entries = list(found.values())
        plain = found[b""]
        self._evaluate(setup, plain, None)
        plain_terms = plain["n_terms"] if plain["model"] is not None else None
        for e in entries:
            if e is not plain:
                self._evaluate(setup, e, plain_terms)
        eligible = [e for e in entries if e["eligible"]]
        if not eligible:
            reasons = "; ".join(f"{_describe(e['symmetry'])}: {e['reason']}" for e in entries[:3])
            raise PromotionError(f"weight 'auto': no candidate symmetry gives a model that can be checked ({reasons})")

        def rank(e):
            # equal errors: the smaller subspace, then named generators over unnamed ones (the
            # same subspace can come from a rotation plus a scaling or from their sum)
            return (e["loo"], e["model"].subspace_.dim, len(_unnamed(e["symmetry"])), min(e["weights"]))

        best = min(eligible, key=rank)
        chosen = self._most_symmetric(setup, best, eligible, found, plain_terms)
        entries = list(found.values())
        solved = [w for w in chosen["weights"] if w in solutions]
        if not solved:
            failed = "; ".join(pt["failed"] for pt in path if "failed" in pt)
            raise PromotionError(f"weight 'auto': no weight of the path could be solved ({failed})")
        weight = min(solved)
        candidates = []
        for e in sorted(entries, key=lambda e: (not e["eligible"], e["loo"])):
            candidates.append(
                {
                    "symmetry": _named_specs(e["symmetry"]),
                    "unnamed_generators": _unnamed(e["symmetry"]),
                    "description": _describe(e["symmetry"]) if not e["symmetry"].is_trivial else "none",
                    "source": e["source"],
                    "weights": list(e["weights"]),
                    "loo_error": e["loo"],
                    "n_terms": e["n_terms"],
                    "free_coefficients": int(e["model"].subspace_.dim) if e["model"] is not None else None,
                    "refit_check": e["check"],
                    "nested_check": e.get("nested_check"),
                    "eligible": e["eligible"],
                    "reason": e["reason"],
                    "chosen": e is chosen,
                }
            )
        for pt in path:
            pt["chosen"] = pt["weight"] == weight
        return weight, path, candidates, chosen, solutions[weight]

    def _residual(self, setup, coef, sym) -> float:
        if sym.is_trivial:
            return 0.0
        return float(equivariance_residual(coef, induced_action(setup.library, sym, x_samples=setup.X)))

    def _select_weight(self, setup: _Setup):
        """k-fold CV of promote -> discover -> enforce -> refit; one-standard-error rule."""
        from sklearn.model_selection import KFold

        grid = self._grid()
        if setup.shape[1] == 0:
            return 0.0, [], None
        m = len(setup.D)
        k = int(min(self.n_folds, m))
        if k < 2:
            raise ValueError(f"weight 'auto': {m} samples are too few for {self.n_folds}-fold cross-validation")
        folds = list(KFold(k, shuffle=True, random_state=self.random_state).split(np.arange(m)))
        errors = np.full((len(grid), k), np.inf)
        found = [[() for _ in range(k)] for _ in grid]
        for f, (train, test) in enumerate(folds):
            prob = setup.problem(train)
            Dte = setup.D[test]
            warm, cache = None, {}
            denom = max(float(np.sum(Dte**2)), 1e-300)
            for i, w in enumerate(grid):
                xt, info = self._solve(prob, w, warm, tol=max(self.tol, 1e-8))
                warm = info.get("state") if info["solver"] == "fast" else None
                disc = self._discover(setup, xt, setup.coef(xt), setup.X, info["solver"])
                sym, named = _enforceable(setup.names, disc)
                key = _symmetry_key(sym)
                if key not in cache:
                    try:
                        model, _, _ = self._enforce(setup, sym, named, train)
                        pred = setup.theta_raw[test] @ model.coef_.T
                        cache[key] = float(np.sum((Dte - pred) ** 2)) / denom
                    except PromotionError:
                        # no model could be fitted (e.g. too few samples): it predicts nothing
                        cache[key] = 1.0
                errors[i, f] = cache[key]
                found[i][f] = tuple(disc.specs) + ((f"+{len(disc.unnamed)} unnamed",) if disc.unnamed else ())
        with np.errstate(invalid="ignore"):
            mean = errors.mean(axis=1)
            se = errors.std(axis=1, ddof=1) / np.sqrt(k)
        finite = np.isfinite(mean)
        if not finite.any():
            raise PromotionError("weight 'auto': cross-validation gave no finite error for any weight of the grid")
        best = int(np.argmin(np.where(finite, mean, np.inf)))
        bound = float(mean[best] + (se[best] if np.isfinite(se[best]) else 0.0))
        ok = finite & (mean <= bound)
        chosen = int(np.flatnonzero(ok)[-1])
        path = []
        for i, w in enumerate(grid):
            specs = max(set(found[i]), key=found[i].count)
            path.append(
                {
                    "weight": float(w),
                    "cv_error": float(mean[i]),
                    "cv_se": float(se[i]) if np.isfinite(se[i]) else float("inf"),
                    "fold_errors": [float(e) for e in errors[i]],
                    "specs": list(specs),
                    "chosen": i == chosen,
                }
            )

        def check(sym, named) -> float:
            """Mean held-out relative error of enforcing ``sym`` on the same folds."""
            errs = []
            for train, test in folds:
                Dte = setup.D[test]
                try:
                    model, _, _ = self._enforce(setup, sym, named, train)
                    pred = setup.theta_raw[test] @ model.coef_.T
                    errs.append(float(np.sum((Dte - pred) ** 2)) / max(float(np.sum(Dte**2)), 1e-300))
                except PromotionError:
                    errs.append(1.0)
            return float(np.mean(errs))

        # accepted weights from the chosen one down; the best weight is always among them
        order = [int(i) for i in np.flatnonzero(ok)[::-1]]
        validation = {"weights": [float(grid[i]) for i in order], "index": order, "bound": bound, "check": check}
        return float(grid[chosen]), path, validation

    # ------------------------------------------------------------------ using the model
    def symmetry_summary(self) -> str:
        """E.g. ``"rotation(x,y); scaling(x=1,y=1)"``, ``"2 unnamed generators"`` or ``"none"``."""
        check_is_fitted(self, "coef_")
        parts = list(self.symmetry_specs_)
        # leave-one-out: the candidate chosen; otherwise: what the promoted model has
        k = len(_unnamed(self.symmetry_)) if self.candidates_ else len(self.discovered_.unnamed)
        if k:
            parts.append(f"{k} unnamed generator{'s' if k > 1 else ''}")
        return "; ".join(parts) if parts else "none"

    def to_dict(self) -> dict:
        """JSON-ready description of the fitted model and how it was chosen."""
        check_is_fitted(self, "coef_")
        info = dict(self.solver_info_)
        return {
            "variables": list(self.feature_names_),
            "terms": list(self.term_names_),
            "coefficients": self.coef_.tolist(),
            "equations": self.equations(precision=6),
            "promoted_coefficients": self.promoted_coef_.tolist(),
            "candidates": self.candidates if isinstance(self.candidates, str) else "given",
            "symmetry": list(self.symmetry_specs_),
            "unnamed_generators": [{"A": A.tolist(), "b": b.tolist()} for A, b in self.discovered_.unnamed],
            "enforced": list(self.symmetry_.specs),
            "singular_values": self.discovered_.singular_values.tolist(),
            "equivariance_residual": self.equivariance_residual_,
            "weight": self.weight_,
            "weight_selection": self.weight_selection(),
            "lam_ref": self.lam_ref_,
            "weight_path": [{k: v for k, v in e.items()} for e in self.weight_path_],
            "candidate_symmetries": [dict(c) for c in self.candidates_],
            "refit_check": None if self.refit_check_ is None else dict(self.refit_check_),
            "threshold": self.threshold_,
            "formulation": self.formulation_,
            "formulation_reason": self.formulation_reason_,
            "solver": info,
        }

    def weight_selection(self) -> str:
        """``"leave-one-out"``, ``"cross-validation"`` or ``"given"``."""
        if self.weight != "auto":
            return "given"
        return "leave-one-out" if self.selection == "loo" else "cross-validation"

    def _save_extras(self) -> dict:
        # the model's keys, then how the promotion chose it
        return {"promotion": self.to_dict()}
