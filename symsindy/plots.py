"""Figures. Functions take an optional ``ax`` and return the matplotlib ``Figure``."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_singular_values"]


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
