"""The catalogue of named dynamical systems.

Each system is one TOML file in the top-level ``systems/`` folder (the format is
described in ``systems/README.md``): its variables, named parameters, right-hand
side, default initial state and time span, and the facts that matter for
symmetry-aware discovery -- symmetries as spec strings, conserved quantities,
Hamiltonian structure -- each of which :func:`check_claims` verifies by machine.

Expressions are read with :func:`symsindy.expressions.parse_expression` (an
``ast`` allow-list), never evaluated; every error is a one-line ``ValueError``
naming the file and the field.

The folder is found, in order of precedence, from an explicit ``folder``
argument, the environment variable ``SYMSINDY_SYSTEMS``, or the catalogue shipped
with the package: the top-level ``systems/`` folder, installed as the package
``symsindy.systems`` and found with :mod:`importlib.resources` (see
:func:`default_folder`).
"""

from . import _claims, _schema, _system
from ._claims import ClaimCheck, ClaimError, check_claims, derived_tags, verify_system
from ._schema import ENV_VAR, default_folder, get_system, list_systems, load_folder, load_system_file
from ._system import CatalogueError, ConservedClaim, Simulation, Structure, System, SymmetryClaim

__all__ = [
    "ENV_VAR",
    "CatalogueError",
    "ClaimError",
    "SymmetryClaim",
    "ConservedClaim",
    "Structure",
    "System",
    "Simulation",
    "ClaimCheck",
    "default_folder",
    "load_system_file",
    "load_folder",
    "list_systems",
    "get_system",
    "check_claims",
    "verify_system",
    "derived_tags",
]

MAX_SAMPLES = _system.MAX_SAMPLES
# internals the tests reach through the package
_TOP_FIELDS = _schema._TOP_FIELDS
_Checker = _claims._Checker
_trig_rational_zero = _claims._trig_rational_zero
