"""Symmetry groups acting on named state variables.

A symmetry is given by Lie-algebra generators (affine: ``x -> A x + b``) and
discrete elements (linear: ``x -> R x``).  Groups are built from matrices or from
the spec grammar::

    specs  := spec (';' spec)*
    spec   := term ('+' term)*          # one transformation acting on several blocks at once
    term   := NAME '(' [arg (',' arg)*] ')'
    arg    := VAR | VAR '=' NUMBER        # NUMBER: integer, decimal or p/q

with the terms

    rotation(a,b)        SO(2) in the a-b plane (generator a' = -b, b' = a)
    rotation(a,b,c)      SO(3) on three coordinates (three generators)
    flip(a,b,...)        the element negating all listed coordinates at once
    swap(a,b)            the permutation exchanging a and b
    cycle(a,b,c,...)     the cyclic permutation a -> b -> c -> a
    translation(a,...)   one translation generator per listed coordinate
    scaling(a=2,b=1)     the generator diag(2, 1) on those coordinates

Several specs together generate the group they span.  Text is parsed with a small
tokenizer, never with ``eval``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from collections.abc import Iterable, Sequence

import numpy as np
from scipy.linalg import expm

__all__ = ["Generator", "Element", "Symmetry", "SpecError", "parse_specs"]


class SpecError(ValueError):
    """A symmetry spec that cannot be parsed or does not make sense."""


@dataclass(frozen=True, eq=False)
class Generator:
    """A Lie-algebra generator: the vector field ``x -> A x + b``.

    The group element is ``exp(t (A, b))``; it acts on velocities through its
    linear part only, so a pure translation leaves the output unchanged.
    """

    matrix: np.ndarray
    translation: np.ndarray
    label: str = ""

    @property
    def is_affine(self) -> bool:
        return bool(np.any(self.translation != 0))

    def augmented(self) -> np.ndarray:
        """The (n+1)x(n+1) matrix [[A, b], [0, 0]]."""
        n = self.matrix.shape[0]
        out = np.zeros((n + 1, n + 1))
        out[:n, :n] = self.matrix
        out[:n, n] = self.translation
        return out


@dataclass(frozen=True, eq=False)
class Element:
    """A discrete group element ``x -> R x``."""

    matrix: np.ndarray
    label: str = ""


# --------------------------------------------------------------------------- parsing

_TOKEN = re.compile(
    r"\s*(?:(?P<name>[A-Za-z_][A-Za-z_0-9]*)|(?P<num>[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(?:/\d+)?)"
    r"|(?P<op>[(),=+;]))"
)


def _tokenize(text: str, spec: str) -> list[tuple[str, str]]:
    tokens = []
    pos = 0
    text = text.rstrip()
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if m is None or m.end() == pos:
            raise SpecError(f"symmetry {spec!r}: unexpected character {text[pos:].strip()[:1]!r} at position {pos}")
        kind = m.lastgroup
        tokens.append((kind, m.group(kind)))
        pos = m.end()
    return tokens


def _parse_number(text: str, spec: str) -> float:
    try:
        return float(Fraction(text))
    except (ValueError, ZeroDivisionError):
        raise SpecError(f"symmetry {spec!r}: {text!r} is not a number") from None


_TERMS = ("rotation", "flip", "swap", "cycle", "translation", "scaling")


def _parse_terms(spec: str) -> list[tuple[str, list[tuple[str, float | None]]]]:
    """Split one spec (no ';') into [(term name, [(var, value or None), ...]), ...]."""
    tokens = _tokenize(spec, spec)
    if not tokens:
        raise SpecError("symmetry '': empty spec; expected e.g. 'rotation(x,y)'")
    terms = []
    i = 0

    def expect(kind_or_op: str) -> str:
        nonlocal i
        if i >= len(tokens):
            raise SpecError(f"symmetry {spec!r}: unexpected end of spec, expected {kind_or_op!r}")
        kind, val = tokens[i]
        if kind_or_op in ("name", "num"):
            if kind != kind_or_op:
                raise SpecError(
                    f"symmetry {spec!r}: expected a {'name' if kind_or_op == 'name' else 'number'}, got {val!r}"
                )
        elif val != kind_or_op:
            raise SpecError(f"symmetry {spec!r}: expected {kind_or_op!r}, got {val!r}")
        i += 1
        return val

    while True:
        name = expect("name")
        if name not in _TERMS:
            raise SpecError(f"symmetry {spec!r}: unknown transformation {name!r}; expected one of {', '.join(_TERMS)}")
        expect("(")
        args: list[tuple[str, float | None]] = []
        if i < len(tokens) and tokens[i][1] == ")":
            i += 1
        else:
            while True:
                var = expect("name")
                value = None
                if i < len(tokens) and tokens[i][1] == "=":
                    i += 1
                    if i < len(tokens) and tokens[i][0] == "num":
                        value = _parse_number(tokens[i][1], spec)
                        i += 1
                    else:
                        got = tokens[i][1] if i < len(tokens) else "end of spec"
                        raise SpecError(f"symmetry {spec!r}: expected a number after '{var}=', got {got!r}")
                args.append((var, value))
                sep = expect(",") if i < len(tokens) and tokens[i][1] == "," else expect(")")
                if sep == ")":
                    break
        terms.append((name, args))
        if i == len(tokens):
            return terms
        expect("+")


def _canonical(name: str, args: list[tuple[str, float | None]]) -> str:
    def fmt(v, x):
        if x is None:
            return v
        fr = Fraction(x).limit_denominator(10**6)
        s = str(fr) if float(fr) == x else repr(x)
        return f"{v}={s}"

    return f"{name}(" + ",".join(fmt(v, x) for v, x in args) + ")"


def _term_action(spec, name, args, index) -> tuple[str, list[tuple[np.ndarray, np.ndarray]] | list[np.ndarray]]:
    """Return ('continuous', [(A, b), ...]) or ('discrete', [R])."""
    n = len(index)
    names = [a for a, _ in args]
    for v in names:
        if v not in index:
            raise SpecError(f"symmetry {spec!r}: unknown variable {v!r}; variables are {', '.join(index)}")
    if len(set(names)) != len(names):
        dup = next(v for v in names if names.count(v) > 1)
        raise SpecError(f"symmetry {spec!r}: variable {dup!r} is repeated in {name}(...)")
    valued = [v for v, x in args if x is not None]
    if name != "scaling" and valued:
        raise SpecError(f"symmetry {spec!r}: {name}(...) takes variable names only, got '{valued[0]}=...'")
    ix = [index[v] for v in names]
    zero_b = np.zeros(n)
    if name == "rotation":
        if len(ix) == 2:
            pairs = [(ix[0], ix[1])]
        elif len(ix) == 3:
            a, b, c = ix
            pairs = [(b, c), (c, a), (a, b)]
        else:
            raise SpecError(f"symmetry {spec!r}: rotation takes 2 or 3 variables, got {len(ix)}")
        gens = []
        for p, q in pairs:
            A = np.zeros((n, n))
            A[p, q] = -1.0
            A[q, p] = 1.0
            gens.append((A, zero_b.copy()))
        return "continuous", gens
    if name == "translation":
        if not ix:
            raise SpecError(f"symmetry {spec!r}: translation needs at least one variable")
        gens = []
        for k in ix:
            b = np.zeros(n)
            b[k] = 1.0
            gens.append((np.zeros((n, n)), b))
        return "continuous", gens
    if name == "scaling":
        if not ix:
            raise SpecError(f"symmetry {spec!r}: scaling needs at least one variable")
        A = np.zeros((n, n))
        for (_, x), k in zip(args, ix):
            A[k, k] = 1.0 if x is None else x
        if not np.any(A):
            raise SpecError(f"symmetry {spec!r}: the generator is zero (all scaling weights are 0)")
        return "continuous", [(A, zero_b.copy())]
    R = np.eye(n)
    if name == "flip":
        if not ix:
            raise SpecError(f"symmetry {spec!r}: flip needs at least one variable")
        for k in ix:
            R[k, k] = -1.0
        return "discrete", [R]
    if name == "swap":
        if len(ix) != 2:
            raise SpecError(f"symmetry {spec!r}: swap takes exactly 2 variables, got {len(ix)}")
        cyc = ix
    else:  # cycle
        if len(ix) < 2:
            raise SpecError(f"symmetry {spec!r}: cycle takes at least 2 variables, got {len(ix)}")
        cyc = ix
    # (g x)_{next(a)} = x_a : the value at a moves to the next coordinate
    P = np.eye(n)
    for k in cyc:
        P[k, k] = 0.0
    for a, b in zip(cyc, cyc[1:] + cyc[:1]):
        P[b, a] = 1.0
    return "discrete", [P]


def parse_specs(specs: str | Sequence[str], variables: Sequence[str]):
    """Parse spec text into generators and elements.

    Returns ``(generators, elements)`` as lists of :class:`Generator` and
    :class:`Element`.  Raises :class:`SpecError` with a one-line message.
    """
    variables = _check_variables(variables)
    index = {v: i for i, v in enumerate(variables)}
    if isinstance(specs, str):
        specs = [specs]
    pieces = []
    for s in specs:
        if not isinstance(s, str):
            raise SpecError(f"symmetry {s!r}: a spec must be a string such as 'rotation(x,y)'")
        pieces.extend(p for p in s.split(";"))
    generators: list[Generator] = []
    elements: list[Element] = []
    for raw in pieces:
        spec = raw.strip()
        terms = _parse_terms(spec)
        label = "+".join(_canonical(name, args) for name, args in terms)
        actions = [_term_action(spec, name, args, index) for name, args in terms]
        kinds = {k for k, _ in actions}
        if len(kinds) > 1:
            raise SpecError(f"symmetry {spec!r}: cannot add a continuous and a discrete transformation with '+'")
        kind = kinds.pop()
        if kind == "continuous":
            counts = {len(g) for _, g in actions}
            if len(counts) > 1:
                raise SpecError(
                    f"symmetry {spec!r}: terms joined by '+' must have the same number of generators, "
                    f"got {', '.join(str(len(g)) for _, g in actions)}"
                )
            for j in range(counts.pop()):
                A = sum(g[j][0] for _, g in actions)
                b = sum(g[j][1] for _, g in actions)
                if not np.any(A) and not np.any(b):
                    raise SpecError(f"symmetry {spec!r}: the generator is zero")
                sub = label if len(actions[0][1]) == 1 else f"{label}[{j}]"
                generators.append(Generator(A, b, sub))
        else:
            R = np.eye(len(variables))
            for _, (M,) in actions:
                R = M @ R
            if np.array_equal(R, np.eye(len(variables))):
                raise SpecError(f"symmetry {spec!r}: the element is the identity")
            elements.append(Element(R, label))
    return generators, elements


def _check_variables(variables) -> tuple[str, ...]:
    if isinstance(variables, str):
        raise ValueError(f"variables {variables!r}: expected a sequence of names such as ['x', 'y']")
    variables = tuple(variables)
    if not variables:
        raise ValueError("variables: expected at least one state variable name")
    for v in variables:
        if not isinstance(v, str) or not v.isidentifier():
            raise ValueError(f"variable {v!r}: names must be identifiers such as 'x' or 'q1'")
    if len(set(variables)) != len(variables):
        dup = next(v for v in variables if variables.count(v) > 1)
        raise ValueError(f"variable {dup!r} appears twice; variables must be distinct")
    return variables


# --------------------------------------------------------------------------- the group


class Symmetry:
    """A group acting on named state variables.

    Parameters
    ----------
    variables : sequence of str
        State variable names, in the order of the state vector.
    specs : str or sequence of str, optional
        Spec strings (see the module docstring), e.g. ``"rotation(x,y)"``.
    generators : sequence of (n, n) arrays or (A, b) pairs, optional
        Extra Lie-algebra generators given as matrices; ``(A, b)`` for affine ones.
    elements : sequence of (n, n) arrays, optional
        Extra discrete elements, each invertible.

    Examples
    --------
    >>> Symmetry(["x", "y", "z"], "rotation(x,y); flip(z)").specs
    ['rotation(x,y)', 'flip(z)']
    """

    def __init__(self, variables, specs=(), *, generators=(), elements=()):
        self.variables = _check_variables(variables)
        n = len(self.variables)
        gens, elems = parse_specs(specs, self.variables) if (isinstance(specs, str) or len(specs)) else ([], [])
        for k, g in enumerate(generators):
            if isinstance(g, Generator):
                gens.append(g)
                continue
            if isinstance(g, tuple) and len(g) == 2:
                A, b = np.asarray(g[0], float), np.asarray(g[1], float)
            else:
                A, b = np.asarray(g, float), np.zeros(n)
            if A.shape != (n, n) or b.shape != (n,):
                raise ValueError(
                    f"generator {k}: expected an ({n}, {n}) matrix and a length-{n} translation, got {A.shape} and {b.shape}"
                )
            if not np.all(np.isfinite(A)) or not np.all(np.isfinite(b)):
                raise ValueError(f"generator {k}: contains NaN or inf")
            if not np.any(A) and not np.any(b):
                raise ValueError(f"generator {k}: the generator is zero")
            gens.append(Generator(A, b, f"generator[{k}]"))
        for k, R in enumerate(elements):
            if isinstance(R, Element):
                elems.append(R)
                continue
            R = np.asarray(R, float)
            if R.shape != (n, n):
                raise ValueError(f"element {k}: expected an ({n}, {n}) matrix, got {R.shape}")
            if not np.all(np.isfinite(R)) or abs(np.linalg.det(R)) < 1e-12:
                raise ValueError(f"element {k}: the matrix must be finite and invertible")
            elems.append(Element(R, f"element[{k}]"))
        for g in gens:
            if g.matrix.shape != (n, n):
                raise ValueError(f"generator {g.label!r}: acts on {g.matrix.shape[0]} variables, the state has {n}")
        self.generators: tuple[Generator, ...] = tuple(gens)
        self.elements: tuple[Element, ...] = tuple(elems)

    # ---- description
    @property
    def n(self) -> int:
        return len(self.variables)

    @property
    def specs(self) -> list[str]:
        """Spec strings of the parts, one per generator group / element (deduplicated, in order)."""
        out: list[str] = []
        for g in self.generators:
            lab = re.sub(r"\[\d+\]$", "", g.label)
            if lab not in out:
                out.append(lab)
        for e in self.elements:
            if e.label not in out:
                out.append(e.label)
        return out

    @property
    def is_trivial(self) -> bool:
        return not self.generators and not self.elements

    @property
    def is_affine(self) -> bool:
        return any(g.is_affine for g in self.generators)

    def __repr__(self) -> str:
        return f"Symmetry({list(self.variables)!r}, {'; '.join(self.specs)!r})"

    def __add__(self, other: "Symmetry") -> "Symmetry":
        if not isinstance(other, Symmetry):
            return NotImplemented
        if other.variables != self.variables:
            raise ValueError(f"cannot combine symmetries on variables {self.variables} and {other.variables}")
        return Symmetry(
            self.variables, generators=self.generators + other.generators, elements=self.elements + other.elements
        )

    # ---- group elements
    def element(self, t: Sequence[float] = (), word: Iterable[int] = ()) -> tuple[np.ndarray, np.ndarray]:
        """The affine map ``x -> R x + c`` of ``exp(sum t_i G_i)`` followed by the discrete word.

        ``word`` lists indices into :attr:`elements` applied right to left.
        Returns ``(R, c)``.
        """
        n = self.n
        t = np.asarray(t, float)
        M = np.zeros((n + 1, n + 1))
        for ti, g in zip(t, self.generators):
            M += ti * g.augmented()
        E = expm(M) if len(t) else np.eye(n + 1)
        R, c = E[:n, :n], E[:n, n]
        for k in word:
            R = R @ self.elements[k].matrix
        return R, c

    def random_element(self, rng=None, scale: float = 1.0, max_word: int = 3) -> tuple[np.ndarray, np.ndarray]:
        """A random group element ``(R, c)``: exp of a random algebra element times a random word."""
        rng = np.random.default_rng(rng)
        t = rng.normal(scale=scale, size=len(self.generators))
        word = rng.integers(0, len(self.elements), size=rng.integers(0, max_word + 1)) if self.elements else []
        return self.element(t, word)

    def equivariance_error(self, f, x: np.ndarray, rng=None, n_elements: int = 8) -> float:
        """Max relative ``|f(g x) - R f(x)|`` over random group elements and the rows of ``x``."""
        rng = np.random.default_rng(rng)
        x = np.atleast_2d(np.asarray(x, float))
        fx = np.asarray(f(x))
        scale = max(np.max(np.abs(fx)), 1e-300)
        worst = 0.0
        for _ in range(n_elements):
            R, c = self.random_element(rng)
            worst = max(worst, float(np.max(np.abs(np.asarray(f(x @ R.T + c)) - fx @ R.T))))
        return worst / scale
