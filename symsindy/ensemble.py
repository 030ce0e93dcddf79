"""Bagging of symmetric models: inclusion probabilities, intervals, an aggregated model.

:class:`SymmetricEnsemble` fits a :class:`~symsindy.model.SymmetricSINDy` to each of
``n_models`` resamples of the samples (bootstrap by default).  Every member lies
exactly in the equivariant subspace ``w = Q z``, so each member obeys the symmetry
exactly; so does the aggregated model, the median taken in the subspace coordinates
``z`` (an entrywise median of tied coefficients need not be tied).

An *orbit* is a column of ``Q`` (the readable basis of
:attr:`SymmetricSINDy.subspace_`): the coefficient entries the symmetry ties together,
e.g. ``x': +y; y': -x`` for a rotation.  Its inclusion probability is the fraction of
members in which its coordinate is nonzero.
"""

from __future__ import annotations

import copy

import numpy as np
from sklearn.base import BaseEstimator, clone
from sklearn.utils.validation import check_is_fitted

from .base import SINDyMixin, resolve_random_state

__all__ = ["SymmetricEnsemble", "symmetric_ensemble"]


def _fit_member(base, X, D, names):
    """Fit one member; module level so that joblib and dask can ship it."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return clone(base).fit(X, x_dot=D, feature_names=names)


def _take_and_fit(base, X, D, idx, names):
    return _fit_member(base, X[idx], D[idx], names)


class SymmetricEnsemble(SINDyMixin, BaseEstimator):
    """Bootstrap (bagging) ensemble of :class:`~symsindy.model.SymmetricSINDy` models.

    Derivatives are estimated once on the whole data (as the base model would,
    :func:`symsindy.discover.estimate_derivatives`) unless ``x_dot`` is given; members
    are fitted to resampled rows of (smoothed states, derivatives).

    Parameters
    ----------
    base : SymmetricSINDy, optional
        The model to bag (default ``SymmetricSINDy()``); cloned for every member.
    n_models : int, default 20
    subsample : float or int, default 1.0
        Rows per member: a fraction of the samples (float in (0, 1]) or a count (int).
    replace : bool, default True
        Draw rows with replacement (bootstrap) or without (subsampling).
    random_state : int, SeedSequence, Generator or None
        Seeds the resampling; all members' rows are drawn up front, so results do not
        depend on how the members are run in parallel.
    n_jobs : int, optional
        Fit members with joblib on this many processes (``None`` or 1: a plain loop).
        A dask ``client`` passed to :meth:`fit` takes precedence.
    percentiles : (float, float), default (2.5, 97.5)
        Bounds of the coefficient intervals.
    zero_tol : float, default 1e-10
        A coefficient (or orbit coordinate) counts as present when its magnitude exceeds
        ``zero_tol`` times the member's largest coefficient.

    Attributes
    ----------
    members_ : list of SymmetricSINDy
    member_coef_ : (n_models, n_variables, n_terms) array
    member_coords_ : (n_models, k) array
        Members' coordinates in the subspace basis (columns of ``subspace_.basis``).
    coef_ : (n_variables, n_terms) array
        The aggregated model: ``Q median(z)``, exactly symmetric.
    coef_interval_ : (2, n_variables, n_terms) array
        Percentile bounds of each coefficient over the members.
    inclusion_probability_ : (n_variables, n_terms) array
    orbit_inclusion_probability_ : (k,) array
    orbit_interval_ : (2, k) array
        Percentile bounds of each orbit coordinate.
    orbits_ : list of list of (variable, term, weight)
        The entries of each basis column.
    orbit_names_ : list of str
        Readable orbits, e.g. ``"x': +y; y': -x"``.
    equivariance_residuals_ : (n_models,) array
        Each member's relative equivariance residual.
    equivariance_residual_ : float
        The aggregated model's.
    model_ : SymmetricSINDy
        A fitted model carrying ``coef_``.
    discovery_ : symsindy.discover.SymmetryReport or None
        With a base of ``symmetry="auto"``: the discovery made once on all the data, whose
        enforced symmetry every member is fitted with.
    subspace_, symmetry_, term_names_, feature_names_
        As fitted on the whole data.
    """

    def __init__(
        self,
        base=None,
        n_models=20,
        subsample=1.0,
        replace=True,
        random_state=None,
        n_jobs=None,
        percentiles=(2.5, 97.5),
        zero_tol=1e-10,
    ):
        self.base = base
        self.n_models = n_models
        self.subsample = subsample
        self.replace = replace
        self.random_state = random_state
        self.n_jobs = n_jobs
        self.percentiles = percentiles
        self.zero_tol = zero_tol

    # ------------------------------------------------------------------ fitting
    def _rows_per_member(self, m: int) -> int:
        s = self.subsample
        if isinstance(s, bool) or not isinstance(s, (int, float, np.integer, np.floating)):
            raise ValueError(f"subsample {s!r}: expected a fraction in (0, 1] or a positive number of rows")
        if isinstance(s, (int, np.integer)):
            k = int(s)
            if k < 1:
                raise ValueError(f"subsample {s!r}: expected at least 1 row")
        else:
            if not (0 < s <= 1):
                raise ValueError(f"subsample {s!r}: a fraction must lie in (0, 1]")
            k = max(1, int(round(s * m)))
        if not self.replace and k > m:
            raise ValueError(
                f"subsample {s!r}: {k} rows without replacement from {m} samples; use replace=True or fewer rows"
            )
        return k

    def fit(self, x, t=None, x_dot=None, feature_names=None, client=None):
        """Fit the members; arguments as :meth:`SymmetricSINDy.fit`, plus an optional dask ``client``."""
        from .base import validate_trajectories
        from .differentiation import estimate_derivatives
        from .model import SymmetricSINDy
        from .symmetry import Symmetry

        if isinstance(self.n_models, bool) or not isinstance(self.n_models, (int, np.integer)) or self.n_models < 1:
            raise ValueError(f"n_models {self.n_models!r}: expected a positive integer")
        lo_hi = tuple(self.percentiles)
        if len(lo_hi) != 2 or not (0 <= lo_hi[0] <= lo_hi[1] <= 100):
            raise ValueError(f"percentiles {self.percentiles!r}: expected (low, high) with 0 <= low <= high <= 100")
        base = SymmetricSINDy() if self.base is None else clone(self.base)
        if not isinstance(base, SymmetricSINDy):
            raise ValueError(f"base {type(base).__name__}: expected a SymmetricSINDy")
        self.discovery_ = None
        if base._auto_symmetry():
            # discovered once, on all the data; every member is bagged with what was enforced
            found = clone(base).fit(x, t=t, x_dot=x_dot, feature_names=feature_names)
            base = clone(base).set_params(symmetry=found.symmetry_)
            self.discovery_ = found.discovery_
        default = list(base.symmetry.variables) if isinstance(base.symmetry, Symmetry) else None
        xs, ts, dxs, names = validate_trajectories(x, t, x_dot, feature_names, default_names=default)
        n = xs[0].shape[1]
        # derivatives once, on the whole data, as the base model would estimate them
        xs, dxs = estimate_derivatives(xs, ts, dxs, differentiation=base.differentiation)
        X, D = np.vstack(xs), np.vstack(dxs)
        m = len(X)
        k = self._rows_per_member(m)

        reference = _fit_member(base, X, D, names)
        reference._warn_conditioning()  # once, for all the data (the members' fits are quiet)
        rng = np.random.default_rng(resolve_random_state(self.random_state, where="SymmetricEnsemble"))
        indices = [rng.choice(m, size=k, replace=self.replace) for _ in range(int(self.n_models))]

        if client is not None:
            # the data go to the cluster once; members take their rows there
            Xf, Df = client.scatter([X, D], broadcast=True)
            futs = client.map(
                _take_and_fit,
                [base] * len(indices),
                [Xf] * len(indices),
                [Df] * len(indices),
                indices,
                [names] * len(indices),
                pure=False,
            )
            members = client.gather(futs)
        elif self.n_jobs not in (None, 1):
            from joblib import Parallel, delayed

            members = Parallel(n_jobs=self.n_jobs)(delayed(_fit_member)(base, X[i], D[i], names) for i in indices)
        else:
            members = [_fit_member(base, X[i], D[i], names) for i in indices]

        sub = reference.subspace_
        Q = sub.basis
        coefs = np.stack([np.asarray(mb.coef_, float) for mb in members])
        # feature ordering: index = term * n_variables + variable, i.e. coef_.T raveled
        W = coefs.transpose(0, 2, 1).reshape(len(members), -1)
        Z = np.linalg.lstsq(Q, W.T, rcond=None)[0].T
        scale = np.abs(coefs).reshape(len(members), -1).max(axis=1)
        scale = np.where(scale > 0, scale, 1.0)

        self.members_ = members
        self.member_coef_ = coefs
        self.member_coords_ = Z
        self.coef_ = sub.coef_from(np.median(Z, axis=0))
        self.coef_interval_ = np.percentile(coefs, lo_hi, axis=0)
        self.orbit_interval_ = np.percentile(Z, lo_hi, axis=0)
        self.inclusion_probability_ = (np.abs(coefs) > self.zero_tol * scale[:, None, None]).mean(axis=0)
        self.orbit_inclusion_probability_ = (np.abs(Z) > self.zero_tol * scale[:, None]).mean(axis=0)
        self.equivariance_residuals_ = np.array([mb.equivariance_residual_ for mb in members], float)
        self.subspace_ = sub
        self.symmetry_ = reference.symmetry_
        self.term_names_ = list(reference.term_names_)
        self.feature_names_ = names
        self.n_features_in_ = n
        self.orbits_, self.orbit_names_ = self._orbits(Q, names, self.term_names_)

        from .constraints import equivariance_residual

        self.equivariance_residual_ = equivariance_residual(self.coef_, reference.action_)
        self.library_ = reference.library_
        self.differentiation_ = base.differentiation
        model = copy.deepcopy(reference)
        model.coef_ = self.coef_.copy()
        model.equivariance_residual_ = self.equivariance_residual_
        self.model_ = model
        return self

    @staticmethod
    def _orbits(Q, names, terms):
        n = len(names)
        orbits, labels = [], []
        for j in range(Q.shape[1]):
            rows = np.flatnonzero(Q[:, j])
            entries = [(names[r % n], terms[r // n], float(Q[r, j])) for r in rows]
            entries.sort(key=lambda e: (names.index(e[0]), terms.index(e[1])))
            orbits.append(entries)
            by_var: dict = {}
            for var, term, w in entries:
                if abs(w) == 1:
                    txt = f"{'+' if w > 0 else '-'}{term}"
                else:
                    txt = f"{'+' if w > 0 else '-'}{abs(w):.4g} {term}"
                by_var.setdefault(var, []).append(txt)
            labels.append("; ".join(f"{v}': {' '.join(ts)}" for v, ts in by_var.items()))
        return orbits, labels

    # ------------------------------------------------------------------ using it
    def _score_differentiation(self):
        return self.differentiation_

    def _save_extras(self) -> dict:
        return {
            "ensemble": {
                "n_models": int(len(self.members_)),
                "percentiles": [float(v) for v in self.percentiles],
                "orbits": list(self.orbit_names_),
                "orbit_inclusion_probability": self.orbit_inclusion_probability_.tolist(),
                "orbit_interval": self.orbit_interval_.tolist(),
                "inclusion_probability": self.inclusion_probability_.tolist(),
                "coefficient_interval": self.coef_interval_.tolist(),
            }
        }

    def summary(self, precision: int = 3) -> str:
        """One line per orbit: inclusion probability, median coordinate and its interval."""
        check_is_fitted(self, "coef_")
        lo, hi = self.percentiles
        med = np.median(self.member_coords_, axis=0)
        lines = [f"{'P(incl.)':>8}  {'median':>10}  [{lo:g}%, {hi:g}%]  orbit"]
        order = np.argsort(-self.orbit_inclusion_probability_, kind="stable")
        for j in order:
            a, b = self.orbit_interval_[:, j]
            lines.append(
                f"{self.orbit_inclusion_probability_[j]:8.2f}  {med[j]:10.{precision}g}  "
                f"[{a:.{precision}g}, {b:.{precision}g}]  {self.orbit_names_[j]}"
            )
        return "\n".join(lines)


def symmetric_ensemble(x, t=None, x_dot=None, feature_names=None, *, client=None, **kwargs) -> SymmetricEnsemble:
    """Fit a :class:`SymmetricEnsemble` (keyword arguments as its constructor) and return it."""
    return SymmetricEnsemble(**kwargs).fit(x, t=t, x_dot=x_dot, feature_names=feature_names, client=client)
