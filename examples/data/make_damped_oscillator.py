"""Regenerate ``damped_oscillator.csv``: the damped oscillator with measured derivatives.

    x' = -0.1 x + 2 y
    y' = -2 x - 0.1 y

Two trajectories (from (2, 0) and (0, 1)), 100 samples each on t in [0, 10], solved
exactly with the matrix exponential.  States and derivatives carry Gaussian noise
with standard deviation 1% of each column's root mean square (seed 0), and are
rounded to 6 decimals.  Run ``python examples/data/make_damped_oscillator.py``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.linalg import expm

from symsindy.io import write_csv

A = np.array([[-0.1, 2.0], [-2.0, -0.1]])
INITIAL = [(2.0, 0.0), (0.0, 1.0)]
NOISE = 0.01
SEED = 0


def make(n_samples: int = 100, t_end: float = 10.0, seed: int = SEED):
    rng = np.random.default_rng(seed)
    t = np.linspace(0.0, t_end, n_samples)
    ts, xs, dxs = [], [], []
    for x0 in INITIAL:
        x = np.array([expm(A * ti) @ np.asarray(x0) for ti in t])
        dx = x @ A.T
        x = x + NOISE * np.sqrt(np.mean(x**2, axis=0)) * rng.standard_normal(x.shape)
        dx = dx + NOISE * np.sqrt(np.mean(dx**2, axis=0)) * rng.standard_normal(dx.shape)
        ts.append(np.round(t, 6))
        xs.append(np.round(x, 6))
        dxs.append(np.round(dx, 6))
    return ts, xs, dxs


if __name__ == "__main__":
    ts, xs, dxs = make()
    out = Path(__file__).with_name("damped_oscillator.csv")
    write_csv(out, ["x", "y"], ts, xs, dxs)
    print(f"wrote {out}")
