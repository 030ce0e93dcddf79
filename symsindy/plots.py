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
        sol = solve_ivp(
            lambda _, s: np.asarray(f(*s), float),
            (t[0], t[-1]),
            traj[0],
            t_eval=t,
            method="LSODA",
            rtol=1e-9,
            atol=1e-9,
        )
        if sol.success:
            sim = sol.y.T
    for k, q in enumerate(quantities):
        fq = sp.lambdify(xs, q, modules="numpy")
        fg = sp.lambdify(xs, [sp.diff(q, x) for x in xs], modules="numpy")
        vals = np.broadcast_to(np.asarray(fq(*traj.T), float), (len(traj),))
        grad = np.column_stack([np.broadcast_to(np.asarray(g, float), (len(traj),)) for g in fg(*traj.T)])
        level = float(np.mean(vals))
        scale = max(
            abs(level),
            float(np.sqrt(np.mean((np.linalg.norm(grad, axis=1) * np.linalg.norm(traj, axis=1)) ** 2))),
            1e-300,
        )
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


def _series(models):
    return [(label, None if x is None else np.asarray(x, float)) for label, x in (models or {}).items()]


_MODEL_STYLES = ("-", "--", ":", "-.")


def plot_trajectories(
    t,
    x_data,
    variables,
    models=None,
    axes=None,
    title: str | None = None,
    note: str | None = None,
    time_label: str = "time t",
    marks=None,
):
    """Each state variable against time: data as dots, each model's simulation as a line.

    ``x_data`` is an (m, n) trajectory; ``models`` maps a legend label to the (k, n)
    states of a model simulated from the same initial state at ``t[:k]`` (shorter when
    the simulation stopped early).  ``axes`` is a sequence of n axes, or None for a new
    figure with one panel per variable.  ``note`` is printed under the plots; ``marks``
    is a list of ``(time, label)`` drawn as vertical dotted lines.
    """
    import textwrap

    t = np.asarray(t, float)
    x_data = np.asarray(x_data, float)
    variables = list(variables)
    n = len(variables)
    if axes is None:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(n, 1, figsize=(8.0, 1.6 * n + 1.4), sharex=True, squeeze=False)
        axes = axes[:, 0]
    fig = axes[0].figure
    series = _series(models)
    for i, (ax, v) in enumerate(zip(axes, variables)):
        ax.plot(t, x_data[:, i], ".", ms=2.5, color="0.45", label="data")
        for k, (label, xm) in enumerate(series):
            if xm is None or not len(xm):
                continue
            ax.plot(t[: len(xm)], xm[:, i], _MODEL_STYLES[k % 4], color=f"C{k}", lw=1.3, label=label)
        for tm, label in marks or ():
            ax.axvline(tm, color="k", linestyle=":", lw=1.0, label=label if i == 0 else None)
        ax.set_ylabel(v)
        ax.grid(True, alpha=0.3)
    axes[-1].set_xlabel(time_label)
    axes[0].legend(
        fontsize="small",
        loc="upper right",
        markerscale=3,
        ncol=1 + len(series) + len(marks or ()),
        bbox_to_anchor=(1.0, 1.02),
        borderaxespad=0.0,
        framealpha=0.9,
    )
    fig.suptitle(title or "Data and model trajectories", fontsize="medium")
    lines = textwrap.wrap(note, 110) if note else []
    if lines:
        fig.text(0.01, 0.005, "\n".join(lines), fontsize="x-small", color="0.3", ha="left", va="bottom")
    fig.tight_layout(rect=(0, 0.025 * len(lines) * 6 / (1.6 * n + 1.4), 1, 1))
    return fig


def plot_phase(x_data, variables, models=None, ax=None, title: str | None = None):
    """The trajectory in state space: the first three variables in 3-D (two: the phase plane).

    Data as dots, each model in ``models`` (label -> (k, n) states) as a line.
    """
    x_data = np.asarray(x_data, float)
    variables = list(variables)
    if len(variables) < 2:
        raise ValueError(f"a phase portrait needs at least 2 variables, got {len(variables)}")
    three = len(variables) >= 3
    if ax is None:
        import matplotlib.pyplot as plt

        fig = plt.figure(figsize=(6.5, 5.5) if three else (6.0, 5.0))
        ax = fig.add_subplot(projection="3d" if three else None)
    fig = ax.figure
    k_dims = 3 if three else 2
    ax.plot(*x_data[:, :k_dims].T, ".", ms=2, color="0.45", alpha=0.7, label="data")
    ax.plot(*x_data[0, :k_dims, None], "o", color="k", ms=5, label="initial state")
    for k, (label, xm) in enumerate(_series(models)):
        if xm is None or not len(xm):
            continue
        ax.plot(*xm[:, :k_dims].T, _MODEL_STYLES[k % 4], color=f"C{k}", lw=1.0, label=label)
    ax.set_xlabel(variables[0])
    ax.set_ylabel(variables[1])
    if three:
        ax.set_zlabel(variables[2])
    else:
        ax.grid(True, alpha=0.3)
    shown = ", ".join(variables[:k_dims])
    ax.set_title(title or f"Trajectory in ({shown})", fontsize="medium")
    ax.legend(fontsize="small", loc="upper left", markerscale=2)
    fig.tight_layout()
    return fig


def plot_coefficients(
    term_names,
    variables,
    coefficients,
    axes=None,
    title: str | None = None,
    tol: float = 0.0,
    ylabel: str = "{}' coefficient",
    keep=None,
):
    """Coefficients of several models side by side: one panel per equation, one bar group per term.

    ``coefficients`` maps a legend label to an (n, p) array over ``term_names``; terms
    whose coefficient is at most ``tol`` in every model are left out, unless ``keep``
    (an (n, p) boolean array) marks them.  ``ylabel`` is formatted with the variable name.
    """
    variables = list(variables)
    term_names = list(term_names)
    items = [(label, np.asarray(c, float)) for label, c in coefficients.items()]
    n = len(variables)
    if axes is None:
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(n, 1, figsize=(8.0, 1.7 * n + 1.2), squeeze=False)
        axes = axes[:, 0]
    fig = axes[0].figure
    width = 0.8 / max(len(items), 1)
    for i, (ax, v) in enumerate(zip(axes, variables)):
        shown = [
            j
            for j in range(len(term_names))
            if any(abs(c[i, j]) > tol for _, c in items) or (keep is not None and keep[i][j])
        ]
        pos = np.arange(len(shown))
        for k, (label, c) in enumerate(items):
            ax.bar(pos + (k - (len(items) - 1) / 2) * width, c[i, shown], width, color=f"C{k}", label=label)
        ax.axhline(0.0, color="0.3", lw=0.6)
        ax.set_xticks(pos)
        ax.set_xticklabels([term_names[j] for j in shown], fontsize="small")
        ax.set_ylabel(ylabel.format(v))
        ax.grid(True, axis="y", alpha=0.3)
        if not shown:
            ax.text(0.5, 0.5, "all coefficients zero", transform=ax.transAxes, ha="center", va="center", color="0.4")
    axes[0].legend(fontsize="small", loc="best")
    axes[-1].set_xlabel("library term")
    fig.suptitle(title or "Model coefficients", fontsize="medium")
    fig.tight_layout()
    return fig
