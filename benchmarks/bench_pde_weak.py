"""The weak form for field data: symsindy's own system against pysindy's WeakPDELibrary, and weak against strong.

Question: should ``SymmetricPDESINDy``'s weak rows be built by pysindy's ``WeakPDELibrary`` or by
``symsindy/pde/_weak.py``, and how much does the weak form gain over the strong one on noisy fields?

Data
    Burgers ``u_t = −u u_x + 0.1 u_xx`` (periodic, 128 points on [0, 2π), 101 times on [0, 2]; a
    pseudo-spectral solution, random initial state per seed) and the complex Ginzburg–Landau
    equation ``A_t = A + (1 + i b) A_xx − (1 + i c)|A|² A`` with b = 1.5, c = −1.2 (u = Re A,
    v = Im A; 128 points on [0, 32π), 201 times on [0, 20] after a burn-in of 50).  Noise: η × the
    field's standard deviation, Gaussian, η ∈ {0, 1, 5, 10 %}; 5 seeds (``--quick``: 2).  Those b, c
    give amplitude turbulence (1 + b c < 0): with b = 0.5, c = −1 the field settles near |A| = 1,
    where u (u² + v²) ≈ u, and no method separates the cubic terms from the linear one under noise.

Methods (the same optimizer, ``ConstrainedSTLSQ`` with the automatic threshold, on every system)
    ``strong``             ``SymmetricPDESINDy(formulation="strong")``: u_t by finite differences.
    ``weak``               ``SymmetricPDESINDy(formulation="weak")``: the package's rows (rule widths,
                           600 test functions).
    ``pysindy K=100``      ``WeakPDELibrary`` at its defaults (K = 100 boxes of half-width L/20, p = 4)
                           and ``convert_u_dot_integral`` as the target, centres from a seeded global
                           state (restored afterwards).
    ``pysindy K=600 H``    the same with K = 600 and the half-widths of the package's rule.
    Burgers is fitted with ``flip(x)+flip(u)`` enforced, Ginzburg–Landau with ``rotation(u,v)``.

Figures
    exact: fits whose support is the true one; err: median relative coefficient error
    ``|ξ − ξ_true| / |ξ_true|``; resid: on noise-free data, ``|b − G ξ_true| / |b|`` (the weak rows'
    quadrature error; for the strong form the finite-difference error); time: median seconds to
    build the rows and fit.
"""

from __future__ import annotations

import _common  # noqa: F401  (BLAS threads)

import time
import warnings

import numpy as np

from bench_pde import weak_rows

from symsindy.optimizers import ConstrainedSTLSQ
from symsindy.constraints import equivariant_subspace
from symsindy.pde import FieldData, SymmetricPDESINDy, field_weak_system, pde_action, pde_library, pde_terms

NOISE = (0.0, 0.01, 0.05, 0.10)


def burgers(seed, nx=128, nt=101, t_end=2.0, nu=0.1, L=2 * np.pi):
    rng = np.random.default_rng(seed)
    x = L * np.arange(nx) / nx
    k = 2 * np.pi * np.fft.rfftfreq(nx, d=L / nx)
    u0 = sum(rng.normal() * np.sin(m * x + rng.uniform(0, 2 * np.pi)) for m in (1, 2, 3)) / 2
    t = np.linspace(0, t_end, nt)
    sub, h = 50, (t[1] - t[0]) / 50
    E = np.exp(-nu * k**2 * h / 2)
    dealias = np.abs(k) < (2 / 3) * k.max()

    def N(v):
        w = np.fft.irfft(v, n=nx)
        return -0.5j * k * np.fft.rfft(w * w) * dealias

    v, out = np.fft.rfft(u0), [u0]
    for _ in range(nt - 1):
        for _ in range(sub):
            a = h * N(v)
            b = h * N(E * (v + a / 2))
            c = h * N(E * v + b / 2)
            d = h * N(E * E * v + E * c)
            v = E * E * v + (E * E * a + 2 * E * (b + c) + d) / 6
        out.append(np.fft.irfft(v, n=nx))
    return FieldData(["u"], ["x"], {"x": x}, [t], [np.array(out)[..., None]], "burgers")


GL_B, GL_C = 1.5, -1.2


def ginzburg_landau(seed, nx=128, nt=201, t_end=20.0, burn=50.0, L=32 * np.pi):
    """Integrating-factor RK4 for A_t = A + (1 + ib) A_xx − (1 + ic)|A|²A, periodic."""
    rng = np.random.default_rng(seed)
    x = L * np.arange(nx) / nx
    k = 2 * np.pi * np.fft.fftfreq(nx, d=L / nx)
    lin = 1.0 - (1 + 1j * GL_B) * k**2
    h = 0.01
    E = np.exp(lin * h / 2)

    def N(v):
        a = np.fft.ifft(v)
        return np.fft.fft(-(1 + 1j * GL_C) * np.abs(a) ** 2 * a)

    def step(v):
        a = h * N(v)
        b = h * N(E * (v + a / 2))
        c = h * N(E * v + b / 2)
        d = h * N(E * E * v + E * c)
        return E * E * v + (E * E * a + 2 * E * (b + c) + d) / 6

    v = np.fft.fft(0.1 * (rng.normal(size=nx) + 1j * rng.normal(size=nx)))
    for _ in range(int(round(burn / h))):
        v = step(v)
    dt = t_end / (nt - 1)
    sub = int(round(dt / h))
    out = [np.fft.ifft(v)]
    for _ in range(nt - 1):
        for _ in range(sub):
            v = step(v)
        out.append(np.fft.ifft(v))
    a = np.array(out)
    t = np.linspace(0, t_end, nt)
    return FieldData(["u", "v"], ["x"], {"x": x}, [t], [np.stack([a.real, a.imag], axis=-1)], "ginzburg-landau")


TRUE = {
    "burgers": {"u": {"u*u_x": -1.0, "u_xx": 0.1}},
    "gl": {
        "u": {"u": 1.0, "u_xx": 1.0, "v_xx": -GL_B, "u**3": -1.0, "u*v**2": -1.0, "u**2*v": GL_C, "v**3": GL_C},
        "v": {"v": 1.0, "v_xx": 1.0, "u_xx": GL_B, "v**3": -1.0, "u**2*v": -1.0, "u*v**2": -GL_C, "u**3": -GL_C},
    },
}


def truth(system, names, terms):
    return np.array([[TRUE[system][c].get(t, 0.0) for t in terms] for c in names])


def noisy(data, eta, seed):
    rng = np.random.default_rng([seed, int(round(1000 * eta))])
    u = data.u[0]
    un = u + eta * u.std(axis=tuple(range(u.ndim - 1))) * rng.normal(size=u.shape)
    return FieldData(data.names, data.axes, data.grid, data.t, [un], data.source)


def pysindy_rows(data, lib, K, H, seed):
    """pysindy's weak rows for one run: (G, b), columns in PDELibrary's order."""
    G, b, _ = weak_rows(data, lib.function_library.degree, 2, K, H, seed)
    return G, b


def fit_rows(G, b, action, trivial):
    sub = equivariant_subspace(action)
    opt = ConstrainedSTLSQ(basis=None if trivial else sub.basis, threshold="auto")
    opt.fit(G, b)
    return np.array(opt.coef_)


def run(seeds):
    rows = []
    cases = [("burgers", burgers, 2, "flip(x)+flip(u)"), ("gl", ginzburg_landau, 3, "rotation(u,v)")]
    for system, make, degree, spec in cases:
        for seed in seeds:
            clean = make(seed)
            lib = pde_library(clean, degree, 2)
            names = clean.names
            terms = [str(s) for s in pde_terms(lib, names, clean.axes)]
            xi = truth(system, names, terms)
            action = pde_action(lib, names, clean.axes, [spec])
            for eta in NOISE:
                data = clean if eta == 0 else noisy(clean, eta, seed)
                for method in ("strong", "weak", "pysindy K=100", "pysindy K=600 H"):
                    t0 = time.perf_counter()
                    resid = None
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        if method in ("strong", "weak"):
                            m = SymmetricPDESINDy(degree=degree, symmetry=spec, formulation=method).fit(data)
                            coef = m.coef_
                            if eta == 0:
                                if method == "weak":
                                    G, b = m.weak_system_.G, m.weak_system_.b
                                else:
                                    G, b = m._rows(data, lib)
                                resid = float(np.linalg.norm(b - G @ xi.T) / np.linalg.norm(b))
                            widths = None if m.weak_system_ is None else m.weak_system_.widths
                        else:
                            if method == "pysindy K=100":
                                K, H = 100, None
                            else:
                                ws = field_weak_system(data, lib)
                                K = 600
                                H = np.array([ws.widths["x"] * data.spacing("x"), ws.widths["t"] * data.time_step()])
                            G, b = pysindy_rows(data, lib, K, H, seed)
                            coef = fit_rows(G, b, action, False)
                            if eta == 0:
                                resid = float(np.linalg.norm(b - G @ xi.T) / np.linalg.norm(b))
                            widths = None
                    elapsed = time.perf_counter() - t0
                    exact = bool(np.array_equal(coef != 0, xi != 0))
                    err = float(np.linalg.norm(coef - xi) / np.linalg.norm(xi))
                    rows.append(
                        dict(
                            system=system,
                            seed=seed,
                            noise=eta,
                            method=method,
                            exact=exact,
                            err=err,
                            resid=resid,
                            time=elapsed,
                            widths=widths,
                        )
                    )
                    print(
                        f"{system} seed {seed} eta {eta:.2f} {method:16s} exact {exact!s:5s} err {err:.3g} "
                        f"time {elapsed:.2f}s" + ("" if resid is None else f" resid {resid:.2e}"),
                        flush=True,
                    )
    return rows


def table(rows, n_seeds):
    lines = [
        "| system | noise | method | exact | median err | resid (η = 0) | median time (s) |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for system in ("burgers", "gl"):
        for eta in NOISE:
            for method in ("strong", "weak", "pysindy K=100", "pysindy K=600 H"):
                sel = [r for r in rows if r["system"] == system and r["noise"] == eta and r["method"] == method]
                if not sel:
                    continue
                res = [r["resid"] for r in sel if r["resid"] is not None]
                lines.append(
                    f"| {system} | {eta:.0%} | {method} | {sum(r['exact'] for r in sel)}/{len(sel)} | "
                    f"{np.median([r['err'] for r in sel]):.3g} | {f'{np.median(res):.1e}' if res else ''} | "
                    f"{np.median([r['time'] for r in sel]):.2f} |"
                )
    return "\n".join(lines)


def main(argv=None):
    args = _common.parse_args(__doc__, argv)
    seeds = list(range(2 if args.quick else 5))
    rows = run(seeds)
    text = (
        "# The weak form for fields (`python benchmarks/bench_pde_weak.py`)\n\n"
        + __doc__.split("\n", 2)[2].strip()
        + "\n\n"
        + table(rows, len(seeds))
        + f"\n\n{_common.platform_line()}\n"
    )
    (args.out / "pde-weak.md").write_text(text)
    print(table(rows, len(seeds)))


if __name__ == "__main__":
    main()
