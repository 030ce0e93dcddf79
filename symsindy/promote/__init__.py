"""Promoting symmetry with a convex penalty: let the data choose how much symmetry a model has.

Over a candidate algebra with orthonormal basis ``(A_1, b_1) .. (A_q, b_q)`` (so(n), gl(n),
affine or user generators) the fit solves, in normalised units::

    min_X  1/(2m) |Y - Theta~ X^T|_F^2  +  lam |[vec L_1(X) .. vec L_q(X)]|_*  +  mu |X|_1

with ``L_k(X) = X D_k - A_k X`` the Lie derivative of the model along generator k.  The nuclear
norm is small when few candidate directions are broken: its zero set is the equivariant models,
and the rank of the matrix is ``q - dim(symmetry algebra)``.

Normalisation (the nuclear norm is homogeneous, so left alone it mostly shrinks the model):

* library columns are scaled to unit RMS on the data and the derivatives by their overall RMS,
  so ``mu`` treats terms alike and the solution is in units of the data;
* each Lie derivative is measured as the RMS of right-hand-side values on the data
  (:func:`~symsindy.discover.data_weight`) over an orthonormal candidate basis, so the penalty
  does not depend on how the algebra is written down; combinations every model satisfies (zero
  operators) and candidates under which the library is not closed are left out;
* adaptive weights (as in the adaptive lasso): each direction of the algebra (right singular
  vectors of the unpenalised fit's Lie-derivative matrix) is weighted by ``s_min / s_i``, so
  directions that every plausible model fails (e.g. the tilts of a system symmetric about one
  axis, the shears of an anisotropic one) barely pull on the coefficients, while the weighting,
  being invertible, leaves the set of exactly symmetric models the penalty can reach unchanged;
* per-generator normalisation (``generator_norm``): ``"basis"`` (the default) takes the
  directions orthonormal over ``(vec A, b)``; ``"operator"`` first scales them so that each
  direction's Lie-derivative operator has unit norm on the data (orthogonal operators of one
  norm, a whitening of the algebra by its action on the library), so that a generator acting
  strongly on the library is not penalised more.  With the adaptive weights the two are the
  same penalty up to a constant factor: the weights whiten the directions by the unpenalised
  fit's Lie-derivative matrix ``Z`` (at that fit the weighted matrix has all singular values
  equal), and any invertible rescaling ``R`` applied before them is undone (``Z R`` and ``Z``
  whiten to the same matrix up to an orthogonal factor) as long as no weight is floored at
  ``adaptive_floor`` and ``Z`` has full column rank.  ``benchmarks/bench_promote.py`` measures
  both in one run (10 seeds): the same enforced symmetry and the same exact-structure count
  (151 of 200 scarce-data fits) in every cell, and the breaking terms kept in 40 of 40 fits by
  both, so the default stays ``"basis"``; the option matters only with ``adaptive=False``;
* the weight is in units of ``lam_ref``, an upper bound on the smallest ``lam`` at which the
  solution is the least-squares fit inside the fully symmetric subspace: weight 1 means "as
  symmetric as the candidates allow", not "zero", whatever the data size or scale;
* the returned coefficients come from a debiasing refit: promote -> discover (the algebra of
  the promoted model) -> enforce it exactly with :class:`~symsindy.model.SymmetricSINDy`
  (thresholded least squares, automatic threshold by default) -> refit.  Generators
  with simple rational entries are enforced; noisy ones (``scaling(x=1,y=1.00127)``, or a
  model's own linear part, which every linear model commutes with) are reported in
  ``discovered_`` but not enforced.

Weight selection (``weight="auto"``, ``selection="loo"``, the default): the promotion is solved
on all the data along ``weight_grid`` (warm-started), and every symmetry the path reveals is a
candidate: the exact symmetry of each promoted model (singular values below ``null_tol``) and,
because with few data the penalty rarely makes a direction exactly symmetric, the directions it
breaks least, rounded to simple generators (``_candidates._snapped_candidates``).  Each candidate, and
no symmetry at all, is enforced in a refit (:class:`~symsindy.model.SymmetricSINDy`, same
threshold and ridge) and scored by the leave-one-out error of that refit
(:func:`symsindy.optimizers.loo_error`, closed form).  A candidate is not eligible when the data
reject it, by discovery's refit check (:func:`symsindy.discover.refit_check`: full-library least
squares with and without it, the residual growth against ``refit_tol`` plus the F statistic's
99 % point), or when its refit keeps fewer than half the terms of the unconstrained refit and the
check cannot test it (the unconstrained fit has no residual degrees of freedom).  From the
eligible refit with the smallest leave-one-out error (ties: the smaller subspace, then named
generators), symmetry is added while the data allow it: candidates nested in it, and it joined
with each simple generator of the family (a rotation of two variables, a scaling of one, two or
all), are put to the same F test against the least-squares fit in its subspace, and the most
symmetric that passes is taken, up to three times (leave-one-out error alone prefers a few
spurious terms that soak up noise over a symmetry that forbids them).  ``weight_`` is the
smallest weight that revealed the answer, ``candidates_`` lists every candidate with its
figures.  Why not k-fold cross-validation: with 12-36 samples five folds of 3-7 samples
measure noise, and the one-standard-error rule then picked weight 1 (all of gl(n), which leaves
``x' = c x``) on Langford's system at 18 samples in each of the 3 seeds tried; leave-one-out keeps all
but one sample in every fit and needs no random folds.

``selection="cv"`` keeps the k-fold rule: cross-validation (folds shuffled with
``random_state``) of the whole pipeline over ``weight_grid`` (default 0 and 10 weights
log-spaced from 1e-3 to 1); the error is the held-out relative squared error of the refitted
model (1 when no model can be fitted, e.g. too few samples), and the one-standard-error rule
picks the largest weight whose mean error is within one standard error of the best.  Each fold
measures the weight against its own ``lam_ref``.  The fit on all the data at that weight can
reveal more symmetry than the folds did; what it reveals is enforced only if enforcing it on the
same folds keeps the held-out error within that bound, else the next smaller accepted weight is
tried (and, if none passes, nothing is enforced).  With a given weight or ``"cv"``, the symmetry
is also put to the refit check and not enforced when the data reject it
(:class:`PromotionWarning`).

Candidate family: ``"gl"`` keeps the uniform dilation although no model with terms of several
degrees has it.  Told only ``"sl"`` (traceless) or only ``"so"`` (the orthogonal subfamily, the
rotations) instead, ``benchmarks/bench_promote.py`` (10 seeds) recovers the exact structure in
129 of 200 scarce-data fits with either, against gl's 151: the linear systems lose (there the
dilation, or a scaling, is a true symmetry that forbids every nonlinear term; ``linear_3d`` 16
against 34, the harmonic oscillator 37 against 39, the damped oscillator 37 against 40), Hopf
and Langford hardly change (20 and 19 against 20 and 18).  So the default family stays ``"gl"``.

The rows are those of :class:`~symsindy.model.SymmetricSINDy`: samples with measured or
smoothed derivatives (strong form) or the weak form's test-function integrals
(``formulation``), so promotion works on time series as the other estimators do.

Solvers: ``"fast"`` is ADMM (over-relaxed, residual-balanced, Anderson-accelerated) with
singular-value thresholding for the nuclear norm and soft thresholding for the l1 term;
``"cvxpy"`` solves the same problem as a conic program (Clarabel by default) and is the
reference.  Weight 0 (and weight 1) without l1 are solved in closed form: the minimum-norm
least-squares fit (the fit in the fully symmetric subspace).  The ADMM step is kept at or above
``100 lam``: residual balancing alone settles on steps too small for the low-rank solutions of
large weights, and on gl(4) with a cubic library (16 generators, 140 unknowns, 24-36 samples)
the large weights then did not converge in 20,000 iterations; with the floor most do, or stop
within ``FAST_REDUCED_TOL`` (1e-7 relative) at the limit, but not all: in
``benchmarks/bench_promote.py``'s 4-D cells 5 of 8 fits met a solve that did neither.  Cross-validation solves stop at
``max(tol, 1e-8)``, the final one at ``tol``.  A solver that fails or does not converge is
reported with a :class:`PromotionWarning` and the other one is tried, except that an ADMM
solution within ``FAST_REDUCED_TOL`` is used at once, flagged as of reduced accuracy (cvxpy
takes minutes and gigabytes per solve at that size); if neither converged, a cvxpy solution
flagged as of reduced accuracy is used.  ``solver_info_`` records what happened (``solver``
and ``fallback`` name the route, ``n_fallbacks`` counts them over the path).  With the
automatic weight, a weight of the path at which every route fails is skipped: it proposes no
candidate, its entry in ``weight_path_`` says why under ``failed``, ``n_skipped`` counts such
weights and the warning names them.  Otherwise :class:`PromotionError` is raised when every
route fails.  A zero model is never returned silently.
"""

from . import _candidates, _estimator, _problem
from ._estimator import PromotedSINDy, PromotionError, PromotionWarning
from ._problem import PromotionProblem
from ._solvers import solve_cvxpy, solve_fast

__all__ = [
    "PromotedSINDy",
    "PromotionError",
    "PromotionProblem",
    "PromotionWarning",
    "solve_cvxpy",
    "solve_fast",
]

SOLVERS = _estimator.SOLVERS
SELECTIONS = _estimator.SELECTIONS
SNAP_MAX_DIM, SNAP_MAX_RATIO, SNAP_GRIDS = _candidates.SNAP_MAX_DIM, _candidates.SNAP_MAX_RATIO, _candidates.SNAP_GRIDS
# helpers the tests reach through the package; they are patched where they are used (``_estimator``)
_enforceable = _candidates._enforceable
_json_safe = _estimator._json_safe
_relative_spectrum = _problem._relative_spectrum
_rref_snap = _candidates._rref_snap

_MOVED_TO_COMMANDS = ("parse_promote_weight", "promote_from_args")


def __getattr__(name):
    # ``symsindy fit --promote``'s option parsing and printed lines live with the command now
    if name in _MOVED_TO_COMMANDS:
        import warnings

        from ..commands import _promote

        warnings.warn(
            f"symsindy.promote.{name} moved to symsindy.commands._promote (the command line's own module); "
            "the library takes plain arguments: use PromotedSINDy",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(_promote, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
