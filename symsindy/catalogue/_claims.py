"""Checking a system's claims by machine: symmetries, conserved quantities, structure and tags."""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import sympy

from ..base import resolve_random_state
from ..symmetry import Symmetry
from ._system import System


class ClaimError(ValueError):
    """A catalogue claim (symmetry, conserved quantity, structure, tag) that the equations do not bear out."""


# --------------------------------------------------------------------------- verification


@dataclass(frozen=True)
class ClaimCheck:
    """The outcome of checking one catalogue claim.

    ``method`` is ``"symbolic"`` when simplification reached zero (or a definite
    non-zero), ``"numeric"`` when it was inconclusive and the residual was
    evaluated at random points in high precision instead.
    """

    system: str
    claim: str
    ok: bool
    method: str
    message: str


def _rational(x: float) -> sympy.Rational:
    fr = Fraction(float(x)).limit_denominator(10**6)
    return sympy.Rational(fr.numerator, fr.denominator)


def _short(expr, limit: int = 120) -> str:
    s = re.sub(r"\s+", " ", str(expr))
    return s if len(s) <= limit else s[: limit - 3] + "..."


def _trig_rational_zero(e) -> bool | None:
    """Decide ``e == 0`` for a rational function of variables and of sin, cos, tan of variables.

    After expanding multiple angles and sums, ``sin x, cos x`` become new symbols
    ``s, c``; the numerator vanishes on every circle ``s**2 + c**2 = 1`` exactly when
    its remainder modulo those relations is zero (they form a Groebner basis, with
    leading terms ``s**2``).  None when ``e`` has any other kind of function.
    """
    e = sympy.expand_trig(e)
    funcs = e.atoms(sympy.Function)
    if any(not isinstance(f, (sympy.sin, sympy.cos, sympy.tan)) or not f.args[0].is_Symbol for f in funcs):
        return None
    rep, sines, cosines, relations = {}, [], [], []
    for x in sorted({f.args[0] for f in funcs}, key=str):
        S, C = sympy.Dummy(f"sin_{x}"), sympy.Dummy(f"cos_{x}")
        rep.update({sympy.sin(x): S, sympy.cos(x): C, sympy.tan(x): S / C})
        sines.append(S)
        cosines.append(C)
        relations.append(S**2 + C**2 - 1)
    e = e.xreplace(rep)
    if not e.is_rational_function():
        return None
    num = sympy.expand(sympy.fraction(sympy.together(e))[0])
    if num == 0:
        return True
    others = sorted(num.free_symbols - set(sines) - set(cosines), key=str)
    _, remainder = sympy.reduced(num, relations, *sines, *cosines, *others, order="lex")
    return remainder == 0


class _Checker:
    """Decides whether expressions vanish identically, symbolically first."""

    def __init__(self, symbols, seed, n_points, digits):
        self.symbols = list(symbols)
        self.real = {s: sympy.Symbol(s.name, real=True) for s in self.symbols}
        self.rng = np.random.default_rng(seed)
        self.n_points = n_points
        self.digits = digits

    def vanishes(self, expr) -> tuple[bool | None, str, sympy.Expr]:
        """(True, 'symbolic', 0) | (False, 'symbolic', residual) | (ok, 'numeric', residual)."""
        e = sympy.sympify(expr).xreplace(self.real)
        if e == 0:
            return True, "symbolic", e
        free = sorted(e.free_symbols, key=str)
        e = sympy.expand(e)
        if e == 0:
            return True, "symbolic", e
        if e.is_rational_function(*free):
            c = sympy.cancel(sympy.together(e))
            return c == 0, "symbolic", c
        if e.has(sympy.sin, sympy.cos, sympy.tan):
            decided = _trig_rational_zero(e)
            if decided is not None:
                return decided, "symbolic", sympy.Integer(0) if decided else expr
        r = e
        for step in (lambda z: sympy.cancel(sympy.together(z)), sympy.trigsimp, sympy.simplify):
            r = step(r)
            if r == 0:
                return True, "symbolic", r
        return self.numeric(e), "numeric", r

    def numeric(self, e) -> bool:
        free = sorted(e.free_symbols, key=str)
        tol = sympy.Float(10) ** (-(self.digits * 2 // 3))
        for _ in range(self.n_points):
            point = {s: sympy.Float(v, self.digits) for s, v in zip(free, self.rng.uniform(0.3, 1.7, len(free)))}
            val = e.xreplace(point).evalf(self.digits)
            terms = sympy.Add.make_args(e)
            scale = max(1, *[abs(t.xreplace(point).evalf(self.digits)) for t in terms])
            if not val.is_number or abs(val) > tol * scale:
                return False
        return True


def check_claims(system: System, *, random_state=0, n_points: int = 5, digits: int = 40, seed=None) -> list[ClaimCheck]:
    """Check every claim of a system against its equations.

    Symmetries, conserved quantities and structure are checked for all
    parameter values (parameters stay symbols), after substituting the claim's
    condition:

    * generator ``(A, b)``: ``J_f(x)(A x + b) - A f(x) = 0``;
    * element ``R``: ``f(R x) - R f(x) = 0``;
    * conserved ``C``: ``grad C . f = 0``, and ``C`` depends on the state;
    * canonical structure: ``q' = dH/dp``, ``p' = -dH/dq`` per pair;
      Poisson: ``P`` antisymmetric, Jacobi identity, ``f = P grad H``;
    * the tags ``polynomial``, ``linear``, ``hamiltonian``, ``volume_preserving`` and
      ``negative_control``, where given, against the equations (see :func:`derived_tags`
      for the converse).

    Rational functions are decided by cancellation; rational functions of
    sin, cos, tan of the variables by reduction modulo ``sin**2 + cos**2 = 1``.
    Otherwise SymPy's simplification is tried, and where it is inconclusive the
    residual is evaluated at ``n_points`` random points (coordinates and
    parameters uniform in [0.3, 1.7]) with ``digits`` digits, and the check says so.
    """
    random_state = resolve_random_state(random_state, seed, "check_claims")
    chk = _Checker(list(system.symbols) + list(system.parameter_symbols.values()), random_state, n_points, digits)
    X = sympy.Matrix(system.symbols)
    F = sympy.Matrix([system.equations[v] for v in system.variables])
    n = system.n_variables
    out: list[ClaimCheck] = []
    name = system.name

    def record(label, residuals, what):
        """residuals: list of (where, expr); all must vanish."""
        worst_method = "symbolic"
        for wh, r in residuals:
            ok, method, res = chk.vanishes(r)
            if method == "numeric":
                worst_method = "numeric"
            if not ok:
                note = (
                    " (simplification inconclusive; non-zero at random points in high precision)"
                    if method == "numeric"
                    else ""
                )
                out.append(
                    ClaimCheck(
                        name,
                        label,
                        False,
                        method,
                        f"system '{name}': {label} does not hold: {wh}: {what} = {_short(res)}, not 0{note}",
                    )
                )
                return
        note = (
            f" (symbolic simplification inconclusive; zero to {digits * 2 // 3} digits at {n_points} random points)"
            if worst_method == "numeric"
            else ""
        )
        out.append(ClaimCheck(name, label, True, worst_method, f"system '{name}': {label} holds{note}"))

    def under(when):
        return {system.parameter_symbols[p]: v for p, v in when.items()}

    # symmetries
    for c in system.symmetry_claims:
        sub = under(c.when)
        Fc = F.xreplace(sub)
        J = Fc.jacobian(X)
        sym = Symmetry(system.variables, c.spec)
        residuals = []
        for g in sym.generators:
            A = sympy.Matrix(n, n, lambda i, j: _rational(g.matrix[i, j]))  # noqa: B023 (called here)
            b = sympy.Matrix([_rational(v) for v in g.translation])
            R = J * (A * X + b) - A * Fc
            residuals += [(f"generator {g.label}, equation for {system.variables[i]}", R[i]) for i in range(n)]
        for e in sym.elements:
            M = sympy.Matrix(n, n, lambda i, j: _rational(e.matrix[i, j]))  # noqa: B023 (called here)
            moved = dict(zip(system.symbols, M * X))
            R = Fc.xreplace(moved) - M * Fc
            residuals += [(f"element {e.label}, equation for {system.variables[i]}", R[i]) for i in range(n)]
        record(c.label, residuals, "residual")

    # conserved quantities
    for c in system.conserved_claims:
        sub = under(c.when)
        C = c.expression.xreplace(sub)
        grad = [sympy.diff(C, s) for s in system.symbols]
        if all(chk.vanishes(gi)[0] for gi in grad):
            out.append(
                ClaimCheck(
                    name,
                    c.label,
                    False,
                    "symbolic",
                    f"system '{name}': {c.label} is vacuous: it does not depend on the state",
                )
            )
            continue
        dC = sum((gi * fi for gi, fi in zip(grad, F.xreplace(sub))), sympy.Integer(0))
        record(c.label, [("along the flow", dC)], "dC/dt")

    # structure
    s = system.structure_claim
    if s is not None:
        sub = under(s.when)
        H = s.hamiltonian.xreplace(sub)
        Fs = F.xreplace(sub)
        idx = {v: i for i, v in enumerate(system.variables)}
        residuals = []
        if s.kind == "canonical":
            for q, p in s.pairs:
                qs, ps = system.symbols[idx[q]], system.symbols[idx[p]]
                residuals.append((f"{q}' - dH/d{p}", Fs[idx[q]] - sympy.diff(H, ps)))
                residuals.append((f"{p}' + dH/d{q}", Fs[idx[p]] + sympy.diff(H, qs)))
        else:
            P = sympy.Matrix(s.matrix).xreplace(sub)
            for i in range(n):
                for j in range(i, n):
                    residuals.append((f"P[{i}][{j}] + P[{j}][{i}] (antisymmetry)", P[i, j] + P[j, i]))
            dP = [[[sympy.diff(P[i, j], system.symbols[l]) for l in range(n)] for j in range(n)] for i in range(n)]
            for i in range(n):
                for j in range(i + 1, n):
                    for k in range(j + 1, n):
                        jac = sum(
                            (P[l, i] * dP[j][k][l] + P[l, j] * dP[k][i][l] + P[l, k] * dP[i][j][l] for l in range(n)),
                            sympy.Integer(0),
                        )
                        residuals.append((f"Jacobi identity ({i},{j},{k})", jac))
            grad = sympy.Matrix([sympy.diff(H, x) for x in system.symbols])
            PG = P * grad
            residuals += [(f"equation for {system.variables[i]} - (P grad H)", Fs[i] - PG[i]) for i in range(n)]
        record(s.label, residuals, "residual")

    # tags that can be decided from the equations
    derived = _derived_tags(system, chk)
    for tag, meaning in _TAG_MEANINGS.items():
        if tag in system.tags:
            ok, method = derived[tag]
            label = f"tag '{tag}'"
            msg = f"holds ({meaning})" if ok else f"is claimed, but it is false that {meaning}"
            out.append(ClaimCheck(name, label, ok, method, f"system '{name}': {label} {msg}"))
    return out


_TAG_MEANINGS = {
    "polynomial": "every equation is a polynomial in the state",
    "linear": "every equation is linear and homogeneous in the state",
    "hamiltonian": "a Hamiltonian structure holds at the current parameters",
    "volume_preserving": "the divergence of f is zero",
    "negative_control": "no symmetry is claimed",
}


def _derived_tags(system: System, chk: "_Checker") -> dict[str, tuple[bool, str]]:
    poly = system.is_polynomial
    linear = poly and all(
        sympy.Poly(e, *system.symbols).is_homogeneous and sympy.Poly(e, *system.symbols).total_degree() <= 1
        for e in system.equations.values()
        if e != 0
    )
    div = sum((sympy.diff(system.equations[v], s) for v, s in zip(system.variables, system.symbols)), sympy.Integer(0))
    zero, method, _ = chk.vanishes(div)
    return {
        "polynomial": (poly, "symbolic"),
        "linear": (linear, "symbolic"),
        "hamiltonian": (system.structure is not None, "symbolic"),
        "volume_preserving": (bool(zero), method),
        "negative_control": (not system.symmetry_claims, "symbolic"),
    }


def derived_tags(system: System, *, random_state=0, seed=None) -> set[str]:
    """The tags among polynomial, linear, hamiltonian, volume_preserving that the equations bear out."""
    random_state = resolve_random_state(random_state, seed, "derived_tags")
    chk = _Checker(list(system.symbols) + list(system.parameter_symbols.values()), random_state, 5, 40)
    return {t for t, (ok, _) in _derived_tags(system, chk).items() if ok and t != "negative_control"}


def verify_system(system: System, **kwargs) -> list[ClaimCheck]:
    """Check all claims (see :func:`check_claims`); raise :class:`ClaimError` naming every failure."""
    checks = check_claims(system, **kwargs)
    bad = [c.message for c in checks if not c.ok]
    if bad:
        raise ClaimError("; ".join(bad))
    return checks
