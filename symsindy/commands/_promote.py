"""``symsindy fit --promote``: the option type of ``--promote-weight``, the promoted fit and the
lines it prints, and its model JSON."""

from __future__ import annotations

import warnings


from ..discover import FAMILIES
from ..promote import PromotedSINDy, PromotionWarning
from ._types import auto_or_nonnegative as parse_promote_weight

__all__ = ["parse_promote_weight", "promote_from_args", "write_promoted_json"]


def promote_from_args(
    data,
    degree: int,
    threshold,
    family: str,
    weight="auto",
    *,
    alpha: float = 0.0,
    include_bias: bool = True,
    differentiation=None,
    formulation: str = "auto",
    precision: int = 3,
    random_state: int = 0,
    json_out=None,
) -> tuple[PromotedSINDy, list[str]]:
    """Fit a :class:`PromotedSINDy` to a :class:`~symsindy.io.Dataset` for ``symsindy fit --promote``.

    ``threshold``: a number or ``"auto"``.  Returns ``(estimator, lines)``: one equation per
    variable, then the symmetry the promoted model ended up with, what was enforced, the weight
    and how it was chosen (with the leave-one-out errors of the chosen candidate and the
    runner-up), the refit check of what was enforced, the equivariance residual, the threshold,
    the formulation and the solver (with any fallback).  ``json_out``: also write
    :meth:`PromotedSINDy.save` there.
    """
    import pysindy as ps

    if family not in FAMILIES:
        raise ValueError(f"--promote {family!r}: expected one of {', '.join(FAMILIES)}")
    if isinstance(weight, str):
        weight = parse_promote_weight(weight)
    est = PromotedSINDy(
        library=ps.PolynomialLibrary(degree=degree, include_bias=include_bias),
        candidates=family,
        weight=weight,
        threshold=threshold,
        alpha=alpha,
        differentiation=differentiation,
        formulation=formulation,
        random_state=random_state,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", PromotionWarning)
        est.fit(data.x, t=data.t, x_dot=data.x_dot, feature_names=data.variables)
    lines = est.equations(precision=precision)
    lines.append(f"promoted symmetry: {est.symmetry_summary()} ({family} candidates)")
    enforced = list(est.symmetry_.specs) if not est.symmetry_.is_trivial else []
    lines.append(f"enforced in the refit: {'; '.join(enforced) if enforced else 'none'}")
    rule = est.weight_selection()
    if rule == "leave-one-out":
        ranked = [c for c in est.candidates_ if c["eligible"]]
        chosen = next(c for c in est.candidates_ if c["chosen"])
        runner = next((c for c in ranked if not c["chosen"]), None)
        how = (
            f"chosen by leave-one-out error among {len(est.candidates_)} candidate symmetries: "
            f"{chosen['description']} {chosen['loo_error']:.3g}"
        )
        if runner is not None:
            how += f", runner-up {runner['description']} {runner['loo_error']:.3g}"
        rejected = sum(1 for c in est.candidates_ if not c["eligible"])
        if rejected:
            how += f"; {rejected} not eligible"
    elif rule == "cross-validation":
        how = f"chosen by {est.n_folds}-fold cross-validation, seed {random_state}"
    else:
        how = "given"
    lines.append(f"promotion weight: {est.weight_:.3g} x lam_ref ({how})")
    check = est.refit_check_
    if check is not None:
        if check["testable"]:
            verdict = "passed" if check["passed"] else "failed"
            lines.append(
                f"refit check: residual grows by {check['cost']:.3g} with the symmetry enforced, "
                f"allowed {check['allowed']:.3g} ({verdict})"
            )
        else:
            k_free = len(est.term_names_) * len(est.feature_names_)
            lines.append(
                f"refit check: not testable (the unconstrained fit has {k_free} coefficients for "
                f"{k_free + check['dof']} equations); the leave-one-out comparison decided"
            )
    lines.append(f"equivariance residual: {est.equivariance_residual_:.1e}")
    lines.append(f"threshold: {est.threshold_:.3g} ({'automatic' if threshold == 'auto' else 'given'})")
    lines.append(f"formulation: {est.formulation_} ({est.formulation_reason_})")
    info = est.solver_info_
    solver = "fast (ADMM)" if info["solver"] == "fast" else info["solver"]
    line = f"solver: {solver}, {info['status']}"
    if info.get("iterations"):
        line += f" ({info['iterations']} iterations)"
    if info["n_fallbacks"]:
        line += f"; {info['n_fallbacks']} of {info['n_solves']} solves fell back to the other solver"
    if info.get("n_skipped"):
        line += f"; {info['n_skipped']} weights of the path skipped (no solver converged)"
    lines.append(line)
    for w in caught:
        if issubclass(w.category, PromotionWarning):
            lines.append(f"warning: {w.message}")
    if json_out:
        est.save(json_out)
    return est, lines


def write_promoted_json(path, est) -> None:
    """The model JSON of ``symsindy fit`` (the refitted model, its enforced symmetry) plus ``promotion``:
    :meth:`PromotedSINDy.save`."""
    est.save(path)
