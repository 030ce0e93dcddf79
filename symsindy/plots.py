"""Figures. Functions take an optional ``ax`` and return the matplotlib ``Figure``."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_singular_values", "plot_quantities", "plot_trajectories", "plot_phase", "plot_coefficients"]


def _axes(ax, figsize=(6.0, 4.0)):
    if ax is None:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=figsize)
        return fig, ax
    return ax.figure, ax


def plot_singular_values(result, ax=None, title: str | None = None):
    """Normalised singular values of the Lie-derivative operator, log scale, with the gap marked.

    ``result`` is a :class:`~symsindy.discover.ContinuousSymmetries` or a
    :class:`~symsindy.discover.SymmetryReport`.
    """
    cont = getattr(result, "continuous", result)
    s = np.asarray(cont.singular_values, float)
    d = int(cont.nullity)
    fig, ax = _axes(ax)
    idx = np.arange(1, len(s) + 1)
    floor = 1e-17
    shown = np.maximum(s, floor)
    ax.semilogy(idx[:d], shown[:d], "o", color="tab:blue", label=f"symmetry algebra (dimension {d})")
    ax.semilogy(idx[d:], shown[d:], "o", color="tab:gray", label="broken directions")
    if 0 < d < len(s):
        ax.axvline(d + 0.5, color="tab:red", linestyle="--", label=f"gap: ratio {cont.gap:.3g}")
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(f"index (ascending) over {cont.family or 'given'} candidates")
    ax.set_ylabel("singular value / operator scale")
    ax.set_title(title or "Lie-derivative spectrum of the fitted model")
    ax.set_xlim(0.5, len(s) + 0.5)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    return fig


def _short(expr, digits: int = 4) -> str:
    import sympy as sp

    text = sp.sstr(expr.xreplace({f: sp.Float(f, digits) for f in expr.atoms(sp.Float)}))
    return text if len(text) <= 40 else text[:37] + "..."


def plot_quantities(quantities, variables, t, x_data, rhs=None, ax=None, title: str | None = None, labels=None):
    """Each quantity along the data (dots) and along the model's trajectory from the same start (line).

    ``quantities`` are SymPy expressions; ``x_data`` an (m, n) trajectory (the first of a list
    is used); ``rhs`` the model's right-hand side (SymPy, one per variable) or None.
    Values are shown as ``(C - mean of C on the data) / scale`` with the scale of
    :func:`symsindy.conservation.check_quantity` (``max(|mean C|, RMS |grad C| |x|)``), so a
    conserved quantity is a flat line at 0 and different quantities share one axis.
    """
    import sympy as sp
    from scipy.integrate import solve_ivp

    xs = sp.symbols(list(variables))
    traj = np.asarray(x_data[0] if isinstance(x_data, (list, tuple)) else x_data, float)
    t = np.asarray(t[0] if isinstance(t, (list, tuple)) else t, float)
    fig, ax = _axes(ax, figsize=(7.5, 4.5))
    sim = None
    if rhs is not None:
        f = sp.lambdify(xs, list(rhs), modules="numpy")
        sol = solve_ivp(lambda _, s: np.asarray(f(*s), float), (t[0], t[-1]), traj[0], t_eval=t, method="LSODA", rtol=1e-9, atol=1e-9)
        if sol.success:
            sim = sol.y.T
    for k, q in enumerate(quantities):
        fq = sp.lambdify(xs, q, modules="numpy")
        fg = sp.lambdify(xs, [sp.diff(q, x) for x in xs], modules="numpy")
        vals = np.broadcast_to(np.asarray(fq(*traj.T), float), (len(traj),))
        grad = np.column_stack([np.broadcast_to(np.asarray(g, float), (len(traj),)) for g in fg(*traj.T)])
        level = float(np.mean(vals))
        scale = max(abs(level), float(np.sqrt(np.mean((np.linalg.norm(grad, axis=1) * np.linalg.norm(traj, axis=1)) ** 2))), 1e-300)
        name = labels[k] if labels else _short(q)
        c = f"C{k % 10}"
        ax.plot(t, (vals - level) / scale, ".", ms=2, color=c, alpha=0.5, label=f"{name} (data)")
        if sim is not None:
            mv = np.broadcast_to(np.asarray(fq(*sim.T), float), (len(sim),))
            ax.plot(t[: len(mv)], (mv - level) / scale, "-", color=c, lw=1.5, label=f"{name} (model)")
    ax.set_xlabel("time t")
    ax.set_ylabel("(C - mean of C on the data) / scale")
    ax.set_title(title or "Conserved quantities along data and model")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="x-small", loc="best")
    fig.tight_layout()
    return fig
