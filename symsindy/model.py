"""SymmetricSINDy: SINDy whose fitted model obeys given symmetries exactly."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import pysindy as ps
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from .actions import induced_action
from .base import SINDyMixin, clone_library, resolve_random_state, validate_trajectories
from .constraints import NoSymmetricModelError, equivariance_residual, equivariant_subspace
from .differentiation import AdaptiveSavitzkyGolay, default_differentiation, estimate_derivatives
from .optimizers import ConstrainedSTLSQ
from .symmetry import Symmetry

__all__ = [
    "SymmetricSINDy",
    "default_differentiation",
    "estimate_derivatives",
    "AdaptiveSavitzkyGolay",
    "IllConditionedWarning",
    "library_conditioning",
]

#: condition number (columns scaled to unit norm) of the library on the regression rows above which
#: a fit warns that the data do not determine its coefficients.  Measured on the catalogue's
#: default trajectories (1 % noise, weak form, the model libraries of ``bench_conserved.py``,
#: seeds 0 and 1): every system whose fit recovers the structure is at 1 to 5.4e3 (Lorenz 2e2,
#: the rigid body up to 7e2, SIR, SEIR and the Toda lattice 1.3e3 to 5.4e3); Kuramoto, whose
#: phases lock, is at 6e4 to 6.9e4 and FPU-beta, whose trajectories stay near its lowest normal
#: mode, at 1.4e5, and both fits are wrong even in their support (from generic initial states:
#: 250 and 700, and exact).  The same figure and cut as symmetry discovery's ``max_condition``.
ILL_CONDITIONED = 1e4


class IllConditionedWarning(UserWarning):
    """The library's columns are nearly dependent on the data: the coefficients are poorly determined."""


def library_conditioning(theta, term_names, cut: float = ILL_CONDITIONED, top: int = 5) -> dict:
    """How well the regression rows ``theta`` (rows x library columns) determine coefficients.

    The columns are scaled to unit norm; the condition number is the ratio of the extreme
    singular values, infinite when a column vanishes on the data (listed under
    ``zero_columns``).  ``nearly_dependent``: the terms with the largest weights in the
    combination of the other scaled columns closest to zero (the last right singular vector),
    at least a fifth of the largest, at most ``top``; ``ill_conditioned``: whether the number
    exceeds ``cut`` (see ``ILL_CONDITIONED``).  Symmetry discovery reports the same number
    (``SymmetryReport.condition_number``).
    """
    theta = np.asarray(theta, float)
    names = [str(n) for n in term_names]
    norms = np.linalg.norm(theta, axis=0)
    live = np.flatnonzero(norms > 0)
    out = {"condition_number": float("inf"), "nearly_dependent": [], "zero_columns": [], "ill_conditioned": False}
    out["zero_columns"] = [names[k] for k in np.flatnonzero(norms == 0)]
    if len(live) == 0:
        return out
    _, sv, Vt = np.linalg.svd(theta[:, live] / norms[live], full_matrices=False)
    cond = float(sv[0] / sv[-1]) if sv[-1] > 0 and len(live) == len(norms) else float("inf")
    v = np.abs(Vt[-1])
    order = [k for k in np.argsort(-v, kind="stable") if v[k] >= 0.2 * v.max()][:top]
    out.update(
        condition_number=cond,
        nearly_dependent=[names[live[k]] for k in order],
        ill_conditioned=bool(cond > cut),
        cut=float(cut),
    )
    return out


@dataclasses.dataclass
class _Rows:
    """What a fit regresses: ``target ~ theta @ coef.T`` (samples and derivatives, or the weak
    form's test-function rows), the states behind them, and the library and symmetry set up."""

    theta: np.ndarray
    target: np.ndarray
    states: np.ndarray
    library: object
    symmetry: Symmetry
    action: object
    subspace: object
    formulation: str
    reason: str
    weak: object


class SymmetricSINDy(SINDyMixin, BaseEstimator):
    """Sparse identification of nonlinear dynamics with exactly enforced symmetry.

    Fits ``x' = coef_ @ Theta(x)`` inside the subspace of models equivariant under
    ``symmetry`` (``f(g x) = g f(x)`` for every group element), with sequential
    thresholding that keeps the symmetry exact.

    Parameters
    ----------
    library : pysindy feature library, optional
        Default ``ps.PolynomialLibrary(degree=2)``.
    symmetry : Symmetry, spec string, list of spec strings or "auto", optional
        E.g. ``"rotation(x,y)"``; variable names come from ``feature_names``.
        ``None`` fits plain (unconstrained) SINDy with the same optimizer.  ``"auto"``
        discovers the symmetries first (:func:`symsindy.discover.discover_symmetries`, with
        this estimator's library, threshold, ridge, formulation and differentiation), enforces
        those found in at least ``min_frequency`` of the bootstrap refits
        (:func:`symsindy.discover.enforced_symmetry`) and refits; ``discovery_`` holds the
        report and ``enforced_specs_`` what was enforced.
    threshold : float or "auto", default "auto"
        Coefficients below this are zeroed.  ``"auto"`` follows a path of thresholds and
        keeps the support ``criterion`` prefers (see
        :func:`symsindy.optimizers.select_support`); the choice is ``threshold_``.
    alpha : float, default 0.0
        Ridge weight during thresholding.  0 was chosen by measurement: inside the
        equivariant subspace the ridge mostly shrinks scarce-data fits into a wrong
        support (``benchmarks/bench_ridge.py``).
    max_iter : int, default 20
    normalize_columns : bool, default False
    unbias : bool, default True
    differentiation : pysindy differentiation, optional
        Default :func:`default_differentiation`. Ignored when ``x_dot`` is given or in
        the weak formulation.
    formulation : {"auto", "strong", "weak"}, default "auto"
        ``"strong"`` regresses derivatives (measured, or differentiated from ``x``);
        ``"weak"`` regresses test-function integrals, ``-int phi' x = Xi^T int phi Theta(x)``
        (:mod:`symsindy.weak`), which needs no derivative and averages noise out.
        ``"auto"``: weak for time series without measured derivatives whose every
        trajectory hosts test functions, else strong; ``formulation_`` says which, and
        ``formulation_reason_`` why.
    weak : symsindy.weak.WeakForm, optional
        Test-function settings of the weak formulation (default: chosen from the data), and
        whether it is regressed by generalised least squares with the residual's covariance
        (``WeakForm(gls=True)``, the default; :func:`symsindy.weak.whitened_system`).
    criterion : {"mstls", "cv", "aicc", "bic"}, default "mstls"
        How ``threshold="auto"`` scores a support.
    rtol : float, default 1e-9
        Relative singular-value tolerance of the equivariant nullspace.
    action_method : {"auto", "polynomial", "symbolic", "sampled"}, default "auto"
    random_state : int, SeedSequence, Generator or None, default 0
        Seeds what is random in a fit: the bootstrap of ``symmetry="auto"``.
    discovery : dict, optional
        Options of ``symmetry="auto"``: keyword arguments of
        :func:`~symsindy.discover.discover_symmetries` (``candidates``, ``n_bootstrap``,
        ``refit_tol``, ...; their defaults, e.g. 20 bootstrap refits) and ``min_frequency``
        (default 0.5).

    Attributes
    ----------
    coef_ : (n_variables, n_terms) array
    feature_names_ : list of str
    term_names_ : list of str
    library_ : fitted library
    symmetry_ : Symmetry
    subspace_ : EquivariantSubspace
    action_ : InducedAction
    equivariance_residual_ : float
        Relative residual of ``coef_ D - A coef_`` (0 for plain fits).
    threshold_ : float
        The threshold used (the one chosen when ``threshold="auto"``).
    threshold_path_ : list of symsindy.optimizers.PathPoint
        With ``threshold="auto"``: every support on the path with its score, and those
        backward elimination reached from the path's choice (``source="elimination"``) or from
        the choice with one term exchanged for another (``source="swap"``).
    conditioning_ : dict
        :func:`library_conditioning` of the regression rows: the condition number of the
        scaled library on the data and its nearly dependent terms.  Above ``ILL_CONDITIONED``
        (1e4) ``fit`` warns (:class:`IllConditionedWarning`) and ``fit_summary`` says so: the
        data do not determine the coefficients (trajectories that stay near one orbit, phases
        that lock).
    formulation_ : {"strong", "weak"}
    formulation_reason_ : str
    weak_system_ : symsindy.weak.WeakSystem or None
        The test functions and integrals of a weak fit; for a polynomial library its
        ``feature_noise`` is the noise the monomials were corrected for
        (``WeakForm(bias_correction=True)``, the default), else None.
    weak_noise_ : (n,) array or None
        The noise level a weak fit's generalised least squares assumed (``WeakForm(gls=True)``,
        the default), else None.
    optimizer_ : ConstrainedSTLSQ
        The fitted optimizer (a pysindy ``BaseOptimizer``; ``path_`` holds the path).
    discovery_ : symsindy.discover.SymmetryReport or None
        With ``symmetry="auto"``: what the discovery found; else None.
    enforced_specs_ : list of str
        The named symmetries enforced (``symmetry_.specs``; with ``"auto"``, those that passed).
    """

    def __init__(
        self,
        library=None,
        symmetry=None,
        threshold="auto",
        alpha=0.0,
        max_iter=20,
        normalize_columns=False,
        unbias=True,
        differentiation=None,
        rtol=1e-9,
        action_method="auto",
        formulation="auto",
        weak=None,
        criterion="mstls",
        random_state=0,
        discovery=None,
    ):
        self.library = library
        self.symmetry = symmetry
        self.threshold = threshold
        self.alpha = alpha
        self.max_iter = max_iter
        self.normalize_columns = normalize_columns
        self.unbias = unbias
        self.differentiation = differentiation
        self.rtol = rtol
        self.action_method = action_method
        self.formulation = formulation
        self.weak = weak
        self.criterion = criterion
        self.random_state = random_state
        self.discovery = discovery

    # ------------------------------------------------------------------ fitting
    def _resolve_symmetry(self, names: Sequence[str]) -> Symmetry:
        sym = self.symmetry
        if sym is None:
            return Symmetry(names)
        if isinstance(sym, str) and sym.strip() == "auto":
            raise ValueError("symmetry 'auto' is resolved by fit: the symmetry is discovered from the data")
        if isinstance(sym, Symmetry):
            if list(sym.variables) != list(names):
                raise ValueError(f"symmetry acts on variables {list(sym.variables)} but the data have {list(names)}")
            return sym
        if isinstance(sym, str) or (isinstance(sym, (list, tuple)) and all(isinstance(s, str) for s in sym)):
            return Symmetry(names, sym)
        raise ValueError(f"symmetry {sym!r}: expected a Symmetry, a spec string or a list of spec strings")

    def fit(self, x, t=None, x_dot=None, feature_names=None):
        """Fit to one trajectory ``(n_samples, n)`` or a list of them.

        Parameters
        ----------
        x : array or list of arrays
        t : float, array or list of arrays, optional
            Time step or sample times (per trajectory); needed unless ``x_dot`` is given.
        x_dot : array or list of arrays, optional
            Measured derivatives, used instead of differentiating ``x``.
        feature_names : list of str, optional
            Variable names (default: the symmetry's variables, else ``x0, x1, ...``).
        """
        if self._auto_symmetry():
            return self._fit_auto(x, t, x_dot, feature_names)
        self._fit_data(*self._validate(x, t, x_dot, feature_names))
        self.discovery_ = None
        self.enforced_specs_ = list(self.symmetry_.specs)
        self._warn_conditioning()
        return self

    def _warn_conditioning(self) -> None:
        line = self._conditioning_line()
        if line:
            import warnings

            warnings.warn(line, IllConditionedWarning, stacklevel=3)

    def _conditioning_line(self) -> str:
        """The summary's warning when the data do not determine the coefficients ("" otherwise)."""
        c = getattr(self, "conditioning_", None)
        if not c or not c["ill_conditioned"]:
            return ""
        number = "infinite" if not np.isfinite(c["condition_number"]) else f"{c['condition_number']:.3g}"
        return (
            f"the library's columns are nearly dependent on these data (condition number "
            f"{number} with columns scaled, above {c['cut']:.3g}; nearly dependent: "
            f"{', '.join(c['nearly_dependent'])}): the coefficients are poorly determined; trajectories "
            f"that explore more of the state space would determine them"
        )

    def _auto_symmetry(self) -> bool:
        return isinstance(self.symmetry, str) and self.symmetry.strip() == "auto"

    def _fit_auto(self, x, t, x_dot, feature_names):
        """``symmetry="auto"``: discover, keep what the bootstrap supports, enforce it and refit."""
        import inspect

        from .discover import discover_symmetries, enforced_symmetry

        if self.discovery is not None and not isinstance(self.discovery, dict):
            raise ValueError(f"discovery {self.discovery!r}: expected a dict of discovery options")
        opts = dict(self.discovery or {})
        min_frequency = opts.pop("min_frequency", 0.5)
        shared = ("library", "threshold", "alpha", "formulation", "weak", "differentiation", "random_state", "seed")
        allowed = [
            k
            for k, prm in inspect.signature(discover_symmetries).parameters.items()
            if prm.kind is inspect.Parameter.KEYWORD_ONLY and k not in shared
        ]
        unknown = sorted(set(opts) - set(allowed))
        if unknown:
            raise ValueError(
                f"discovery: unknown option {unknown[0]!r}; options are min_frequency, {', '.join(allowed)}"
            )
        random_state = resolve_random_state(self.random_state, where=type(self).__name__)
        data = validate_trajectories(x, t, x_dot, feature_names)
        report = discover_symmetries(
            data.xs,
            data.ts if t is not None else None,
            data.dxs,
            data.names,
            library=self.library,
            threshold=self.threshold,
            alpha=self.alpha,
            formulation=self.formulation,
            weak=self.weak,
            differentiation=self.differentiation,
            random_state=random_state,
            **opts,
        )
        sym, enforced = enforced_symmetry(report, min_frequency)
        self._fit_data(data.xs, data.ts, data.dxs, data.names, sym)
        self.discovery_ = report
        self.enforced_specs_ = enforced
        self._warn_conditioning()
        return self

    def _fit_data(self, xs, ts, dxs, feature_names, sym) -> "_Rows":
        """Fit validated data (see :meth:`_validate`); returns the rows regressed, for callers
        (discovery) that go on working with the same samples or test functions."""
        rows = self._rows(xs, ts, dxs, feature_names, sym)
        gls = self._whitened(rows, xs) if rows.weak is not None else None
        self._fit_rows(
            rows.theta,
            rows.target,
            rows.library,
            feature_names,
            rows.symmetry,
            rows.action,
            rows.subspace,
            unit="samples" if rows.weak is None else "test functions",
            gls=gls,
        )
        self.conditioning_ = library_conditioning(rows.theta, self.term_names_)
        self.formulation_ = rows.formulation
        self.formulation_reason_ = rows.reason
        self.weak_system_ = rows.weak
        self.weak_noise_ = None if gls is None else gls.sigma.copy()
        return rows

    def _whitened(self, rows, xs):
        """The weak system whitened by its residual covariance at the full least-squares fit
        (:func:`symsindy.weak.whitened_system`), or None (``WeakForm(gls=False)``, or a
        covariance that is not positive definite, e.g. noise-free data given ``noise=0``)."""
        from .optimizers import _Problem
        from .weak import WeakForm, pooled_noise, whitened_system

        weak = WeakForm() if self.weak is None else self.weak
        if not weak.gls:
            return None
        n = rows.target.shape[1]
        p = rows.theta.shape[1]
        if isinstance(weak.noise, str):
            used = [xi for xi, tf in zip(xs, rows.weak.test_functions) if tf is not None and len(xi) > 6]
            if not used:
                return None
            sigma = pooled_noise(used)
        else:
            sigma = np.broadcast_to(np.asarray(weak.noise, float), (n,))
        Q = None if rows.symmetry.is_trivial else rows.subspace.basis
        full = _Problem(rows.theta, rows.target, Q).full.reshape(p, n).T
        try:
            return whitened_system(rows.weak, xs, rows.library.transform, full, sigma)
        except np.linalg.LinAlgError:
            return None

    def _validate(self, x, t, x_dot, feature_names):
        """Trajectories, times (a step or an array each), derivatives or None, names and symmetry
        (:func:`symsindy.base.validate_trajectories`, then the symmetry on those names)."""
        default = list(self.symmetry.variables) if isinstance(self.symmetry, Symmetry) else None
        xs, ts, dxs, names = validate_trajectories(x, t, x_dot, feature_names, default_names=default)
        return xs, ts, dxs, names, self._resolve_symmetry(names)

    def _rows(self, xs, ts, dxs, feature_names, sym) -> "_Rows":
        """The regression rows of a fit: the library and symmetry set up, then either the weak
        system or (smoothed) samples with their derivatives."""
        formulation, reason = self._choose_formulation(dxs)
        X_all = np.vstack(xs)
        library = ps.PolynomialLibrary(degree=2) if self.library is None else clone_library(self.library)
        library.fit(X_all)
        sym, action, subspace = self._subspace(library, sym, X_all)
        weak_sys = None
        if formulation == "weak":
            weak_sys, formulation, reason = self._weak_system(xs, ts, library, subspace.dim, len(feature_names), reason)
        if weak_sys is not None:
            theta, target, states = weak_sys.G, weak_sys.b, X_all
        else:
            sx, sd = estimate_derivatives(xs, ts, dxs, differentiation=self.differentiation)
            states, target = np.vstack(sx), np.vstack(sd)
            theta = np.asarray(library.transform(states), float)
        return _Rows(theta, target, states, library, sym, action, subspace, formulation, reason, weak_sys)

    def _subspace(self, library, sym, x_samples):
        action = induced_action(library, sym, method=self.action_method, x_samples=x_samples)
        subspace = equivariant_subspace(action, rtol=self.rtol)
        if subspace.dim == 0:
            raise NoSymmetricModelError(
                f"symmetry {'; '.join(sym.specs)!r}: no nonzero model in this library satisfies it "
                f"(the equivariant subspace of {action.n_terms} terms x {len(sym.variables)} variables is {{0}})"
            )
        return sym, action, subspace

    def _fit_rows(self, theta, target, library, feature_names, sym, action, subspace, unit="samples", gls=None):
        """Sparse regression of ``target`` rows on ``theta`` rows inside the equivariant subspace;
        with ``gls`` (a :class:`symsindy.weak.WhitenedSystem` of these rows), the fit is generalised
        least squares on its whitened rows; the automatic path is thresholded by coefficient and
        contribution (``scale``) and its supports are scored on ``theta`` and ``target``."""
        n = target.shape[1]
        m_total = theta.shape[0]
        if m_total * n < subspace.dim:
            raise ValueError(
                f"too few {unit}: {m_total} {unit} x {n} variables give {m_total * n} equations for "
                f"{subspace.dim} free coefficients of the {'symmetric ' if not sym.is_trivial else ''}model; "
                f"use more data or a smaller library"
            )
        p = theta.shape[1]
        scale = None
        if gls is not None and isinstance(self.threshold, str):
            # WSINDy's bound on the automatic path (a given threshold means |c| >= threshold
            # alone): |Theta_j| / |y_i| in the rows' own (unwhitened) units
            tn, yn = np.linalg.norm(theta, axis=0), np.linalg.norm(target, axis=0)
            scale = (tn[None, :] / np.where(yn > 0, yn, 1.0)[:, None]).T.reshape(1, p * n)
        optimizer = ConstrainedSTLSQ(
            basis=None if sym.is_trivial else subspace.basis,
            threshold=self.threshold,
            alpha=self.alpha,
            max_iter=self.max_iter,
            normalize_columns=self.normalize_columns,
            unbias=self.unbias,
            criterion=self.criterion,
            scale=scale,
            # the supports' scores stay in the rows' own units: in the whitened ones the share of
            # the signal a term explains depends on the model through the covariance (measured:
            # scored there, Hopf and the damped oscillator lose true terms)
            score_rows=None if gls is None else (theta, target),
        )
        if gls is None:
            optimizer.fit(theta, target)
            path = list(getattr(optimizer, "path_", []))
            coef = np.array(optimizer.coef_, dtype=float)
        else:
            # one target: the stacked coefficients in feature ordering, the basis's own ordering
            # (a zero initial guess spares pysindy's unused least-squares start)
            optimizer.set_params(initial_guess=np.zeros((1, p * n)))
            optimizer.fit(gls.X, gls.y[:, None])
            path = [
                dataclasses.replace(pt, support=pt.support.reshape(p, n).T.copy(), coef=pt.coef.reshape(p, n).T.copy())
                for pt in getattr(optimizer, "path_", [])
            ]
            coef = np.array(optimizer.coef_, dtype=float).reshape(p, n).T.copy()
        self.optimizer_ = optimizer
        self.library_ = library
        self.coef_ = coef
        self.threshold_ = float(optimizer.threshold_)
        self.threshold_path_ = path
        self.feature_names_ = list(feature_names)
        self.term_names_ = list(library.get_feature_names(list(feature_names)))
        self.conditioning_ = None  # a fit to data measures it (_fit_data); refits on given rows do not
        self.symmetry_ = sym
        self.action_ = action
        self.subspace_ = subspace
        self.n_features_in_ = n
        self.equivariance_residual_ = equivariance_residual(self.coef_, action)
        self.formulation_ = "strong"
        self.formulation_reason_ = "given rows"
        self.weak_system_ = None
        self.weak_noise_ = None
        self._symbolic = None
        return self

    def _choose_formulation(self, dxs):
        f = self.formulation
        if f not in ("auto", "strong", "weak"):
            raise ValueError(f"formulation {f!r}: expected 'strong', 'weak' or 'auto'")
        if f == "strong":
            return "strong", "requested"
        if dxs is not None:
            if f == "weak":
                raise ValueError(
                    "formulation 'weak': the weak form integrates the states against test functions and would "
                    "not use the measured x_dot; pass formulation='strong' (or 'auto') to use them"
                )
            return "strong", "measured derivatives"
        return "weak", "requested" if f == "weak" else "time series without measured derivatives"

    def _weak_system(self, xs, ts, library, dof, n, reason):
        """The weak system, or a fall-back to the strong form (with a warning) where it cannot be had."""
        import warnings

        from .weak import WeakFormUnavailable, skipped_text, weak_system

        features, sigma = self._weak_features(xs, library)
        try:
            ws = weak_system(xs, ts, features, weak=self.weak)
        except WeakFormUnavailable as exc:
            if self.formulation == "weak":
                warnings.warn(f"weak formulation unavailable ({exc}); using the strong form", stacklevel=3)
            return None, "strong", f"weak form unavailable: {exc}"
        if ws.skipped:
            skipped = skipped_text(ws.skipped)
            if self.formulation == "auto":
                return None, "strong", f"trajectories too short for test functions: {skipped}"
            warnings.warn(f"weak formulation: trajectories left out: {skipped}", stacklevel=3)
        if self.formulation == "auto" and ws.G.shape[0] * n < 2 * dof:
            return (
                None,
                "strong",
                (f"{ws.G.shape[0]} test functions give too few equations for {dof} free coefficients"),
            )
        if ws.G.shape[0] * n < dof:
            ws, reason = self._denser(xs, ts, features, ws, dof, n, reason)
        ws.feature_noise = sigma
        return ws, "weak", reason

    def _denser(self, xs, ts, features, ws, dof, n, reason):
        """The weak form asked for, with too few test functions for the free coefficients (wide
        test functions on a short or noisy record): their centres closer together, halving the
        spacing until there are twice as many equations as coefficients or no more centres fit.
        A count given in ``WeakForm(n_test=)`` is kept (the fit then says the data are too few)."""
        import copy
        import warnings

        from .weak import WeakForm, weak_system

        weak = copy.copy(self.weak if self.weak is not None else WeakForm())
        if weak.n_test != "auto":
            return ws, reason
        k0, spacing0 = ws.G.shape[0], weak.spacing
        while ws.G.shape[0] * n < 2 * dof and weak.spacing > 1e-3:
            weak.spacing = weak.spacing / 2
            denser = weak_system(xs, ts, features, weak=weak)
            if denser.G.shape[0] == ws.G.shape[0]:  # every centre the grid allows is taken
                break
            ws = denser
        if ws.G.shape[0] == k0:
            return ws, reason
        note = (
            f"{k0} test functions {spacing0:g} radii apart gave {k0 * n} equations for {dof} free coefficients; "
            f"{ws.G.shape[0]} placed {ws.spacing:g} radii apart"
        )
        warnings.warn(f"weak formulation: {note}", stacklevel=4)
        return ws, f"{reason}; {note}"

    def _weak_features(self, xs, library):
        """What the weak form integrates: the library's columns, or for a polynomial library (its
        columns checked to be the monomials of ``powers_``) with ``WeakForm(bias_correction=True)``
        the noise-corrected monomials (:func:`symsindy.weak.noise_corrected_monomials`); and the
        noise level corrected for (None when not corrected)."""
        from .weak import WeakForm, noise_corrected_monomials, resolved_noise

        weak = WeakForm() if self.weak is None else self.weak
        weak._check_params()
        powers = getattr(library, "powers_", None) if isinstance(library, ps.PolynomialLibrary) else None
        if not weak.bias_correction or powers is None:
            return library.transform, None
        n = xs[0].shape[1]
        if isinstance(weak.noise, str):
            sigma = resolved_noise(xs)
        else:
            sigma = np.broadcast_to(np.asarray(weak.noise, float), (n,)).copy()
        if sigma is None or not np.any(sigma > 0):
            return library.transform, None
        probe = np.vstack(xs)[:: max(1, sum(len(x) for x in xs) // 64)][:64]
        plain = np.asarray(library.transform(probe), float)
        if plain.shape != (len(probe), len(powers)) or not np.allclose(
            noise_corrected_monomials(probe, powers, 0.0), plain, rtol=1e-9, atol=1e-12 * max(1.0, np.abs(plain).max())
        ):
            return library.transform, None  # columns that are not the monomials of powers_
        return (lambda z: noise_corrected_monomials(z, powers, sigma)), sigma

    # ------------------------------------------------------------------ using the model
    def _save_extras(self) -> dict:
        # fit_info's keys (formulation, threshold, sparsity) beside the model's
        return self.fit_info()

    def fit_info(self, n_runner_up: int = 2) -> dict:
        """How the fit was made, as plain JSON types.

        ``formulation`` ("strong" or "weak") with ``formulation_reason``; ``threshold`` (the
        one used); ``sparsity``: the rule ("given" or the criterion of ``"auto"``), the
        chosen support's size and score, and the ``n_runner_up`` next-best supports (terms
        added or dropped against the chosen one); ``weak``: the test functions of a weak fit;
        ``conditioning``: how well the rows determine the coefficients
        (:func:`library_conditioning`: the scaled library's condition number, the nearly
        dependent terms, whether it is above ``ILL_CONDITIONED``).
        """
        check_is_fitted(self, "coef_")
        info = {
            "formulation": self.formulation_,
            "formulation_reason": self.formulation_reason_,
            "threshold": float(self.threshold_),
        }
        path = self.threshold_path_
        if path:
            chosen = int(self.optimizer_.path_index_)
            order = sorted(range(len(path)), key=lambda i: path[i].score)
            runners = [i for i in order if i != chosen][:n_runner_up]
            info["sparsity"] = {
                "rule": f"auto ({self.criterion})",
                "n_terms": int(path[chosen].n_terms),
                "score": float(path[chosen].score),
                "threshold_range": [float(path[chosen].threshold), float(path[chosen].threshold_max)],
                "source": str(getattr(path[chosen], "source", "threshold")),
                "runner_up": [self._support_delta(path[chosen], path[i]) for i in runners],
            }
        else:
            info["sparsity"] = {"rule": "given", "n_terms": int(np.count_nonzero(self.coef_))}
        if getattr(self, "conditioning_", None) is not None:
            from .base import _json_safe

            info["conditioning"] = _json_safe(dict(self.conditioning_))  # singular: None
        ws = self.weak_system_
        if ws is not None:
            info["weak"] = {
                "test_functions": [int(k) for k in ws.rows_per_trajectory],
                "radius": [None if r is None else float(r) for r in ws.radii],
                "p": [None if p is None else int(p) for p in ws.p],
                "skipped": [[int(k), str(why)] for k, why in ws.skipped],
                "spacing": None if ws.spacing is None else float(ws.spacing),
                "regression": "ordinary least squares"
                if getattr(self, "weak_noise_", None) is None
                else "generalised least squares",
                "noise": None if getattr(self, "weak_noise_", None) is None else [float(v) for v in self.weak_noise_],
                "bias_correction": None
                if getattr(ws, "feature_noise", None) is None
                else [float(v) for v in ws.feature_noise],
            }
        return info

    def _support_delta(self, chosen, other) -> dict:
        names = [f"{v}': {t}" for v in self.feature_names_ for t in self.term_names_]
        a, b = chosen.support.ravel(), other.support.ravel()
        return {
            "n_terms": int(other.n_terms),
            "score": float(other.score),
            "threshold": float(other.threshold),
            "source": str(getattr(other, "source", "threshold")),
            "adds": [names[i] for i in np.flatnonzero(b & ~a)],
            "drops": [names[i] for i in np.flatnonzero(a & ~b)],
        }

    def fit_summary(self) -> list[str]:
        """Lines saying how the model was fitted: formulation, threshold and runner-up supports."""
        info = self.fit_info()
        lines = [f"formulation: {info['formulation']} ({info['formulation_reason']})"]
        if "weak" in info:
            w = info["weak"]
            radii = [r for r in w["radius"] if r is not None]
            lines[-1] += (
                f"; {sum(w['test_functions'])} test functions, radius "
                + ", ".join(f"{r:.3g}" for r in radii)
                + f"; {w['regression']}"
            )
            if w["noise"] is not None:
                lines[-1] += " (noise " + ", ".join(f"{v:.3g}" for v in w["noise"]) + ")"
            if w["bias_correction"] is not None:
                lines[-1] += "; monomials corrected for the noise's bias" + (
                    ""
                    if w["noise"] is not None
                    else " (noise " + ", ".join(f"{v:.3g}" for v in w["bias_correction"]) + ")"
                )
        if self._conditioning_line():
            lines.append("warning: " + self._conditioning_line())
        sp = info["sparsity"]
        if sp["rule"] == "given":
            lines.append(f"threshold: {info['threshold']:.4g} (given)")
            return lines
        lo, hi = sp["threshold_range"]
        if sp.get("source") == "elimination":
            reach = "reached by backward elimination from the threshold path's choice; its smallest coefficient"
        elif sp.get("source") == "swap":
            reach = "reached by exchanging a term of the choice for another, then backward elimination"
        else:
            reach = f"the same support for thresholds {lo:.3g} to {hi:.3g}"
        lines.append(
            f"threshold: {info['threshold']:.4g} ({sp['rule']}: {sp['n_terms']} terms, score {sp['score']:.4g}; {reach})"
        )
        for r in sp["runner_up"]:
            change = "; ".join(
                x
                for x in (
                    ("adds " + ", ".join(r["adds"])) if r["adds"] else "",
                    ("drops " + ", ".join(r["drops"])) if r["drops"] else "",
                )
                if x
            )
            by = {"elimination": ", by backward elimination", "swap": ", by an exchange and elimination"}.get(
                r.get("source"), ""
            )
            lines.append(f"  runner-up: {r['n_terms']} terms, score {r['score']:.4g}{by} ({change or 'same terms'})")
        return lines
