"""Safe parsing and exact printing of scalar expressions.

Text from users and files (catalogue equations, saved models) is read with
:func:`parse_expression`, which walks the Python ``ast`` of the text against an
allow-list and builds the SymPy expression node by node; the text itself is never
evaluated or sympified.  :func:`format_expression` writes text that
:func:`parse_expression` reads back to an equal expression.

The accepted language
---------------------
* numbers: integer and decimal literals (``3``, ``0.25``, ``1e-3``); booleans,
  complex literals and strings are rejected;
* names: the state variables, the given parameters, and the constants ``pi`` and
  ``E`` (variables and parameters take precedence over the constants);
* operators: unary ``+ -`` and binary ``+ - * / **`` (``^`` is rejected: use ``**``);
* calls by plain name with positional arguments to ``sin cos tan asin acos atan
  atan2 sinh cosh tanh asinh acosh atanh exp log sqrt Abs abs sign Min min Max
  max`` (``log(x, b)`` is the logarithm in base ``b``).

Numbers rule: an integer literal becomes ``sympy.Integer``.  A decimal literal
written with at most 15 significant digits (trailing zeros count, leading zeros do
not) is taken as the exact decimal it spells, a ``sympy.Rational``, so ``0.5*x`` is
``x/2`` and ``0.1`` is ``1/10``; with 16 or more significant digits it becomes the
nearest float64, a 53-bit ``sympy.Float``.  :func:`format_expression` therefore
prints every ``Float`` with at least 16 significant digits (``0.1000000000000000``),
so floats survive a round trip bit for bit.
"""

from __future__ import annotations

import ast
import math
import re
from fractions import Fraction
from numbers import Integral, Rational as _RationalNumber, Real
from collections.abc import Mapping, Sequence

import sympy
from sympy.printing.str import StrPrinter

__all__ = [
    "ExpressionError",
    "parse_expression",
    "format_expression",
    "FUNCTIONS",
    "CONSTANTS",
    "MAX_LENGTH",
    "MAX_DEPTH",
]

#: Longest text accepted by default (characters).
MAX_LENGTH = 10_000
#: Deepest accepted nesting of operators and calls (chains of ``+ -`` and of
#: ``* /`` count as one level).
MAX_DEPTH = 100
#: Decimal literals with at most this many significant digits become Rationals.
RATIONAL_DIGITS = 15
#: Exact numbers of more than this many bits (about 616 digits) are rejected: SymPy's
#: automatic evaluation (roots, perfect powers) gets slow on big integers.
_MAX_BITS = 2048
_MAX_ROOT_DENOMINATOR = 1000
#: Bound on the summed size of the exact coefficients of one sum or product chain
#: (checked before SymPy combines them; the result must still fit ``_MAX_BITS``).
_MAX_CHAIN_BITS = 100_000

#: name -> (SymPy function, allowed argument counts)
FUNCTIONS: dict[str, tuple[object, tuple[int, ...]]] = {
    "sin": (sympy.sin, (1,)),
    "cos": (sympy.cos, (1,)),
    "tan": (sympy.tan, (1,)),
    "asin": (sympy.asin, (1,)),
    "acos": (sympy.acos, (1,)),
    "atan": (sympy.atan, (1,)),
    "atan2": (sympy.atan2, (2,)),
    "sinh": (sympy.sinh, (1,)),
    "cosh": (sympy.cosh, (1,)),
    "tanh": (sympy.tanh, (1,)),
    "asinh": (sympy.asinh, (1,)),
    "acosh": (sympy.acosh, (1,)),
    "atanh": (sympy.atanh, (1,)),
    "exp": (sympy.exp, (1,)),
    "log": (sympy.log, (1, 2)),
    "sqrt": (sympy.sqrt, (1,)),
    "Abs": (sympy.Abs, (1,)),
    "abs": (sympy.Abs, (1,)),
    "sign": (sympy.sign, (1,)),
    "Min": (sympy.Min, ()),
    "min": (sympy.Min, ()),
    "Max": (sympy.Max, ()),
    "max": (sympy.Max, ()),
}
#: Functions taking any number (>= 2) of arguments.
_VARIADIC = {"Min", "min", "Max", "max"}

#: Constant names understood without declaration.
CONSTANTS: dict[str, sympy.Expr] = {"pi": sympy.pi, "E": sympy.E}

_NODE_KINDS = {
    ast.Attribute: "attribute access",
    ast.Subscript: "subscript",
    ast.Lambda: "lambda",
    ast.ListComp: "list comprehension",
    ast.SetComp: "set comprehension",
    ast.DictComp: "dict comprehension",
    ast.GeneratorExp: "generator expression",
    ast.List: "list",
    ast.Tuple: "tuple",
    ast.Set: "set",
    ast.Dict: "dict",
    ast.Compare: "comparison",
    ast.BoolOp: "boolean operator",
    ast.IfExp: "conditional expression",
    ast.NamedExpr: "assignment expression",
    ast.JoinedStr: "f-string",
    ast.Starred: "starred expression",
    ast.Await: "await",
    ast.Yield: "yield",
    ast.YieldFrom: "yield",
    ast.Slice: "slice",
}

_BINOP_SYMBOLS = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.Pow: "**",
    ast.FloorDiv: "//",
    ast.Mod: "%",
    ast.MatMult: "@",
    ast.BitXor: "^",
    ast.BitOr: "|",
    ast.BitAnd: "&",
    ast.LShift: "<<",
    ast.RShift: ">>",
}
_UNARY_SYMBOLS = {ast.UAdd: "+", ast.USub: "-", ast.Not: "not", ast.Invert: "~"}


class ExpressionError(ValueError):
    """Text that is not an allowed expression; the message is one line."""


def _one_line(text: str, limit: int = 60) -> str:
    text = re.sub(r"\s+", " ", text).strip()
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return text


def _significant_digits(mantissa: str) -> int:
    """Significant digits of a decimal mantissa as written (``'0.50'`` -> 2)."""
    digits = mantissa.replace(".", "").lstrip("+-")
    stripped = digits.lstrip("0")
    return len(stripped) if stripped else len(digits)


def _coefficient_bits(value) -> int:
    coeff = value.as_coeff_Mul()[0] if isinstance(value, sympy.Expr) else value
    if coeff.is_Rational:
        return abs(coeff.p).bit_length() + coeff.q.bit_length()
    return 0


def _decimal_number(literal: str, value: float) -> sympy.Expr | None:
    """Apply the numbers rule to a decimal literal; None if it is out of range."""
    literal = literal.replace("_", "").lower()
    mantissa, _, exponent = literal.partition("e")
    exp10 = int(exponent) if exponent else 0
    if not math.isfinite(value) or abs(exp10) > 400:
        return None
    if _significant_digits(mantissa) <= RATIONAL_DIGITS:
        frac = Fraction(mantissa) * Fraction(10) ** exp10
        return sympy.Rational(frac.numerator, frac.denominator)
    return sympy.Float(value)


class _Builder:
    def __init__(self, text, names, declared, where, max_depth):
        self.text = text
        self.names = names
        self.declared = declared
        self.where = where
        self.max_depth = max_depth

    # -- errors
    def fail(self, message: str):
        raise ExpressionError(f"{self.where}: {message}")

    def src(self, node) -> str:
        seg = ast.get_source_segment(self.text, node)
        return _one_line(seg if seg is not None else ast.dump(node))

    def known_names(self) -> str:
        listed = ", ".join(self.declared) if self.declared else "(none)"
        return f"known names are {listed} (and the constants pi, E)"

    # -- walking
    def build(self, node, depth: int = 0) -> sympy.Expr:
        if depth > self.max_depth:
            self.fail(f"expression nested deeper than {self.max_depth} levels at '{self.src(node)}'")
        if isinstance(node, ast.Constant):
            return self.constant(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.UnaryOp):
            return self.unary(node, depth)
        if isinstance(node, ast.BinOp):
            return self.binop(node, depth)
        if isinstance(node, ast.Call):
            return self.call(node, depth)
        kind = _NODE_KINDS.get(type(node), type(node).__name__.lower())
        self.fail(f"{kind} '{self.src(node)}' is not allowed")

    def constant(self, node) -> sympy.Expr:
        value = node.value
        if isinstance(value, bool):
            self.fail(f"boolean '{self.src(node)}' is not allowed; expected a number")
        if isinstance(value, int):
            if value.bit_length() > _MAX_BITS:
                self.fail(f"number '{self.src(node)}' is too large to handle exactly")
            return sympy.Integer(value)
        if isinstance(value, float):
            literal = ast.get_source_segment(self.text, node) or repr(value)
            number = _decimal_number(literal, value)
            if number is None:
                self.fail(f"number '{self.src(node)}' is outside the float64 range")
            return number
        if isinstance(value, complex):
            self.fail(f"complex number '{self.src(node)}' is not allowed; expected a real number")
        if isinstance(value, (str, bytes)):
            self.fail(f"string '{self.src(node)}' is not allowed; expected a number or a name")
        self.fail(f"constant '{self.src(node)}' is not allowed; expected a number")

    def name(self, node) -> sympy.Expr:
        found = self.names.get(node.id)
        if found is None:
            self.fail(f"name '{_one_line(node.id)}' is not allowed; {self.known_names()}")
        return found

    def unary(self, node, depth) -> sympy.Expr:
        op = type(node.op)
        if op not in (ast.UAdd, ast.USub):
            self.fail(
                f"operator '{_UNARY_SYMBOLS.get(op, op.__name__)}' in '{self.src(node)}' is not allowed;"
                " allowed operators are + - * / **"
            )
        operand = self.build(node.operand, depth + 1)
        return self.evaluate(sympy.Mul, (sympy.Integer(-1), operand), node) if op is ast.USub else operand

    def binop(self, node, depth) -> sympy.Expr:
        op = type(node.op)
        if op in (ast.Add, ast.Sub, ast.Mult, ast.Div):
            return self.chain(node, depth)
        if op is ast.Pow:
            base = self.build(node.left, depth + 1)
            exponent = self.build(node.right, depth + 1)
            return self.power(base, exponent, node)
        symbol = _BINOP_SYMBOLS.get(op, op.__name__)
        hint = "; use '**' for powers" if op is ast.BitXor else "; allowed operators are + - * / **"
        self.fail(f"operator '{symbol}' in '{self.src(node)}' is not allowed{hint}")

    def chain(self, node, depth) -> sympy.Expr:
        # Long sums and products are flattened so that their length does not count as depth.
        additive = isinstance(node.op, (ast.Add, ast.Sub))
        group = (ast.Add, ast.Sub) if additive else (ast.Mult, ast.Div)
        top = node
        rights = []
        while isinstance(node, ast.BinOp) and isinstance(node.op, group):
            rights.append(node)
            node = node.left
        parts = []
        if not additive:
            # Keep a leading sign as a factor: '-(x + y)/x' is Mul(-1, x + y, 1/x), the
            # form SymPy prints it from, not (-x - y)/x.
            while isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
                if isinstance(node.op, ast.USub):
                    parts.append(sympy.Integer(-1))
                node = node.operand
                depth += 1
        parts.append(self.build(node, depth + 1))
        bits = _coefficient_bits(parts[-1])
        for binop in reversed(rights):
            value = self.build(binop.right, depth + 1)
            if isinstance(binop.op, ast.Sub):
                value = self.evaluate(sympy.Mul, (sympy.Integer(-1), value), binop)
            elif isinstance(binop.op, ast.Div):
                value = self.power(value, sympy.Integer(-1), binop)
            parts.append(value)
            # SymPy multiplies (or brings to a common denominator) all exact
            # coefficients of a chain: bound the size of the result before it does.
            bits += _coefficient_bits(value)
            if bits > _MAX_CHAIN_BITS:
                self.fail(f"'{self.src(top)}' has numbers too large to handle exactly")
        return self.evaluate(sympy.Add if additive else sympy.Mul, parts, top)

    def power(self, base, exponent, node) -> sympy.Expr:
        if base.is_Number and exponent.is_Rational:
            if base.is_Rational:
                bits = max(abs(base.p).bit_length(), base.q.bit_length())
                too_big = bits * abs(exponent.p) > _MAX_BITS
                # roots of big integers make SymPy search for perfect powers: keep them small
                hard_root = exponent.q > 1 and (exponent.q > _MAX_ROOT_DENOMINATOR or bits > _MAX_BITS)
                if too_big or hard_root:
                    self.fail(f"power '{self.src(node)}' is too large to evaluate exactly")
        return self.evaluate(sympy.Pow, (base, exponent), node)

    def call(self, node, depth) -> sympy.Expr:
        func = node.func
        if not isinstance(func, ast.Name):
            self.fail(
                f"call of '{self.src(func)}' is not allowed; only functions called by plain name:"
                f" {', '.join(FUNCTIONS)}"
            )
        entry = FUNCTIONS.get(func.id)
        if entry is None:
            self.fail(f"function '{_one_line(func.id)}' is not allowed; allowed functions are {', '.join(FUNCTIONS)}")
        if node.keywords:
            self.fail(f"keyword arguments in '{self.src(node)}' are not allowed")
        for arg in node.args:
            if isinstance(arg, ast.Starred):
                self.fail(f"starred argument in '{self.src(node)}' is not allowed")
        function, arities = entry
        n = len(node.args)
        if func.id in _VARIADIC:
            if n < 2:
                self.fail(f"function '{func.id}' takes at least 2 arguments, got {n} in '{self.src(node)}'")
        elif n not in arities:
            expected = " or ".join(str(a) for a in arities)
            plural = "" if arities == (1,) else "s"
            self.fail(f"function '{func.id}' takes {expected} argument{plural}, got {n} in '{self.src(node)}'")
        args = [self.build(arg, depth + 1) for arg in node.args]
        if function is sympy.sqrt:
            return self.power(args[0], sympy.Rational(1, 2), node)
        return self.evaluate(function, args, node)

    def evaluate(self, function, args, node) -> sympy.Expr:
        """Apply a SymPy constructor; SymPy's own failures become ExpressionErrors."""
        try:
            value = function(*args)
        except (ArithmeticError, ValueError, TypeError) as exc:
            self.fail(f"cannot evaluate '{self.src(node)}': {_one_line(str(exc)) or type(exc).__name__}")
        if value.has(sympy.zoo, sympy.oo, -sympy.oo, sympy.nan):
            self.fail(f"'{self.src(node)}' is not finite")
        if value.has(sympy.I):
            self.fail(f"'{self.src(node)}' is not real")
        for number in value.atoms(sympy.Number):
            if number.is_Float:
                if not _is_float64(number):
                    self.fail(f"'{self.src(node)}' is outside the float64 range")
            elif max(abs(number.p).bit_length(), number.q.bit_length()) > _MAX_BITS:
                self.fail(f"'{self.src(node)}' has a number too large to handle exactly")
        return value


def _name_table(symbols, parameters, where) -> tuple[dict[str, sympy.Expr], list[str]]:
    names: dict[str, sympy.Expr] = dict(CONSTANTS)
    if isinstance(symbols, Mapping):
        items = list(symbols.items())
    elif isinstance(symbols, str):
        raise TypeError(f"{where}: symbols must be a sequence of names, not a string")
    else:
        items = []
        for s in symbols:
            if isinstance(s, sympy.Symbol):
                items.append((s.name, s))
            elif isinstance(s, str):
                items.append((s, sympy.Symbol(s)))
            else:
                raise TypeError(f"{where}: symbol {s!r} is neither a name nor a sympy.Symbol")
    declared: list[str] = []
    for key, value in items:
        if not isinstance(value, sympy.Expr):
            raise TypeError(f"{where}: symbol '{key}' maps to {type(value).__name__}, expected a SymPy expression")
        names[key] = value
        declared.append(key)
    for key, value in (parameters or {}).items():
        if key in declared:
            raise ExpressionError(f"{where}: name '{key}' is both a variable and a parameter")
        names[key] = _parameter_value(key, value, where)
        declared.append(key)
    return names, declared


def _parameter_value(key, value, where) -> sympy.Expr:
    if isinstance(value, bool):
        raise ExpressionError(f"{where}: parameter '{key}' is a boolean; expected a number")
    if isinstance(value, sympy.Basic):
        if not isinstance(value, sympy.Expr):
            raise ExpressionError(f"{where}: parameter '{key}' is a {type(value).__name__}; expected a number")
        return value
    if isinstance(value, Integral):
        return sympy.Integer(int(value))
    if isinstance(value, _RationalNumber):
        return sympy.Rational(int(value.numerator), int(value.denominator))
    if isinstance(value, Real):
        value = float(value)
        if not math.isfinite(value):
            raise ExpressionError(f"{where}: parameter '{key}' is {value}; expected a finite number")
        return sympy.Float(value)
    raise ExpressionError(f"{where}: parameter '{key}' is a {type(value).__name__}; expected a number")


def parse_expression(
    text: str,
    symbols: Sequence[str] | Mapping[str, sympy.Expr],
    *,
    where: str = "expression",
    parameters: Mapping[str, object] | None = None,
    max_length: int = MAX_LENGTH,
    max_depth: int = MAX_DEPTH,
) -> sympy.Expr:
    """Parse ``text`` into a SymPy expression over the given variables.

    Parameters
    ----------
    text : str
        The expression, in the language described in the module docstring.
    symbols : sequence of str or sympy.Symbol, or mapping str -> sympy.Expr
        The state variables; names become plain ``sympy.Symbol(name)``.
    where : str
        Prefix of error messages, e.g. ``"systems/lorenz.toml: equations.x"``.
    parameters : mapping str -> number or SymPy expression, optional
        Named values substituted where their names appear.  Python ints and
        Fractions stay exact; Python floats become 53-bit Floats.
    max_length, max_depth : int
        Longest text (default 10000 characters) and deepest nesting (default 100).

    Returns
    -------
    sympy.Expr

    Raises
    ------
    ExpressionError
        One line starting with ``where`` and naming the offending piece.
    """
    names, declared = _name_table(symbols, parameters, where)
    if not isinstance(text, str):
        raise ExpressionError(f"{where}: expected the expression as text, got {type(text).__name__}")
    if len(text) > max_length:
        raise ExpressionError(f"{where}: expression is {len(text)} characters long; at most {max_length} allowed")
    text = text.strip()
    if not text:
        raise ExpressionError(f"{where}: empty expression")
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        detail = _one_line(exc.msg or "invalid syntax")
        column = f" at column {exc.offset}" if exc.offset else ""
        raise ExpressionError(f"{where}: {detail}{column} in '{_one_line(text)}'") from None
    except (RecursionError, MemoryError):
        raise ExpressionError(
            f"{where}: expression '{_one_line(text)}' is nested too deeply or has too many terms to parse"
        ) from None
    except ValueError as exc:
        raise ExpressionError(f"{where}: cannot parse '{_one_line(text)}': {_one_line(str(exc))}") from None
    builder = _Builder(text, names, declared, where, max_depth)
    try:
        return builder.build(tree.body)
    except RecursionError:
        raise ExpressionError(f"{where}: expression '{_one_line(text)}' is nested too deeply") from None


# --------------------------------------------------------------------------- printing

_ALLOWED_FUNCTION_TYPES = tuple({f for f, _ in FUNCTIONS.values() if isinstance(f, type)} | {sympy.exp, sympy.log})


def _is_float64(number) -> bool:
    """A Float whose value float64 holds (Floats of more than 53 bits only need to be in range)."""
    value = float(number)
    if not math.isfinite(value):
        return False
    return number._prec > 53 or sympy.Float(value) == number


def _float_text(value: float) -> str:
    """``repr`` of a float, padded to at least 16 significant digits."""
    text = repr(value)
    mantissa, e, exponent = text.partition("e")
    missing = RATIONAL_DIGITS + 1 - _significant_digits(mantissa)
    if missing > 0:
        if "." not in mantissa:
            mantissa += "."
        mantissa += "0" * missing
    return mantissa + e + exponent


class _ExactPrinter(StrPrinter):
    def _print_Float(self, expr):
        if not _is_float64(expr):
            raise ValueError("cannot format a Float that is not a float64 value")
        return _float_text(float(expr))


def _check_vocabulary(expr) -> None:
    for node in sympy.preorder_traversal(expr):
        if isinstance(node, (sympy.Symbol, sympy.Add, sympy.Mul, sympy.Pow)):
            continue
        if node.is_Number:
            if node.is_Rational or (node.is_Float and _is_float64(node)):
                continue
            if node.is_Float:
                raise ValueError("cannot format a Float that is not a float64 value")
        elif node is sympy.pi or node is sympy.E or isinstance(node, _ALLOWED_FUNCTION_TYPES):
            continue
        raise ValueError(f"cannot format '{_one_line(str(node))}': not in the expression language")


def format_expression(expr) -> str:
    """Text that :func:`parse_expression` reads back to an expression equal to ``expr``.

    Floats are printed at double precision with at least 16 significant digits,
    so they round-trip exactly (Floats of more than 53 bits are rounded to float64;
    a 53-bit Float outside the float64 range is an error).  Raises ``ValueError``
    for anything outside the language (complex numbers, infinities, other
    functions, Floats that are not float64 values).
    """
    if isinstance(expr, bool) or not isinstance(expr, (sympy.Basic, int, float)):
        raise TypeError(f"expected a SymPy expression or a number, got {type(expr).__name__}")
    if isinstance(expr, int):
        expr = sympy.Integer(expr)
    elif isinstance(expr, float):
        expr = sympy.Float(expr)
    _check_vocabulary(expr)
    return _ExactPrinter().doprint(expr)
