"""``SymmetricPDESINDy``: a PDE ``u_t = Xi Theta(u, u_x, u_xx, ...)`` fitted with a symmetry enforced.

The strong form: ``u_t`` by finite differences in time (pysindy's ``FiniteDifference``), the
library's columns at every grid point and time away from the edges (where the differences are
one-sided).  The weak form (``symsindy/pde/_weak.py``, :func:`~symsindy.pde.field_weak_system`):
one row per space-time test function, ``−∫ ∂ₜφ u = Σⱼ ξⱼ ∫ φ θⱼ``, with the spatial derivatives
moved onto φ where the term allows it.  Either way the rows are regressed by the constrained
sequential thresholding of :class:`symsindy.optimizers.ConstrainedSTLSQ` inside the equivariant
subspace of :func:`~symsindy.pde.pde_action`, so that the returned PDE is exactly equivariant;
``predict`` and ``score`` are always about the PDE's ``u_t``, never the weak rows.  ``simulate``
integrates the fitted PDE on its grid, taken periodic (the catalogue's pseudo-spectral ETDRK4
solver); ``save`` writes it as JSON and :func:`load_pde_model` reads it back.
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

__all__ = ["SymmetricPDESINDy", "load_pde_model"]

#: weight of the fraction of terms kept in the automatic threshold's criterion for fields
SPARSITY_WEIGHT = 0.3


def _check_weight(w) -> float:
    if isinstance(w, bool) or not isinstance(w, (int, float, np.integer, np.floating)) or not np.isfinite(w) or w < 0:
        raise ValueError(f"sparsity_weight {w!r}: expected a finite number >= 0")
    return float(w)


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
        As :class:`~symsindy.model.SymmetricSINDy`: ``"auto"`` follows a path of thresholds and
        keeps the support WSINDy's criterion prefers (:func:`~symsindy.optimizers.select_support`,
        ``"mstls"``), with weight ``sparsity_weight`` on the fraction of terms kept.
    sparsity_weight : float, default 0.3
        That weight.  Chosen by measurement on noisy fields (weak form, 0-40 % noise; README,
        "Estimation defaults"): the ODE default 0.1 keeps noise terms in the fields' small
        libraries at 20-40 % noise (KdV at 40 %: 10 of 20 exact against 20 with 0.3).
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
    coordinates : None, str or sequence of str, default None
        Axes whose values are features: every column times every monomial of these coordinates
        up to ``coordinate_degree`` (:class:`~symsindy.pde.CoordinateLibrary`), for PDEs that
        depend on the place, such as transport by a given flow (``c_t = y c_x - x c_y + ...``).
        A symmetry then moves the coordinates with the domain, so that a translation is a
        constraint rather than a property of every model.  ``"x,y"`` or ``("x", "y")``.
    coordinate_degree : int, default 1
        Highest degree of those monomials.

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
        sparsity_weight=SPARSITY_WEIGHT,
        coordinates=None,
        coordinate_degree=1,
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
        self.sparsity_weight = sparsity_weight
        self.coordinates = coordinates
        self.coordinate_degree = coordinate_degree

    def _library(self, data: FieldData):
        return pde_library(
            data,
            self.degree,
            self.derivative_order,
            coordinates=self.coordinates,
            coordinate_degree=self.coordinate_degree,
        )

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
        report = discover_pde_symmetries(
            rows, self.library_, self.feature_names_, self.axes_, self.coef_, groups=self._row_blocks, **options
        )
        report.term_names = list(self.term_names_)
        specs = report.specs
        # the symmetric refit has fewer free coefficients, so where the plain fit had enough
        # equations for the weak form it has too: the same rows (same library and centres)
        reuse = (self.library_, self.weak_system_, self.formulation_reason_) if self.weak_system_ is not None else None
        if specs:
            try:
                self._fit_specs(data, specs, reuse=reuse)
            except NoSymmetricModelError as exc:
                warnings.warn(f"symmetry 'auto': {exc}; the fit without symmetry is returned", stacklevel=2)
                specs = []
                self._fit_specs(data, None)
        self.discovery_ = report
        self.enforced_specs_ = list(specs)
        return self

    def _fit_specs(self, data: FieldData, symmetry, reuse=None):
        """The fit with ``symmetry`` (specs or None) enforced; returns its regression rows.

        ``reuse``: ``(library, weak system, reason)`` of an earlier weak fit to the same data with
        the same settings, whose rows this fit regresses instead of building them again."""
        if not isinstance(data, FieldData):
            raise ValueError(f"data: expected FieldData (symsindy.pde.read_fields), got {type(data).__name__}")
        if isinstance(self.edge, bool) or not isinstance(self.edge, (int, np.integer)) or self.edge < 1:
            raise ValueError(f"edge {self.edge!r}: expected an integer >= 1")
        if self.formulation not in ("auto", "strong", "weak"):
            raise ValueError(f"formulation {self.formulation!r}: expected 'strong', 'weak' or 'auto'")
        random_state = resolve_random_state(self.random_state, where=type(self).__name__)
        data.time_step()
        lib = self._library(data) if reuse is None else reuse[0]
        names, axes = list(data.names), list(data.axes)
        specs = [] if symmetry is None else symmetry
        action = pde_action(lib, names, axes, specs)
        subspace = equivariant_subspace(action)
        if subspace.dim == 0:
            raise NoSymmetricModelError(f"symmetry {specs!r}: no nonzero PDE in this library satisfies it")
        weak, reason = None, "requested"
        if reuse is not None:
            weak, reason = reuse[1], reuse[2]
        elif self.formulation != "strong":
            weak, reason = self._weak_rows(data, lib, subspace.dim, random_state)
        if weak is None:
            theta, target = self._rows(data, lib)
        else:
            theta, target = weak.G, weak.b
        self._row_blocks = self._blocks(data, weak)
        if len(theta) * len(names) < subspace.dim:
            raise ValueError(
                f"too few grid points: {len(theta)} rows x {len(names)} components for {subspace.dim} coefficients"
            )
        trivial = action.symmetry.is_trivial
        opt = ConstrainedSTLSQ(
            basis=None if trivial else subspace.basis,
            threshold=self.threshold,
            alpha=self.alpha,
            sparsity_weight=_check_weight(self.sparsity_weight),
        )
        opt.fit(theta, target)
        self.library_ = lib
        self.grid_ = {a: np.array(data.grid[a], float) for a in axes}
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

    def _blocks(self, data: FieldData, weak, n_blocks: int = 5) -> np.ndarray:
        """Each regression row's block of time: the fifth of its run's time span it lies in (the
        centre of its test function in the weak form), for held-out checks."""
        if weak is not None:
            nts = np.array([len(t) for t in data.t])
            frac = weak.centers[:, 1] / np.maximum(nts[weak.centers[:, 0]] - 1, 1)
        else:
            e = int(self.edge)
            inner = int(np.prod([n - 2 * e for n in data.shape]))
            frac = np.concatenate([np.repeat(np.arange(e, len(t) - e), inner) / (len(t) - 1) for t in data.t])
        return np.minimum((frac * n_blocks).astype(int), n_blocks - 1)

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
        return [f"{c}_t = {sympy.sstr(_rounded(e, precision))}" for c, e in self.sympy().items()]

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
        """The number of nonzero coefficients."""
        check_is_fitted(self, "coef_")
        return int(np.count_nonzero(self.coef_))

    def print(self, precision: int = 3, file=None) -> None:
        """Print :meth:`equations`, one per line (to ``file``, default standard output)."""
        for line in self.equations(precision):
            print(line, file=file)

    def latex(self, precision: int = 3) -> str:
        r"""The PDE as a LaTeX ``aligned`` environment, one ``u_t &= ...`` line per component
        (derivatives as ``u_{xx}``)."""
        lines = []
        for c, expr in self.sympy().items():
            rhs = sympy.latex(_rounded(expr, precision)) if expr != 0 else "0"
            lines.append(f"{sympy.latex(sympy.Symbol(f'{c}_t'))} &= {rhs}")
        return "\\begin{aligned}\n" + " \\\\\n".join(lines) + "\n\\end{aligned}"

    def simulate(self, u0, t, *, max_step=None, rtol: float = 1e-6) -> np.ndarray:
        """Integrate the fitted PDE from the field ``u0`` on the fitted grid, taken periodic.

        Pseudo-spectral with exponential time differencing (ETDRK4; the constant-coefficient
        linear part exactly, the rest on the grid with spectral derivatives and 2/3 dealiasing),
        the solver of the PDE catalogue (``symsindy/pde/_systems.py``).  The period of each axis
        is its number of points times its spacing.

        Parameters
        ----------
        u0 : (nx[, ny], ncomp) array
            The initial field on the fitted grid.
        t : (nt,) array
            Evenly spaced output times; the integration starts at ``t[0]``.
        max_step : float, optional
            Largest internal step.  By default the step is halved from the output spacing until
            one output interval integrated with it and with half of it agree to ``rtol``
            (relative, in the largest value of the field).
        rtol : float, default 1e-6
            The agreement the automatic step asks for.

        Returns
        -------
        (nt, nx[, ny], ncomp) array
        """
        check_is_fitted(self, "coef_")
        shape = tuple(len(self.grid_[a]) for a in self.axes_)
        u0 = np.asarray(u0, float)
        if u0.shape != shape + (len(self.feature_names_),):
            raise ValueError(f"u0: expected shape {shape + (len(self.feature_names_),)}, got {u0.shape}")
        if not np.all(np.isfinite(u0)):
            raise ValueError("u0: contains NaN or inf")
        t = np.asarray(t, float).ravel()
        if len(t) < 2 or not np.all(np.isfinite(t)) or np.any(np.diff(t) <= 0):
            raise ValueError("t: expected at least 2 strictly increasing finite times")
        steps = np.diff(t)
        if np.ptp(steps) > 1e-6 * steps.mean():
            raise ValueError("t: expected evenly spaced times")
        if max_step is not None and not (isinstance(max_step, (int, float)) and np.isfinite(max_step) and max_step > 0):
            raise ValueError(f"max_step {max_step!r}: expected a positive number")
        if not (isinstance(rtol, (int, float)) and np.isfinite(rtol) and rtol > 0):
            raise ValueError(f"rtol {rtol!r}: expected a positive number")
        rel = t - t[0]
        if max_step is None:
            h = float(steps[0])
            scale = max(float(np.abs(u0).max()), 1e-300)
            for _ in range(12):
                try:
                    coarse = self._solver(h)._integrate(u0, shape, rel[:2])[-1]
                    fine = self._solver(h / 2)._integrate(u0, shape, rel[:2])[-1]
                except ValueError:  # not finite with this step
                    h /= 2
                    continue
                if np.abs(coarse - fine).max() <= rtol * scale:
                    break
                h /= 2
            else:
                raise ValueError(
                    f"simulate: no step down to {h:.3g} integrates the first interval to rtol {rtol:g}; "
                    "the fitted PDE may be unstable (give max_step to integrate anyway)"
                )
            max_step = h
        return self._solver(float(max_step))._integrate(u0, shape, rel)

    def _solver(self, max_step):
        from ._systems import PDESystem

        axes = list(self.axes_)
        lengths, origin = [], []
        for a in axes:
            g = self.grid_[a]
            step = float(np.mean(np.diff(g)))
            lengths.append(step * len(g))
            origin.append(float(g[0]))
        return PDESystem(
            name="fitted",
            description="the fitted PDE",
            reference="",
            components=tuple(self.feature_names_),
            axes=tuple(axes),
            parameters={},
            equations=self.sympy(),
            symmetries=(),
            degree=int(self.degree),
            derivative_order=int(self.derivative_order),
            lengths=tuple(lengths),
            origin=tuple(origin),
            nx=tuple(len(self.grid_[a]) for a in axes) if len(axes) > 1 else len(self.grid_[axes[0]]),
            nt=2,
            t_end=1.0,
            max_step=float(max_step),
            initial=None,
            coordinates=tuple(getattr(self.library_, "coordinates", ())),
        )

    def to_dict(self) -> dict:
        """The fitted PDE as plain JSON types (what :meth:`save` writes)."""
        from ..expressions import format_expression

        check_is_fitted(self, "coef_")
        out = {
            "kind": "pde",
            "estimator": type(self).__name__,
            "components": list(self.feature_names_),
            "axes": list(self.axes_),
            "grid": {a: self.grid_[a].tolist() for a in self.axes_},
            "degree": int(self.degree),
            "derivative_order": int(self.derivative_order),
            "coordinates": list(getattr(self.library_, "coordinates", ())),
            "coordinate_degree": int(getattr(self.library_, "coordinate_degree", 1)),
            "equations": {c: format_expression(e) for c, e in self.sympy().items()},
            "terms": [format_expression(t) for t in self.terms_],
            "coefficients": self.coef_.tolist(),
            "symmetry": list(self.symmetry_specs_),
            "equivariance_residual": float(self.equivariance_residual_),
            "formulation": self.formulation_,
            "threshold": float(self.threshold_),
        }
        if getattr(self, "discovery_", None) is not None:
            out["discovery"] = self.discovery_.to_dict()
        return out

    def save(self, path) -> None:
        """Write the fitted PDE as JSON; :func:`~symsindy.pde.load_pde_model` reads it back."""
        import json
        from pathlib import Path

        from ..base import _json_safe

        Path(path).write_text(
            json.dumps(_json_safe(self.to_dict()), indent=2, allow_nan=False) + "\n", encoding="utf-8"
        )


def _rounded(expr, precision: int):
    """``expr`` with every float rounded to ``precision`` decimals, for printing."""
    return expr.xreplace({f: sympy.Float(round(float(f), precision), precision + 2) for f in expr.atoms(sympy.Float)})


def load_pde_model(path) -> SymmetricPDESINDy:
    """A fitted :class:`SymmetricPDESINDy` from a file :meth:`SymmetricPDESINDy.save` wrote: its
    equations, ``predict`` and ``simulate`` on the saved grid (the symmetry is recorded, not
    re-enforced; the coefficients are the saved ones)."""
    import json
    from pathlib import Path

    try:
        d = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot read a saved PDE model ({str(exc).splitlines()[0]})") from None
    keys = ("components", "axes", "grid", "degree", "derivative_order", "terms", "coefficients")
    if not isinstance(d, dict) or d.get("kind") != "pde" or any(k not in d for k in keys):
        raise ValueError(f"{path}: not a saved PDE model (expected kind 'pde' and keys {', '.join(keys)})")
    names, axes = list(d["components"]), list(d["axes"])
    grid = {a: np.asarray(d["grid"][a], float) for a in axes}
    shape = tuple(len(grid[a]) for a in axes)
    probe = FieldData(names, axes, grid, [np.arange(3.0)], [np.zeros((3,) + shape + (len(names),))], str(path))
    model = SymmetricPDESINDy(
        degree=int(d["degree"]),
        derivative_order=int(d["derivative_order"]),
        coordinates=list(d.get("coordinates", [])) or None,
        coordinate_degree=int(d.get("coordinate_degree", 1)),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pysindy's notice about deprecated PDELibrary options
        lib = model._library(probe)
    terms = pde_terms(lib, names, axes)
    from ..expressions import format_expression

    if [format_expression(t) for t in terms] != list(d["terms"]):
        raise ValueError(f"{path}: the saved terms do not match this version's library of that degree and order")
    coef = np.asarray(d["coefficients"], float)
    if coef.shape != (len(names), len(terms)):
        raise ValueError(f"{path}: coefficients of shape {coef.shape}, expected {(len(names), len(terms))}")
    model.library_ = lib
    model.grid_ = grid
    model.coef_ = coef
    model.terms_ = terms
    model.term_names_ = [str(t) for t in terms]
    model.feature_names_ = names
    model.axes_ = axes
    model.symmetry_specs_ = list(d.get("symmetry", []))
    model.equivariance_residual_ = float(d.get("equivariance_residual", 0.0))
    model.formulation_ = d.get("formulation", "strong")
    model.formulation_reason_ = "loaded"
    model.threshold_ = float(d.get("threshold", 0.0))
    model.weak_system_ = None
    model.discovery_ = None
    model.enforced_specs_ = None
    return model
