"""``SymmetricPDESINDy``: a PDE ``u_t = Xi Theta(u, u_x, u_xx, ...)`` fitted with a symmetry enforced.

The strong form: ``u_t`` by finite differences in time (pysindy's ``FiniteDifference``), the
library's columns at every grid point and time away from the edges (where the differences are
one-sided).  The weak form (``symsindy/pde/_weak.py``, :func:`~symsindy.pde.field_weak_system`):
one row per space-time test function, ``−∫ ∂ₜφ u = Σⱼ ξⱼ ∫ φ θⱼ``, with the spatial derivatives
moved onto φ where the term allows it.  Either way the rows are regressed by the constrained
sequential thresholding of :class:`symsindy.optimizers.ConstrainedSTLSQ` inside the equivariant
subspace of :func:`~symsindy.pde.pde_action`, so that the returned PDE is exactly equivariant;
``predict`` and ``score`` are always about the PDE's ``u_t``, never the weak rows.
"""

from __future__ import annotations

import warnings

import numpy as np
import pysindy as ps
import sympy
from sklearn.base import BaseEstimator
from sklearn.utils.validation import check_is_fitted

from ..base import resolve_random_state
from ..constraints import NoSymmetricModelError, equivariance_residual, equivariant_subspace
from ..optimizers import ConstrainedSTLSQ
from ._actions import pde_action
from ._data import FieldData
from ._library import pde_library, pde_terms, to_pysindy
from ._weak import DEFAULT_N_TEST, field_weak_system

__all__ = ["SymmetricPDESINDy"]

#: the options ``discovery={...}`` passes to :func:`~symsindy.pde.discover_pde_symmetries`
_DISCOVERY_KEYS = ("family", "spatial", "discrete", "tol", "max_null", "min_gap", "refit_tol")


class SymmetricPDESINDy(BaseEstimator):
    """PDE-FIND with an exactly enforced symmetry.

    Parameters
    ----------
    degree : int, default 2
        Degree of the polynomials in the components.
    derivative_order : int, default 2
        Highest spatial derivative.
    symmetry : spec string, list of spec strings, "auto" or None
        Over the component and axis names, e.g. ``"flip(x)+flip(u)"`` (Burgers) or
        ``"rotation(u,v)"`` (see :func:`~symsindy.pde.pde_action`); None fits plain PDE-FIND.
        ``"auto"`` fits without symmetry, discovers the symmetries the data support on the same
        regression rows (:func:`~symsindy.pde.discover_pde_symmetries`), enforces those the
        refit check accepts and fits again; ``discovery_`` holds the report and
        ``enforced_specs_`` what was enforced.
    threshold : float or "auto", default "auto"
        As :class:`~symsindy.model.SymmetricSINDy`.
    alpha : float, default 0.0
        Ridge weight during thresholding.
    edge : int, default 2
        Grid points (and times) left out at each edge by the strong form, where the differences
        are one-sided.
    formulation : {"auto", "strong", "weak"}, default "auto"
        ``"strong"``: ``u_t`` by finite differences.  ``"weak"``: test-function rows (a one-line
        ``ValueError``, :class:`symsindy.weak.WeakFormUnavailable`, when the grid is too small
        for them).  ``"auto"``: the weak form when the fields are large enough, that is, every
        axis (time and space) hosts the test functions (at least 25 samples for the automatic
        radius of 6 samples or more, or ``2 width + 1`` for a given one) and the possible centres
        give at least twice as many equations as free coefficients; else the strong form, with a
        warning saying why.  ``formulation_`` says which was used, ``formulation_reason_`` why.
    n_test : "auto" or int, default "auto"
        Test functions of the weak form, over all runs; ``"auto"``: 600, or every possible
        centre when there are fewer.
    width : "auto", int or dict, default "auto"
        Radius of the test functions in samples: one number for every axis, or a dict by axis
        name (``"t"`` for time); ``"auto"`` and axes left out follow WSINDy's spectral-corner rule
        (:func:`~symsindy.pde.field_widths`).
    p : "auto", int or dict, default "auto"
        Exponent of the test functions ``(1 − s²)^p`` per axis, as ``width``.
    random_state : int, Generator, SeedSequence or None, default 0
        Seeds the weak form's choice of centres; the fit is reproducible for a fixed seed.
    discovery : dict or None
        With ``symmetry="auto"``: options of the discovery (``family``, ``spatial``,
        ``discrete``, ``tol``, ``max_null``, ``min_gap``, ``refit_tol``).

    Attributes
    ----------
    coef_ : (ncomp, p) array
    terms_ : list of sympy.Expr
        The library's columns (:func:`~symsindy.pde.pde_terms`).
    term_names_, feature_names_, axes_ : list of str
    library_ : fitted ``pysindy.PDELibrary``
    subspace_ : EquivariantSubspace
    equivariance_residual_ : float
        Relative residual of ``coef_`` under the enforced symmetry (0 for plain fits).
    threshold_ : float
    symmetry_specs_ : list of str
    formulation_ : {"strong", "weak"}
    formulation_reason_ : str
    weak_system_ : FieldWeakSystem or None
        The weak rows, their test functions' radii and exponents (None for the strong form).
    discovery_ : PDESymmetryReport or None
        With ``symmetry="auto"``: what the discovery found (None otherwise).
    enforced_specs_ : list of str or None
        With ``symmetry="auto"``: the specs enforced in the returned fit.
    """

    def __init__(
        self,
        degree=2,
        derivative_order=2,
        symmetry=None,
        threshold="auto",
        alpha=0.0,
        edge=2,
        formulation="auto",
        n_test="auto",
        width="auto",
        p="auto",
        random_state=0,
        discovery=None,
    ):
        self.degree = degree
        self.derivative_order = derivative_order
        self.symmetry = symmetry
        self.threshold = threshold
        self.alpha = alpha
        self.edge = edge
        self.formulation = formulation
        self.n_test = n_test
        self.width = width
        self.p = p
        self.random_state = random_state
        self.discovery = discovery

    def _rows(self, data: FieldData, lib):
        e = int(self.edge)
        thetas, targets = [], []
        for t, u in zip(data.t, data.u):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cols = np.asarray(lib.transform([to_pysindy(u)])[0])  # (nx[, ny], nt, p)
                ut = np.asarray(ps.FiniteDifference(axis=0)._differentiate(u, t))  # (nt, nx[, ny], ncomp)
            cols = np.moveaxis(cols, -2, 0)  # (nt, nx[, ny], p)
            inner = (slice(e, len(t) - e),) + tuple(slice(e, n - e) for n in data.shape)
            thetas.append(cols[inner].reshape(-1, cols.shape[-1]))
            targets.append(ut[inner].reshape(-1, ut.shape[-1]))
        return np.vstack(thetas), np.vstack(targets)

    def fit(self, data: FieldData):
        """Fit to :class:`~symsindy.pde.FieldData` (see :func:`~symsindy.pde.read_fields`)."""
        if isinstance(self.symmetry, str) and self.symmetry.strip() == "auto":
            return self._fit_auto(data)
        if self.discovery is not None:
            raise ValueError("discovery: options for symmetry='auto' only; this fit has symmetry given")
        self.discovery_ = None
        self.enforced_specs_ = None
        self._fit_specs(data, self.symmetry)
        return self

    def _fit_auto(self, data: FieldData):
        """Fit without symmetry, discover what the data support on the same rows, enforce it, refit."""
        from ._discover import discover_pde_symmetries

        options = {} if self.discovery is None else self.discovery
        if not isinstance(options, dict):
            raise ValueError(f"discovery: expected a dict of options, got {type(options).__name__}")
        unknown = sorted(set(options) - set(_DISCOVERY_KEYS))
        if unknown:
            raise ValueError(
                f"discovery: unknown option(s) {', '.join(unknown)}; expected {', '.join(_DISCOVERY_KEYS)}"
            )
        rows = self._fit_specs(data, None)
        report = discover_pde_symmetries(rows, self.library_, self.feature_names_, self.axes_, self.coef_, **options)
        report.term_names = list(self.term_names_)
        specs = report.specs
        if specs:
            try:
                self._fit_specs(data, specs)
            except NoSymmetricModelError as exc:
                warnings.warn(f"symmetry 'auto': {exc}; the fit without symmetry is returned", stacklevel=2)
                specs = []
                self._fit_specs(data, None)
        self.discovery_ = report
        self.enforced_specs_ = list(specs)
        return self

    def _fit_specs(self, data: FieldData, symmetry):
        """The fit with ``symmetry`` (specs or None) enforced; returns its regression rows."""
        if not isinstance(data, FieldData):
            raise ValueError(f"data: expected FieldData (symsindy.pde.read_fields), got {type(data).__name__}")
        if isinstance(self.edge, bool) or not isinstance(self.edge, (int, np.integer)) or self.edge < 1:
            raise ValueError(f"edge {self.edge!r}: expected an integer >= 1")
        if self.formulation not in ("auto", "strong", "weak"):
            raise ValueError(f"formulation {self.formulation!r}: expected 'strong', 'weak' or 'auto'")
        random_state = resolve_random_state(self.random_state, where=type(self).__name__)
        data.time_step()
        lib = pde_library(data, self.degree, self.derivative_order)
        names, axes = list(data.names), list(data.axes)
        specs = [] if symmetry is None else symmetry
        action = pde_action(lib, names, axes, specs)
        subspace = equivariant_subspace(action)
        if subspace.dim == 0:
            raise NoSymmetricModelError(f"symmetry {specs!r}: no nonzero PDE in this library satisfies it")
        weak, reason = None, "requested"
        if self.formulation != "strong":
            weak, reason = self._weak_rows(data, lib, subspace.dim, random_state)
        if weak is None:
            theta, target = self._rows(data, lib)
        else:
            theta, target = weak.G, weak.b
        if len(theta) * len(names) < subspace.dim:
            raise ValueError(
                f"too few grid points: {len(theta)} rows x {len(names)} components for {subspace.dim} coefficients"
            )
        trivial = action.symmetry.is_trivial
        opt = ConstrainedSTLSQ(basis=None if trivial else subspace.basis, threshold=self.threshold, alpha=self.alpha)
        opt.fit(theta, target)
        self.library_ = lib
        self.coef_ = np.array(opt.coef_, float)
        self.terms_ = pde_terms(lib, names, axes)
        self.term_names_ = [str(t) for t in self.terms_]
        self.feature_names_ = names
        self.axes_ = axes
        self.subspace_ = subspace
        self.action_ = action
        self.threshold_ = float(opt.threshold_)
        self.optimizer_ = opt
        self.symmetry_specs_ = [specs] if isinstance(specs, str) else list(specs)
        self.equivariance_residual_ = 0.0 if trivial else equivariance_residual(self.coef_, action)
        self.formulation_ = "strong" if weak is None else "weak"
        self.formulation_reason_ = reason
        self.weak_system_ = weak
        return theta, target

    def _weak_rows(self, data, lib, dof, random_state):
        """The weak system and why it is used, or ``(None, reason)`` for the strong form under "auto"."""
        from ..weak import WeakFormUnavailable

        try:
            weak = field_weak_system(
                data, lib, n_test=self.n_test, width=self.width, p=self.p, random_state=random_state
            )
        except WeakFormUnavailable as exc:
            if self.formulation == "weak":
                raise
            warnings.warn(f"weak form unavailable ({exc}); using the strong form", stacklevel=3)
            return None, f"weak form unavailable: {exc}"
        ncomp = data.n_components
        if self.formulation == "auto" and min(weak.n_positions, DEFAULT_N_TEST) * ncomp < 2 * dof:
            why = f"{weak.n_positions} test-function positions give too few equations for {dof} free coefficients"
            warnings.warn(f"weak form not used ({why}); using the strong form", stacklevel=3)
            return None, why
        sizes = ", ".join(f"{a} {w}" for a, w in weak.widths.items())
        how = "requested" if self.formulation == "weak" else "fields large enough for test functions"
        return weak, f"{how}; {weak.n_test} test functions of radius {sizes} samples"

    def sympy(self) -> dict:
        """Right-hand sides as SymPy expressions, keyed by component name (derivatives ``u_x`` ...)."""
        check_is_fitted(self, "coef_")
        return {
            c: sympy.Add(*[sympy.Float(float(k)) * t for k, t in zip(row, self.terms_) if k != 0])
            for c, row in zip(self.feature_names_, self.coef_)
        }

    def equations(self, precision: int = 3) -> list[str]:
        """One line per component, e.g. ``"u_t = -1.000*u*u_x + 0.100*u_xx"``."""
        out = []
        for c, expr in self.sympy().items():
            rounded = expr.xreplace(
                {f: sympy.Float(round(float(f), precision), precision + 2) for f in expr.atoms(sympy.Float)}
            )
            out.append(f"{c}_t = {sympy.sstr(rounded)}")
        return out

    def predict(self, data: FieldData) -> list[np.ndarray]:
        """The model's ``u_t`` on each run of ``data`` (same grid): a list of (nt, nx[, ny], ncomp)."""
        check_is_fitted(self, "coef_")
        out = []
        for u in data.u:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                cols = np.asarray(self.library_.transform([to_pysindy(u)])[0])  # (nx[, ny], nt, p)
            out.append(np.moveaxis(cols @ self.coef_.T, -2, 0))
        return out

    def score(self, data: FieldData, metric=None, **metric_kws) -> float:
        """How well the model predicts ``u_t`` (finite differences in time, away from the edges):
        ``metric(u_t, predicted)``, R² by default."""
        from sklearn.metrics import r2_score

        check_is_fitted(self, "coef_")
        theta, target = self._rows(data, self.library_)
        return float((r2_score if metric is None else metric)(target, theta @ self.coef_.T, **metric_kws))

    def complexity(self) -> int:
        check_is_fitted(self, "coef_")
        return int(np.count_nonzero(self.coef_))
