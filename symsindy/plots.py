"""Figures. Functions take an optional ``ax`` and return the matplotlib ``Figure``."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_singular_values", "plot_quantities"]


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
    ax.set_xlabel(f"index (ascending) over {cont.family or 'given'} candidates")
    ax.set_ylabel("singular value / operator scale")
    ax.set_title(title or "Lie-derivative spectrum of the fitted model")
    ax.set_xlim(0.5, len(s) + 0.5)
    ax.grid(True, which="both", alpha=0.3)
    ax.legend(loc="lower right", fontsize="small")
    fig.tight_layout()
    return fig


def plot_quantities(quantities, variables, t, x_data, rhs=None, ax=None, title: str | None = None, labels=None):
    """Each quantity along the data (dots) and along the model's trajectory from the same start (line).

    ``quantities`` are SymPy expressions; ``x_data`` an (m, n) trajectory (the first of a list
    is used); ``rhs`` the model's right-hand side (SymPy, one per variable) or None.
    Values are shown relative to their value at the first sample, so different quantities
    share one axis.
    """
    import sympy as sp
    from scipy.integrate import solve_ivp

    xs = sp.symbols(list(variables))
    traj = np.asarray(x_data[0] if isinstance(x_data, (list, tuple)) else x_data, float)
    t = np.asarray(t[0] if isinstance(t, (list, tuple)) else t, float)
    fig, ax = _axes(ax, figsize=(7.0, 4.0))
    sim = None
    if rhs is not None:
        f = sp.lambdify(xs, list(rhs), modules="numpy")
        sol = solve_ivp(lambda _, s: np.asarray(f(*s), float), (t[0], t[-1]), traj[0], t_eval=t, method="LSODA", rtol=1e-9, atol=1e-9)
        if sol.success:
            sim = sol.y.T
    colors = [f"C{k}" for k in range(10)]
    for k, q in enumerate(quantities):
        fq = sp.lambdify(xs, q, modules="numpy")
        ref = np.broadcast_to(np.asarray(fq(*traj.T), float), (len(traj),))
        scale = max(abs(ref[0]), np.std(ref), 1e-12)
        name = labels[k] if labels else str(q)
        if len(name) > 40:
            name = name[:37] + "..."
        c = colors[k % 10]
        ax.plot(t, (ref - ref[0]) / scale, ".", ms=2, color=c, alpha=0.6, label=f"{name} (data)")
        if sim is not None:
            vals = np.broadcast_to(np.asarray(fq(*sim.T), float), (len(sim),))
            ax.plot(t[: len(vals)], (vals - vals[0]) / scale, "-", color=c, lw=1.2, label=f"{name} (model)")
    ax.set_xlabel("time t")
    ax.set_ylabel("relative change (C(t) - C(t0)) / |C(t0)|")
    ax.set_title(title or "Conserved quantities along data and model")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize="x-small", loc="best")
    fig.tight_layout()
    return fig
