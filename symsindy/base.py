"""What every symsindy estimator shares: one validation of the data, one way to use a fitted model.

:func:`validate_trajectories` checks trajectories, times, measured derivatives and variable names
once, for :class:`~symsindy.model.SymmetricSINDy`, :class:`~symsindy.promote.PromotedSINDy`,
:class:`~symsindy.ensemble.SymmetricEnsemble` and the functions built on them.

:class:`SINDyMixin` gives a fitted estimator (one with ``coef_``, ``library_`` and
``feature_names_``) the methods of a model, as pysindy's ``_BaseSINDy`` does for its own:
``predict``, ``simulate``, ``score`` (R² of derivatives), ``equations``, ``print``, ``sympy``,
``latex``, ``complexity``, ``to_symbolic`` and ``save`` (read back by :func:`symsindy.load_model`).

:func:`resolve_random_state` reads the ``random_state`` every randomised function and estimator
takes, and the older keyword ``seed`` where it was accepted.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path
from typing import NamedTuple

import numpy as np
from sklearn.utils.validation import check_is_fitted

__all__ = [
    "TrajectoryData",
    "validate_trajectories",
    "as_trajectories",
    "check_times",
    "check_increasing",
    "SINDyMixin",
    "clone_library",
    "resolve_random_state",
]


class TrajectoryData(NamedTuple):
    """Validated data: trajectories ``xs`` (each (m_k, n)), times ``ts`` (a step or an array each),
    measured derivatives ``dxs`` (or None) and the variable ``names``."""

    xs: list
    ts: list
    dxs: list | None
    names: list


def as_trajectories(x, name: str) -> list[np.ndarray] | None:
    """One ``(n_samples, n_variables)`` array or a list of them, as a list of float arrays, checked
    for shape, finiteness and a common number of variables; ``None`` stays ``None``."""
    if x is None:
        return None
    if isinstance(x, (list, tuple)) and len(x) and np.ndim(x[0]) == 2:
        trajs = [np.asarray(xi, dtype=float) for xi in x]
    else:
        arr = np.asarray(x, dtype=float)
        if arr.ndim == 1:
            arr = arr[:, None]
        if arr.ndim != 2:
            raise ValueError(
                f"{name}: expected an (n_samples, n_variables) array or a list of them, got shape {arr.shape}"
            )
        trajs = [arr]
    if not trajs:
        raise ValueError(f"{name}: no trajectories given")
    for k, xi in enumerate(trajs):
        if xi.ndim != 2:
            raise ValueError(f"{name}[{k}]: expected a 2-D (n_samples, n_variables) array, got shape {xi.shape}")
        if xi.shape[0] == 0:
            raise ValueError(f"{name}: trajectory {k} has no samples")
        bad = ~np.isfinite(xi)
        if bad.any():
            row, col = map(int, np.argwhere(bad)[0])
            raise ValueError(
                f"{name}: trajectory {k} has a non-finite value ({xi[row, col]}) at sample {row}, variable {col}"
            )
    n = {xi.shape[1] for xi in trajs}
    if len(n) > 1:
        raise ValueError(f"{name}: trajectories have different numbers of variables {sorted(n)}")
    return trajs


def check_times(t, xs) -> list:
    """Per trajectory, a positive time step (float) or strictly increasing finite times (array).

    ``t`` is a step, the times of a single trajectory, or a list with one of either per trajectory.
    """
    # a list with one entry per trajectory (a step or a times array each), unless it is
    # itself the times of a single trajectory
    per_trajectory = (
        isinstance(t, (list, tuple))
        and len(t) == len(xs)
        and all(np.ndim(ti) in (0, 1) for ti in t)
        and not (all(np.ndim(ti) == 0 for ti in t) and len(t) == len(xs[0]))
    )
    ts = list(t) if per_trajectory else [t] * len(xs)
    out = []
    for k, (ti, xi) in enumerate(zip(ts, xs)):
        if np.ndim(ti) == 0:
            try:
                step = None if isinstance(ti, (bool, str)) else float(ti)
            except (TypeError, ValueError):
                step = None
            if step is None or not np.isfinite(step) or step <= 0:
                raise ValueError(f"t: time step {ti!r} must be a positive number")
            out.append(step)
            continue
        ti = np.asarray(ti, float)
        if ti.shape != (len(xi),):
            raise ValueError(f"t: trajectory {k} has {len(xi)} samples but {ti.shape[0] if ti.ndim else 0} times")
        out.append(check_increasing(ti, f"t: trajectory {k}", "times"))
    return out


def check_increasing(v, where: str, what: str = "values") -> np.ndarray:
    """``v`` as a float array, checked finite and strictly increasing; one-line errors naming ``where``."""
    v = np.asarray(v, dtype=float)
    if not np.all(np.isfinite(v)):
        raise ValueError(f"{where}: {what} must be finite")
    if np.any(np.diff(v) <= 0):
        i = int(np.argmax(np.diff(v) <= 0))
        raise ValueError(f"{where}: {what} must be strictly increasing; [{i + 1}] = {v[i + 1]} after [{i}] = {v[i]}")
    return v


def validate_trajectories(x, t=None, x_dot=None, feature_names=None, *, default_names=None) -> TrajectoryData:
    """Check the data of a fit and return them as :class:`TrajectoryData`.

    Parameters
    ----------
    x : array or list of arrays
        One trajectory ``(n_samples, n)`` or a list of them.
    t : float, array or list, optional
        A time step or the sample times (per trajectory); needed unless ``x_dot`` is given.
    x_dot : array or list of arrays, optional
        Measured derivatives, shaped as ``x``.
    feature_names : list of str, optional
        Variable names; default ``default_names``, else ``x0, x1, ...``.
    default_names : list of str, optional
        The names to use when ``feature_names`` is not given (e.g. a symmetry's variables).

    Raises
    ------
    ValueError
        With one line naming the argument and what was expected.
    """
    xs = as_trajectories(x, "x")
    if xs is None:
        raise ValueError("x: the states are needed, got None")
    dxs = as_trajectories(x_dot, "x_dot")
    n = xs[0].shape[1]
    if dxs is not None:
        if len(dxs) != len(xs) or any(a.shape != b.shape for a, b in zip(xs, dxs)):
            raise ValueError(f"x_dot: shapes {[d.shape for d in dxs]} do not match x {[a.shape for a in xs]}")
    elif t is None:
        raise ValueError("t: sample times or a time step are needed when x_dot is not given")
    if feature_names is None:
        feature_names = list(default_names) if default_names is not None else [f"x{i}" for i in range(n)]
    if isinstance(feature_names, str):
        raise ValueError(f"feature_names {feature_names!r}: expected a list of names, one per variable")
    names = [str(v) for v in feature_names]
    if len(names) != n:
        raise ValueError(f"feature_names: {len(names)} names for {n} variables")
    if len(set(names)) != n:
        dup = next(v for v in names if names.count(v) > 1)
        raise ValueError(f"feature_names: the name {dup!r} is given twice")
    ts = check_times(t, xs) if t is not None else [1.0] * len(xs)
    if dxs is None:
        for k, xi in enumerate(xs):
            if len(xi) < 3:
                raise ValueError(f"x: trajectory {k} has {len(xi)} samples; at least 3 are needed to differentiate")
    return TrajectoryData(xs, ts, dxs, names)


def resolve_random_state(random_state, seed=None, where: str = "symsindy"):
    """``random_state``, or the older keyword ``seed`` (deprecated), which wins when it is given.

    Integers, ``None``, ``SeedSequence`` and ``Generator`` pass through; anything else is refused
    with one line.
    """
    if seed is not None:
        warnings.warn(f"{where}: 'seed' is deprecated; pass random_state", DeprecationWarning, stacklevel=3)
        random_state = seed
    ok = (
        random_state is None
        or (isinstance(random_state, (int, np.integer)) and not isinstance(random_state, bool) and random_state >= 0)
        or isinstance(random_state, (np.random.SeedSequence, np.random.Generator))
    )
    if not ok:
        raise ValueError(
            f"{where}: random_state {random_state!r}: expected a non-negative integer, None, a SeedSequence "
            "or a Generator"
        )
    return random_state


def clone_library(library):
    """An unfitted copy of a pysindy library: ``sklearn.base.clone``, or a deep copy where that fails.

    pysindy's ``CustomLibrary`` keeps its functions under other names than its parameters
    (``functions`` for ``library_functions``), so sklearn cannot rebuild it from them, nor any
    library that holds one (a ``GeneralizedLibrary``, a sum or product of libraries); a deep copy is
    equivalent there, as the library is fitted again before it is used.
    """
    from sklearn.base import clone

    try:
        return clone(library)
    except (AttributeError, TypeError, RuntimeError):
        import copy

        return copy.deepcopy(library)


class SINDyMixin:
    """The methods of a fitted model, for an estimator with ``coef_`` ((n, p)), ``library_`` (a fitted
    pysindy library) and ``feature_names_``; ``symmetry_``, ``equivariance_residual_``,
    ``threshold_`` and ``formulation_`` are recorded with it where the estimator has them.

    A subclass may extend ``_model_metadata`` (what the symbolic model keeps) and
    ``_save_extras`` (the keys :meth:`save` writes beside the model's).
    """

    def __sklearn_clone__(self):
        """The unfitted copy ``sklearn.base.clone`` makes (each parameter cloned), with every pysindy
        library among the parameters copied by :func:`clone_library`: sklearn's own clone fails on
        a ``CustomLibrary`` (``AttributeError``), and with it bagging
        (:class:`~symsindy.ensemble.SymmetricEnsemble`) and every sklearn tool that clones."""
        from pysindy.feature_library.base import BaseFeatureLibrary
        from sklearn.base import clone

        params = {
            k: clone_library(v) if isinstance(v, BaseFeatureLibrary) else clone(v, safe=False)
            for k, v in self.get_params(deep=False).items()
        }
        return type(self)(**params)

    def get_params(self, deep=True):
        """The estimator's parameters (``sklearn.base.BaseEstimator.get_params``); with ``deep``,
        those of a parameter that cannot list its own (pysindy's ``CustomLibrary``) are left out
        instead of raising ``AttributeError``."""
        out = super().get_params(deep=False)
        if deep:
            for key, value in list(out.items()):
                if hasattr(value, "get_params") and not isinstance(value, type):
                    try:
                        inner = value.get_params(deep=True)
                    except AttributeError:
                        continue
                    out.update((f"{key}__{k}", v) for k, v in inner.items())
        return out

    def __repr__(self, N_CHAR_MAX=700):
        try:
            return super().__repr__(N_CHAR_MAX)
        except AttributeError:
            # sklearn's printer asks each parameter for its own parameters (a CustomLibrary cannot
            # list them): the parameters that differ from the defaults, each as it can be shown
            import inspect

            defaults = {
                k: p.default for k, p in inspect.signature(type(self).__init__).parameters.items() if k != "self"
            }

            def shown(v):
                try:
                    return repr(v)
                except AttributeError:
                    return f"{type(v).__name__}(...)"

            def default(k, v):
                d = defaults.get(k, inspect.Parameter.empty)
                try:
                    return v is d or bool(v == d)
                except Exception:  # an array or an object without a plain comparison
                    return False

            items = [f"{k}={shown(v)}" for k, v in self.get_params(deep=False).items() if not default(k, v)]
            return f"{type(self).__name__}({', '.join(items)})"

    # ------------------------------------------------------------------ the symbolic model
    def _model_metadata(self) -> dict:
        meta = {}
        if hasattr(self, "equivariance_residual_"):
            meta["equivariance_residual"] = float(self.equivariance_residual_)
        if hasattr(self, "threshold_"):
            meta["threshold"] = float(self.threshold_)
            meta["threshold_rule"] = "auto" if isinstance(getattr(self, "threshold", None), str) else "given"
        if hasattr(self, "formulation_"):
            meta["formulation"] = self.formulation_
        meta["estimator"] = type(self).__name__
        return meta

    def to_symbolic(self):
        """The fitted model as a :class:`symsindy.symbolic.SymbolicModel` (rebuilt when ``coef_`` changes)."""
        check_is_fitted(self, "coef_")
        coef = np.asarray(self.coef_, float)
        sym = getattr(self, "symmetry_", None)
        key = (tuple(self.feature_names_), id(self.library_), None if sym is None else tuple(sym.specs))
        cached = getattr(self, "_symbolic", None)
        if (
            cached is None
            or getattr(self, "_symbolic_key", None) != key
            or cached.coef.shape != coef.shape
            or not np.array_equal(cached.coef, coef)
        ):
            from .symbolic import SymbolicModel, library_terms

            self._symbolic_key = key
            self._symbolic = SymbolicModel(
                self.feature_names_,
                library_terms(self.library_, self.feature_names_),
                coef,
                symmetry=[] if sym is None else list(sym.specs),
                metadata=self._model_metadata(),
            )
        return self._symbolic

    # ------------------------------------------------------------------ using the model
    def predict(self, x) -> np.ndarray:
        """The fitted right-hand side at states ``x``: (n,) gives (n,), (m, n) gives (m, n)."""
        return self.to_symbolic().rhs(np.asarray(x, float))

    def simulate(self, x0, t, **kwargs) -> np.ndarray:
        """Integrate the fitted model from ``x0`` at times ``t``; returns (len(t), n).

        Keyword arguments go to :meth:`symsindy.symbolic.SymbolicModel.simulate`.
        """
        return self.to_symbolic().simulate(x0, t, **kwargs)

    def score(self, x, t=None, x_dot=None, metric=None, **metric_kws) -> float:
        """How well the model predicts the derivatives: ``metric(x_dot, predict(x))``, R² by default.

        ``x``, ``t`` and ``x_dot`` are validated as in ``fit``.  Without ``x_dot`` the derivatives
        (and the smoothed states the model is evaluated at) are estimated as the strong form
        estimates them (:func:`symsindy.differentiation.estimate_derivatives`, with the estimator's
        ``differentiation``), as pysindy's ``score`` differentiates.  ``metric`` is a scikit-learn
        style ``metric(y_true, y_pred, **metric_kws)``; default ``sklearn.metrics.r2_score``.
        """
        from sklearn.metrics import r2_score

        from .differentiation import estimate_derivatives

        check_is_fitted(self, "coef_")
        data = validate_trajectories(x, t, x_dot, self.feature_names_)
        sx, sd = estimate_derivatives(data.xs, data.ts, data.dxs, differentiation=self._score_differentiation())
        X, D = np.vstack(sx), np.vstack(sd)
        if len(X) < 2:
            raise ValueError(f"score: {len(X)} sample with a finite derivative; at least 2 are needed")
        return float((r2_score if metric is None else metric)(D, self.predict(X), **metric_kws))

    def _score_differentiation(self):
        return getattr(self, "differentiation", None)

    def equations(self, precision: int = 3) -> list[str]:
        """One readable equation per variable, e.g. ``"x' = -0.100 x + 2.000 y"``."""
        return self.to_symbolic().equations(precision)

    def print(self, precision: int = 3, file=None) -> None:
        """Print :meth:`equations`, one per line (to ``file``, default standard output)."""
        self.to_symbolic().print(precision, file=file)

    def sympy(self) -> dict:
        """Right-hand sides as SymPy expressions, keyed by variable name."""
        return self.to_symbolic().expressions()

    def latex(self, precision: int = 3) -> str:
        r"""The equations as a LaTeX ``aligned`` environment, one ``\dot{x} &= ...`` line each."""
        return self.to_symbolic().latex(precision)

    def complexity(self) -> int:
        """The number of nonzero coefficients."""
        check_is_fitted(self, "coef_")
        return int(np.count_nonzero(self.coef_))

    # ------------------------------------------------------------------ saving
    def _save_extras(self) -> dict:
        return {}

    def save(self, path) -> None:
        """Write the model as JSON (the format of :mod:`symsindy.symbolic`, read back by
        :func:`symsindy.load_model`), with the estimator's own keys beside the model's."""
        d = self.to_symbolic().to_dict()
        for key, value in self._save_extras().items():
            d.setdefault(key, value)
        Path(path).write_text(json.dumps(_json_safe(d), indent=2, allow_nan=False) + "\n", encoding="utf-8")


def _json_safe(obj):
    """Plain JSON types: NumPy scalars and arrays converted, non-finite floats as None."""
    if isinstance(obj, dict):
        return {str(k): _json_safe(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_safe(v) for v in obj]
    if isinstance(obj, np.ndarray):
        return _json_safe(obj.tolist())
    if isinstance(obj, (np.floating, np.integer, np.bool_)):
        return _json_safe(obj.item())
    if isinstance(obj, float) and not np.isfinite(obj):
        return None
    return obj
