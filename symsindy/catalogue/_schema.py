"""System files: finding the catalogue folder and reading TOML system files, each field
validated with a one-line error naming file and field."""

from __future__ import annotations

import difflib
import math
import os
import re
import tomllib
from pathlib import Path

import sympy

from ..expressions import parse_expression
from ..symmetry import SpecError, Symmetry
from ._system import (
    _NAME,
    _STRUCTURE_KINDS,
    MAX_SAMPLES,
    CatalogueError,
    ConservedClaim,
    Structure,
    SymmetryClaim,
    System,
    _check_names,
    _check_parameter_name,
    _exact,
    _kind,
    _listing,
)

#: Environment variable naming a folder of system files that replaces the default one.
ENV_VAR = "SYMSINDY_SYSTEMS"

_TAG = re.compile(r"[a-z][a-z0-9_]*\Z")
_TOP_FIELDS = (
    "name",
    "description",
    "reference",
    "tags",
    "variables",
    "parameters",
    "equations",
    "symmetries",
    "conserved",
    "structure",
    "simulation",
)
_REQUIRED = ("name", "description", "variables", "equations", "simulation")


# --------------------------------------------------------------------------- loading


def default_folder(folder=None) -> Path:
    """The catalogue folder: ``folder``, else ``$SYMSINDY_SYSTEMS``, else the shipped catalogue.

    The shipped catalogue is the resource folder of the package ``symsindy.systems``
    (the source tree's ``systems/``, mapped into the package at install time; an
    editable install maps it to the source folder itself). Where that package is not
    installed (a source checkout on ``sys.path``, or an editable install made before
    the mapping existed) the ``systems/`` folder beside the ``symsindy`` package is used.
    """
    import importlib.resources

    if folder is not None:
        path, how = Path(folder), "given"
    elif os.environ.get(ENV_VAR):
        path, how = Path(os.environ[ENV_VAR]), f"from ${ENV_VAR}"
    else:
        try:
            resource, how = importlib.resources.files("symsindy.systems"), "shipped with the package"
        except ModuleNotFoundError:
            resource, how = importlib.resources.files("symsindy").parent / "systems", "beside the package"
        if not isinstance(resource, Path):
            # e.g. a zipped install: the loaders glob a real folder, so say how to give one
            raise CatalogueError(
                f"the shipped catalogue {str(resource)!r} is not a folder on disk; set ${ENV_VAR} to a folder of system files"
            )
        path = resource
    if not path.is_dir():
        raise CatalogueError(f"systems folder {str(path)!r} ({how}) does not exist or is not a folder")
    return path


def _number(value, where, *, positive=False) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise CatalogueError(f"{where}: expected a number, got {_kind(value)}")
    if isinstance(value, int) and abs(value) > 10**300:
        raise CatalogueError(f"{where}: an integer of {value.bit_length()} bits is too large for a float64 number")
    value = float(value)
    if not math.isfinite(value):
        raise CatalogueError(f"{where}: expected a finite number, got {value}")
    if positive and not value > 0:
        raise CatalogueError(f"{where}: expected a positive number, got {value}")
    return value


def _string(value, where) -> str:
    if not isinstance(value, str):
        raise CatalogueError(f"{where}: expected a string, got {_kind(value)}")
    return value


def _table(value, where, allowed=None) -> dict:
    if not isinstance(value, dict):
        raise CatalogueError(f"{where}: expected a table, got {_kind(value)}")
    if allowed is not None:
        for k in value:
            if k not in allowed:
                raise CatalogueError(f"{where}: unknown field {k!r}; expected {', '.join(allowed)}")
    return value


def _expr_text(value, where) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        _number(value, where)
        return repr(value)
    if not isinstance(value, str):
        raise CatalogueError(f"{where}: expected an expression as a string, got {_kind(value)}")
    return value


def load_system_file(path) -> System:
    """Load one system file; errors are one-line ``ValueError`` naming file and field."""
    path = Path(path)
    name = path.name
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CatalogueError(f"{name}: not UTF-8 text (bad byte at offset {exc.start})") from None
    try:
        data = tomllib.loads(text)
    except (ValueError, RecursionError) as exc:
        # TOMLDecodeError is a ValueError; deep nesting or huge integers raise others
        detail = re.sub(r"\s+", " ", str(exc)).strip() or type(exc).__name__
        raise CatalogueError(f"{name}: invalid TOML: {detail[:200]}") from None
    return _from_data(data, name, expected_name=path.stem, source=path)


def _from_data(data: dict, where: str, *, expected_name=None, source=None) -> System:
    for k in data:
        if k not in _TOP_FIELDS:
            close = difflib.get_close_matches(str(k), _TOP_FIELDS, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise CatalogueError(f"{where}: unknown field {k!r}{hint}; fields are {', '.join(_TOP_FIELDS)}")
    for k in _REQUIRED:
        if k not in data:
            raise CatalogueError(f"{where}: missing field {k!r}")
    name = _string(data["name"], f"{where}: name")
    if not _NAME.match(name):
        raise CatalogueError(f"{where}: name {name!r} is not an identifier such as 'lorenz'")
    if expected_name is not None and name != expected_name:
        raise CatalogueError(f"{where}: name {name!r} differs from the file name; expected {expected_name!r}")
    description = _string(data["description"], f"{where}: description").strip()
    if not description:
        raise CatalogueError(f"{where}: description is empty")
    reference = _string(data.get("reference", ""), f"{where}: reference")
    tags = data.get("tags", [])
    if not isinstance(tags, list):
        raise CatalogueError(f"{where}: tags: expected a list of strings, got {_kind(tags)}")
    for k, tag in enumerate(tags):
        if not isinstance(tag, str) or not _TAG.match(tag):
            raise CatalogueError(
                f"{where}: tags[{k}]: {tag!r} is not a tag such as 'chaotic' (lower case, digits, '_')"
            )
    variables = _check_names(data["variables"], f"{where}: variables")

    # parameters: numbers, or constant expressions such as "8/3"
    raw_params = _table(data.get("parameters", {}), f"{where}: parameters")
    params: dict[str, sympy.Expr] = {}
    for p, value in raw_params.items():
        fw = f"{where}: parameters.{p}"
        _check_parameter_name(p, variables, f"{where}: parameters")
        if isinstance(value, str):
            expr = parse_expression(value, (), where=fw)
            if not expr.is_number:
                raise CatalogueError(f"{fw}: expected a number, got {value!r}")
            try:
                finite = math.isfinite(float(expr))
            except (TypeError, OverflowError):
                finite = False
            if not finite:
                raise CatalogueError(f"{fw}: {value!r} is not a finite float64 number")
            params[p] = expr
        else:
            _number(value, fw)
            params[p] = _exact(value) if isinstance(value, float) else sympy.Integer(value)
    psyms = {p: sympy.Symbol(p) for p in params}
    vsyms = {v: sympy.Symbol(v) for v in variables}

    def parse(value, fw):
        return parse_expression(_expr_text(value, fw), vsyms, where=fw, parameters=psyms)

    def parse_condition(value, fw) -> dict:
        cond = _table(value, fw)
        out = {}
        for p, v in cond.items():
            if p not in params:
                raise CatalogueError(f"{fw}: condition on unknown parameter {p!r}; parameters are {_listing(params)}")
            out[p] = parse_expression(_expr_text(v, f"{fw}.{p}"), (), where=f"{fw}.{p}", parameters=psyms)
        if not out:
            raise CatalogueError(f"{fw}: empty condition; leave 'when' out for a claim that always holds")
        return out

    equations_raw = _table(data["equations"], f"{where}: equations")
    for v in variables:
        if v not in equations_raw:
            raise CatalogueError(f"{where}: equations: no equation for {v!r}")
    for v in equations_raw:
        if v not in variables:
            raise CatalogueError(
                f"{where}: equations.{v}: {v!r} is not a variable; variables are {', '.join(variables)}"
            )
    equations = {v: parse(equations_raw[v], f"{where}: equations.{v}") for v in variables}

    symmetries_raw = data.get("symmetries", [])
    if not isinstance(symmetries_raw, list):
        raise CatalogueError(f"{where}: symmetries: expected a list of specs, got {_kind(symmetries_raw)}")
    symmetries = []
    for k, item in enumerate(symmetries_raw):
        fw = f"{where}: symmetries[{k}]"
        when = {}
        if isinstance(item, dict):
            _table(item, fw, ("spec", "when"))
            if "spec" not in item:
                raise CatalogueError(f"{fw}: missing field 'spec'")
            if "when" in item:
                when = parse_condition(item["when"], f"{fw}.when")
            item = item["spec"]
        spec = _string(item, fw).strip()
        if ";" in spec:
            raise CatalogueError(f"{fw}: one spec per entry; split {spec!r} at ';' into separate entries")
        try:
            Symmetry(variables, spec)
        except SpecError as exc:
            raise CatalogueError(f"{fw}: {exc}") from None
        symmetries.append(SymmetryClaim(spec, when))

    conserved_raw = _table(data.get("conserved", {}), f"{where}: conserved")
    conserved = []
    for cname, item in conserved_raw.items():
        fw = f"{where}: conserved.{cname}"
        if not _NAME.match(cname):
            raise CatalogueError(f"{fw}: the name is not an identifier such as 'energy'")
        when = {}
        if isinstance(item, dict):
            _table(item, fw, ("expression", "when"))
            if "expression" not in item:
                raise CatalogueError(f"{fw}: missing field 'expression'")
            if "when" in item:
                when = parse_condition(item["when"], f"{fw}.when")
            expr = parse(item["expression"], f"{fw}.expression")
        else:
            expr = parse(item, fw)
        conserved.append(ConservedClaim(cname, expr, when))

    structure = None
    if "structure" in data:
        fw = f"{where}: structure"
        st = _table(data["structure"], fw, ("type", "pairs", "matrix", "hamiltonian", "when"))
        for k in ("type", "hamiltonian"):
            if k not in st:
                raise CatalogueError(f"{fw}: missing field {k!r}")
        kind = _string(st["type"], f"{fw}.type")
        if kind not in _STRUCTURE_KINDS:
            raise CatalogueError(f"{fw}.type: {kind!r} is not a structure type; expected 'canonical' or 'poisson'")
        hamiltonian = parse(st["hamiltonian"], f"{fw}.hamiltonian")
        when = parse_condition(st["when"], f"{fw}.when") if "when" in st else {}
        pairs: tuple = ()
        matrix = None
        n = len(variables)
        if kind == "canonical":
            if "matrix" in st:
                raise CatalogueError(f"{fw}.matrix: a canonical structure takes 'pairs', not 'matrix'")
            if "pairs" not in st:
                raise CatalogueError(f"{fw}: missing field 'pairs' (a list of [q, p] pairs)")
            raw = st["pairs"]
            if not isinstance(raw, list) or not all(isinstance(pq, list) and len(pq) == 2 for pq in raw):
                raise CatalogueError(f"{fw}.pairs: expected a list of [q, p] pairs of variable names")
            seen = []
            for k, (q, p) in enumerate(raw):
                for v in (q, p):
                    if v not in variables:
                        raise CatalogueError(
                            f"{fw}.pairs[{k}]: {v!r} is not a variable; variables are {', '.join(variables)}"
                        )
                    if v in seen:
                        raise CatalogueError(f"{fw}.pairs[{k}]: variable {v!r} appears in two pairs")
                    seen.append(v)
            if len(seen) != n:
                rest = [v for v in variables if v not in seen]
                raise CatalogueError(f"{fw}.pairs: every variable must be in a pair; {', '.join(rest)} are not")
            pairs = tuple((q, p) for q, p in raw)
        else:
            if "pairs" in st:
                raise CatalogueError(f"{fw}.pairs: a poisson structure takes 'matrix', not 'pairs'")
            if "matrix" not in st:
                raise CatalogueError(f"{fw}: missing field 'matrix' (an n x n list of expressions)")
            raw = st["matrix"]
            if not isinstance(raw, list) or len(raw) != n or not all(isinstance(r, list) and len(r) == n for r in raw):
                raise CatalogueError(f"{fw}.matrix: expected {n} rows of {n} entries, one per variable")
            matrix = sympy.ImmutableMatrix(
                [[parse(raw[i][j], f"{fw}.matrix[{i}][{j}]") for j in range(n)] for i in range(n)]
            )
        structure = Structure(kind, hamiltonian, pairs, matrix, when)

    sim = _table(data["simulation"], f"{where}: simulation", ("initial_state", "dt", "t_end"))
    for k in ("initial_state", "dt", "t_end"):
        if k not in sim:
            raise CatalogueError(f"{where}: simulation: missing field {k!r}")
    x0_raw = _table(sim["initial_state"], f"{where}: simulation.initial_state")
    for v in x0_raw:
        if v not in variables:
            raise CatalogueError(
                f"{where}: simulation.initial_state.{v}: {v!r} is not a variable; variables are {', '.join(variables)}"
            )
    x0 = {}
    for v in variables:
        if v not in x0_raw:
            raise CatalogueError(f"{where}: simulation.initial_state: no value for {v!r}")
        x0[v] = _number(x0_raw[v], f"{where}: simulation.initial_state.{v}")
    dt = _number(sim["dt"], f"{where}: simulation.dt", positive=True)
    t_end = _number(sim["t_end"], f"{where}: simulation.t_end", positive=True)
    if t_end <= dt:
        raise CatalogueError(f"{where}: simulation.t_end: {t_end} is not greater than dt = {dt}")
    if t_end / dt > MAX_SAMPLES:
        raise CatalogueError(f"{where}: simulation: t_end / dt = {t_end / dt:.3g} samples; at most {MAX_SAMPLES}")

    return System(
        name,
        variables,
        equations,
        params,
        description=description,
        reference=reference,
        tags=tags,
        symmetries=symmetries,
        conserved=conserved,
        structure=structure,
        x0=x0,
        dt=dt,
        t_end=t_end,
        source=source,
    )


def load_folder(folder=None) -> dict[str, System]:
    """Load every ``*.toml`` file of a folder (default: the catalogue), by name in sorted order."""
    path = default_folder(folder)
    out: dict[str, System] = {}
    for f in sorted(path.glob("*.toml")):
        system = load_system_file(f)
        out[system.name] = system
    return out


def list_systems(folder=None) -> list[str]:
    """Names of the systems in a folder (default: the catalogue), sorted."""
    path = default_folder(folder)
    return sorted(f.stem for f in path.glob("*.toml"))


def get_system(name: str, folder=None, **parameters) -> System:
    """Load one system by name, optionally with some parameter values changed."""
    path = default_folder(folder)
    if not isinstance(name, str) or not _NAME.match(name):
        raise CatalogueError(f"system name {name!r} is not an identifier such as 'lorenz'")
    file = path / f"{name}.toml"
    if not file.is_file():
        names = sorted(f.stem for f in path.glob("*.toml"))
        close = difflib.get_close_matches(name, names, n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else f"; known systems are {_listing(names)}"
        raise CatalogueError(f"unknown system {name!r} in {str(path)!r}{hint}")
    system = load_system_file(file)
    return system.with_parameters(**parameters) if parameters else system
