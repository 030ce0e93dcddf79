"""Discovering the symmetries of a PDE fitted to field data.

The model ``u_t = X Theta(jet)`` is fitted without symmetry; then, as for ODEs
(:func:`symsindy.discover.discover_symmetries`):

* **continuous**: for candidate generators ``G_k`` (the components' ``gl(n)``, or ``so(n)`` or
  ``sl(n)``, and on a 2-D domain the rotation of the domain), ``G -> X D_G - C_G X`` is linear
  in ``G``, ``D_G`` the generator's exact action on the library's terms and ``C_G`` its action
  on the components.  Its near-null right singular vectors span the symmetry algebra.  Each
  column is measured on the data (the square root of the library's Gram matrix over the
  regression rows weights it), and the singular values are divided by the operator's scale,
  ``max_k |X D_k| + |C_k X|``, so the spectrum reads the same for any model.  The nullity is
  the gap rule of :func:`symsindy.discover.select_nullity`; the algebra is named in the spec
  grammar over component and axis names (``rotation(u,v)``, ``rotation(x,y)+rotation(u,v)``,
  ``scaling(u=1)``) by :func:`symsindy.discover.generator_specs`;
* **discrete**: every signed permutation of the components together with every signed
  permutation of the axes (``flip(x)+flip(u)``, ``swap(x,y)``, ``swap(u,v)``), ranked by the
  relative equivariance residual ``|S (X M_R - C_R X)^T| / (2 |S X^T|)`` on the data; those at
  or below ``tol`` that are not quarter turns of the accepted rotations are each put to the
  refit check below, and those that pass are reduced to a generating set;
* **the data's verdict**: each named generator and each discrete generator is enforced in a
  full-library least-squares refit and passes when the residual sum of squares grows by at
  most ``refit_tol`` plus what chance adds when ``q`` coefficients are tied (the 99 % point of
  the nested F statistic), the test of :func:`symsindy.discover.refit_check`.  The growth is
  measured against the largest of the free refit's residual, the plain model's own and
  1e-4 of ``|u_t|^2`` (a residual of 1 % RMS).  On noise-free fields the full library absorbs
  part of the error of the time differences with terms no symmetry allows: on exact 2-D heat
  data (24 x 24 grid, 41 times) the free fit leaves 3e-7 of ``|u_t|^2`` and the true model
  7e-6, and measured against the first, the rotation, ``flip(x)`` and ``swap(x,y)`` of the
  heat equation all cost 0.13-0.15 and were rejected.  A symmetry the data break costs far
  more: ``flip(u)`` alone for Burgers grows the residual by 0.2 of ``|u_t|^2``.
  With blocks of rows (``groups``; :class:`~symsindy.pde.SymmetricPDESINDy` passes the fifth
  of the time span each row lies in) the check is held out instead: both fits are made
  without each block and their residuals summed over the blocks they did not see, and the
  symmetry passes when its held-out residual exceeds the free fit's by at most ``refit_tol``
  (of the largest of that residual, the plain model's and 1e-4 of ``|u_t|^2``).  The weak form
  needs this: its rows overlap, so their errors are correlated and the F statistic's
  allowance, which counts rows as independent, is far too small (on the 1-D complex
  Ginzburg-Landau equation at 5 % noise, where the plain weak fit is the true PDE,
  ``rotation(u,v)`` grew the in-sample residual by 0.35 against an allowance of 0.21).

A translation of the domain holds for every library without explicit coordinates; it is
reported as such and never needs discovering.  Along an explicit coordinate
(:class:`~symsindy.pde.CoordinateLibrary`) it is a constraint like any other and is not
reported; the rotation of a 2-D domain is then a candidate that moves the coordinates too.  The code is in ``symsindy/pde/_discover.py``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..constraints import equivariant_subspace
from ..discover import (
    DiscreteCandidate,
    _group_closure,
    _signed_permutations,
    generating_set,
    _gram_root,
    candidate_generators,
    element_spec,
    generator_specs,
    select_nullity,
)
from ..optimizers import ConstrainedSTLSQ
from ..symmetry import Symmetry
from ._actions import pde_action

__all__ = ["PDESymmetryReport", "discover_pde_symmetries"]

_FAMILIES = ("gl", "so", "sl")
# the refit check's smallest reference residual, as a fraction of |u_t|^2 (1 % RMS)
_FLOOR = 1e-4


@dataclass
class PDESymmetryReport:
    """What :func:`discover_pde_symmetries` found.

    Attributes
    ----------
    components, axes : list of str
    spectrum : (k,) array
        Normalised singular values of the Lie-derivative operator, ascending.
    candidates : list of str
        What each candidate direction is: ``"gl(u,v)[i,j]"`` or ``"rotation(x,y)"``.
    nullity : int
        Near-null directions by the gap rule.
    continuous : list of str
        Named generators of the discovered algebra.
    unnamed : list of (n, n) arrays
        The rest of the algebra, as matrices over components then axes.
    discrete : list of (spec, residual)
        Every signed permutation at or below ``tol``, smallest residual first.
    discrete_generators : list of str
        A generating set of those the refit check passes.
    refit : dict of str to dict
        The refit check of each named generator and each discrete candidate outside the
        accepted rotations (``cost``, ``allowed``, ``passed``, ``q``, ``dof``).
    accepted, rejected : list of str
        Specs the refit check passes / rejects.
    skipped : list of str
        Candidates that could not be tried, with why.
    trivial : list of str
        Symmetries every model in the library has (translations of the domain).
    coef : (ncomp, p) array
        The plain fit's coefficients.
    term_names : list of str
    """

    components: list
    axes: list
    spectrum: np.ndarray
    candidates: list
    nullity: int
    continuous: list
    unnamed: list
    discrete: list
    discrete_generators: list
    refit: dict
    accepted: list
    rejected: list
    skipped: list
    trivial: list
    coef: np.ndarray
    term_names: list = field(default_factory=list)

    @property
    def specs(self) -> list[str]:
        """The specs the data accept, continuous first: what ``symmetry="auto"`` enforces."""
        return list(self.accepted)

    def to_dict(self) -> dict:
        return {
            "components": list(self.components),
            "axes": list(self.axes),
            "spectrum": [float(s) for s in self.spectrum],
            "candidates": list(self.candidates),
            "nullity": int(self.nullity),
            "continuous": list(self.continuous),
            "unnamed_generators": [np.asarray(A, float).tolist() for A in self.unnamed],
            "discrete": [{"spec": s, "residual": float(r)} for s, r in self.discrete],
            "discrete_generators": list(self.discrete_generators),
            "refit": {k: dict(v) for k, v in self.refit.items()},
            "accepted": list(self.accepted),
            "rejected": list(self.rejected),
            "skipped": list(self.skipped),
            "trivial": list(self.trivial),
        }

    def summary(self) -> list[str]:
        """Readable lines: the spectrum's smallest values, what was found and the refit verdicts."""
        lines = []
        head = ", ".join(f"{s:.1e}" for s in self.spectrum[: min(len(self.spectrum), 6)])
        lines.append(f"Lie-derivative spectrum (smallest, normalised): {head}; nullity {self.nullity}")
        lines.append(f"continuous: {'; '.join(self.continuous) or 'none'}")
        if self.unnamed:
            lines.append(f"  and {len(self.unnamed)} unnamed generator(s)")
        lines.append(f"discrete: {'; '.join(self.discrete_generators) or 'none'}")
        shown = [s for s in self.refit if s in self.continuous or s in self.discrete_generators or s in self.rejected]
        for spec in shown:
            check = self.refit[spec]
            verdict = "accepted" if check["passed"] else "REJECTED"
            lines.append(f"  refit {spec}: cost {check['cost']:.2e} (allowed {check['allowed']:.2e}) {verdict}")
        others = len(self.refit) - len(shown)
        if others:
            lines.append(f"  and {others} further element(s) accepted, all in the group generated above")
        if self.trivial:
            lines.append(f"holds for every model of the library: {'; '.join(self.trivial)}")
        for s in self.skipped:
            lines.append(f"not tried: {s}")
        return lines


def _embed(C: np.ndarray, S: np.ndarray) -> np.ndarray:
    nc, na = len(C), len(S)
    out = np.zeros((nc + na, nc + na))
    out[:nc, :nc] = C
    out[nc:, nc:] = S
    return out


def candidate_directions(library, components, axes, family, spatial, skipped=None):
    """The candidate generators over components and axes (``family`` on the components, and the
    rotation of a 2-D domain when ``spatial``), their labels, and each one's ``(D, C)``: its
    action on the library's terms and on the components.  A candidate the library cannot
    carry is left out, with why, in ``skipped``."""
    nc, na = len(components), len(axes)
    names = list(components) + list(axes)
    gens, labels = [], []
    for k, (A, _b) in enumerate(candidate_generators(nc, family)):
        gens.append(_embed(A, np.zeros((na, na))))
        labels.append(f"{family}({','.join(components)})[{k}]")
    if spatial and na == 2:
        S = np.zeros((2, 2))
        S[0, 1], S[1, 0] = -1.0, 1.0
        gens.append(_embed(np.zeros((nc, nc)), S))
        labels.append(f"rotation({axes[0]},{axes[1]})")
    kept, kept_labels, ops = [], [], []
    for G, label in zip(gens, labels):
        try:
            act = pde_action(library, components, axes, Symmetry(names, generators=[G]))
        except ValueError as exc:
            if skipped is None:
                raise
            skipped.append(f"{label}: {str(exc).splitlines()[0]}")
            continue
        kept.append(G)
        kept_labels.append(label)
        ops.append((act.generators[0], act.symmetry.generators[0].matrix))
    return kept, kept_labels, ops


def _quarter_turns(specs, names) -> list[np.ndarray]:
    """Generators of the finite group of quarter turns of the named rotations among ``specs``."""
    from scipy.linalg import expm

    out = []
    for spec in specs:
        for g in Symmetry(names, spec).generators:
            if not g.is_affine and np.allclose(g.matrix, -g.matrix.T):
                out.append(np.round(expm(np.pi / 2 * g.matrix), 12) + 0.0)
    return out


def _lstsq_in(theta, target, basis):
    """Full-library least squares with ``vec(X)`` in the span of ``basis`` (None: unconstrained)."""
    opt = ConstrainedSTLSQ(basis=basis, threshold=0.0, alpha=0.0)
    opt.fit(theta, target)
    return np.array(opt.coef_, float)


def _refit(theta, target, rss_free, rss_model, dim_free, sym_action, tol):
    from scipy.stats import f as f_dist

    # what the plain model itself leaves unexplained, and at least 1 % of u_t's RMS: fitting
    # error the full library absorbs below that (time differences of noise-free fields) is no
    # evidence against a symmetry
    floor = max(_FLOOR * float(np.sum(target**2)), rss_model)
    dof = int(target.size - dim_free)
    sub = equivariant_subspace(sym_action)
    if sub.dim == 0:
        return {"cost": float("inf"), "allowed": float(tol), "passed": False, "q": int(dim_free), "dof": dof}
    coef = _lstsq_in(theta, target, sub.basis)
    rss = float(np.sum((target - theta @ coef.T) ** 2))
    cost = max((rss - rss_free) / max(rss_free, floor), 0.0)
    q = int(dim_free - sub.dim)
    allowed = float(tol)
    if q > 0 and dof > 0:
        allowed += q * float(f_dist.ppf(0.99, q, dof)) / dof
    return {"cost": float(cost), "allowed": allowed, "passed": bool(cost <= allowed), "q": q, "dof": dof}


def _folds(groups, m: int, p: int):
    """(train, test) row indices per block, or [] when there are no blocks or too few rows."""
    if groups is None:
        return []
    groups = np.asarray(groups).ravel()
    if len(groups) != m:
        raise ValueError(f"groups: {len(groups)} labels for {m} rows")
    labels = np.unique(groups)
    if len(labels) < 2:
        return []
    folds = [(np.flatnonzero(groups != g), np.flatnonzero(groups == g)) for g in labels]
    if min(len(tr) for tr, _ in folds) < 2 * p:
        return []
    return folds


def _refit_held_out(theta, target, folds, free_folds, rss_model, sym_action, tol):
    """The refit check on held-out blocks: the symmetric and the free full-library fits on the
    other blocks, their residuals on each block summed."""
    sub = equivariant_subspace(sym_action)
    dim_free = theta.shape[1] * target.shape[1]
    if sub.dim == 0:
        return {"cost": float("inf"), "allowed": float(tol), "passed": False, "q": dim_free, "blocks": len(folds)}
    rss_sym = rss_free = 0.0
    for (train, test), free in zip(folds, free_folds):
        coef = _lstsq_in(theta[train], target[train], sub.basis)
        rss_sym += float(np.sum((target[test] - theta[test] @ coef.T) ** 2))
        rss_free += float(np.sum((target[test] - theta[test] @ free.T) ** 2))
    floor = max(_FLOOR * float(np.sum(target**2)), rss_model, rss_free)
    cost = max((rss_sym - rss_free) / floor, 0.0)
    return {
        "cost": float(cost),
        "allowed": float(tol),
        "passed": bool(cost <= tol),
        "q": int(dim_free - sub.dim),
        "blocks": len(folds),
        "held_out": True,
    }


def discover_pde_symmetries(
    rows,
    library,
    components,
    axes,
    coef,
    *,
    family: str = "gl",
    spatial: bool = True,
    discrete: bool = True,
    tol: float = 0.05,
    max_null: float = 0.05,
    min_gap: float = 10.0,
    refit_tol: float = 0.1,
    reference_rss: float | None = None,
    groups=None,
) -> PDESymmetryReport:
    """The symmetries of a fitted PDE that its data support (see the module docstring).

    Parameters
    ----------
    rows : (theta, target)
        The regression rows the model was fitted to (strong form: the library on the grid and
        ``u_t``; weak form: their test-function integrals), shapes (m, p) and (m, ncomp).
    library : fitted ``pysindy.PDELibrary``
    components, axes : list of str
    coef : (ncomp, p) array
        The plain fit.
    family : "gl", "so" or "sl"
        Candidate generators on the components.
    spatial : bool
        Also try the rotation of a 2-D domain.
    discrete : bool
        Search the signed permutations of components and axes.
    tol : float
        Largest relative equivariance residual of a discrete candidate.
    max_null, min_gap : float
        The gap rule for the continuous nullity.
    refit_tol : float
        Allowed relative growth of the residual in the refit check, beyond chance.
    reference_rss : float, optional
        The plain model's residual sum of squares on ``rows``, when ``coef`` is another model
        (a promoted one): the refit check's reference is then that of the plain model.
    groups : (m,) int array, optional
        A block label per row (e.g. the fifth of the time span it lies in): the refit check is
        then held out, block by block (see the module docstring).
    """
    from threadpoolctl import threadpool_limits

    # many small least-squares problems: BLAS threads cost far more than they save
    with threadpool_limits(limits=1, user_api="blas"):
        return _discover(
            rows,
            library,
            components,
            axes,
            coef,
            family=family,
            spatial=spatial,
            discrete=discrete,
            tol=tol,
            max_null=max_null,
            min_gap=min_gap,
            refit_tol=refit_tol,
            reference_rss=reference_rss,
            groups=groups,
        )


def _discover(
    rows,
    library,
    components,
    axes,
    coef,
    *,
    family,
    spatial,
    discrete,
    tol,
    max_null,
    min_gap,
    refit_tol,
    reference_rss,
    groups,
) -> PDESymmetryReport:
    theta, target = (np.asarray(a, float) for a in rows)
    components, axes = list(components), list(axes)
    nc, na = len(components), len(axes)
    X = np.asarray(coef, float)
    if family not in _FAMILIES:
        raise ValueError(f"family {family!r}: expected one of {', '.join(_FAMILIES)}")
    if X.shape != (nc, theta.shape[1]):
        raise ValueError(f"coef: expected shape ({nc}, {theta.shape[1]}), got {X.shape}")
    if target.shape != (len(theta), nc):
        raise ValueError(f"rows: target of shape {target.shape} for {len(theta)} rows and {nc} components")
    names = components + axes
    W = _gram_root(theta)
    nx = float(np.linalg.norm(W @ X.T))
    skipped: list[str] = []
    # a translation along an explicit coordinate is a constraint, left out here
    explicit = set(getattr(library, "coordinates", ()))
    trivial = [f"translation({a})" for a in axes if a not in explicit]

    # ---- continuous
    gens, labels, ops = candidate_directions(library, components, axes, family, spatial, skipped)
    cols, scale = [], 0.0
    for D, C in ops:
        XD, CX = W @ (X @ D).T, W @ (C @ X).T
        cols.append((XD - CX).ravel())
        scale = max(scale, float(np.linalg.norm(XD) + np.linalg.norm(CX)))
    L = np.column_stack(cols)
    _, s, Vt = np.linalg.svd(L, full_matrices=False)
    order = np.argsort(s)
    s_rel = s[order] / scale if scale > 0 else np.zeros(len(s))
    nullity = select_nullity(s_rel, max_null=max_null, min_gap=min_gap) if nx > 0 else 0
    null = Vt[order[:nullity]].T  # (k, nullity): coefficients over the candidates
    basis = (
        np.column_stack([sum(v[k] * gens[k] for k in range(len(gens))).ravel() for v in null.T]) if nullity else None
    )
    n_all = nc + na
    if basis is not None:
        vecs = np.vstack([basis, np.zeros((n_all, basis.shape[1]))])  # (vec A, b) with b = 0
        continuous, unnamed_pairs = generator_specs(vecs, names, affine=False)
        unnamed = [A for A, _ in unnamed_pairs]
    else:
        continuous, unnamed = [], []

    # ---- discrete
    found: list[DiscreteCandidate] = []
    actions: dict = {}  # each candidate's action, computed once for its residual and its refit
    if discrete and nx > 0:
        for Rc in _signed_permutations(nc, max_exhaustive=nc):
            for Rs in _signed_permutations(na, max_exhaustive=na):
                R = _embed(Rc, Rs)
                if np.array_equal(R, np.eye(n_all)):
                    continue
                try:
                    act = pde_action(library, components, axes, Symmetry(names, elements=[R]))
                except ValueError as exc:
                    skipped.append(f"{element_spec(R, names)}: {str(exc).splitlines()[0]}")
                    continue
                M, C = act.elements[0], act.symmetry.elements[0].matrix
                res = float(np.linalg.norm(W @ (X @ M - C @ X).T) / (2 * nx))
                if res <= tol:
                    found.append(DiscreteCandidate(R, element_spec(R, names), res))
                    actions[id(found[-1])] = act
        found.sort(key=lambda c: (c.residual, c.spec))
    # ---- the data's verdict
    free = _lstsq_in(theta, target, None)
    rss_free = float(np.sum((target - theta @ free.T) ** 2))
    rss_model = float(np.sum((target - theta @ X.T) ** 2)) if reference_rss is None else float(reference_rss)
    dim_free = int(X.size)
    refit, accepted, rejected = {}, [], []

    folds = _folds(groups, len(theta), theta.shape[1])
    free_folds = [_lstsq_in(theta[tr], target[tr], None) for tr, _ in folds]

    def verdict(spec, sym, act=None) -> bool | None:
        if act is None:
            try:
                act = pde_action(library, components, axes, sym)
            except ValueError as exc:
                skipped.append(f"{spec}: {str(exc).splitlines()[0]}")
                return None
        if folds:
            refit[spec] = _refit_held_out(theta, target, folds, free_folds, rss_model, act, refit_tol)
        else:
            refit[spec] = _refit(theta, target, rss_free, rss_model, dim_free, act, refit_tol)
        return refit[spec]["passed"]

    for spec in continuous:
        (accepted if verdict(spec, spec) else rejected).append(spec)
    # every discrete candidate is judged on its own before the generating set is formed, so that
    # a rejected short spec (flip(u) for Burgers) never stands in for an accepted one (flip(u,x))
    turns = _quarter_turns([s for s in continuous if s in accepted], names)
    turn_group = _group_closure(turns, n_all, 4096) if turns else {}
    passed = []
    for c in found:
        if (np.round(c.matrix, 9) + 0.0).tobytes() in turn_group:
            continue
        ok = verdict(c.spec, None, actions[id(c)])
        if ok:
            passed.append(c)
        elif ok is False:
            rejected.append(c.spec)
    generators = generating_set(passed, base=turns)
    accepted += [g.spec for g in generators]
    return PDESymmetryReport(
        components=components,
        axes=axes,
        spectrum=s_rel,
        candidates=[labels[k] for k in range(len(labels))],
        nullity=int(nullity),
        continuous=continuous,
        unnamed=unnamed,
        discrete=[(c.spec, c.residual) for c in found],
        discrete_generators=[g.spec for g in generators],
        refit=refit,
        accepted=accepted,
        rejected=rejected,
        skipped=skipped,
        trivial=trivial,
        coef=X,
        term_names=[],
    )
