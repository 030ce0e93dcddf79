"""symsindy: symmetry-aware sparse identification of nonlinear dynamics.

Enforce a known symmetry exactly (:class:`SymmetricSINDy`), get the constraints for
pysindy (:func:`pysindy_constraints`), and describe groups with the spec grammar
(:class:`Symmetry`).
"""

from .actions import InducedAction, LibraryNotClosedError, induced_action
from .catalogue import System, get_system, list_systems, load_folder, load_system_file
from .constraints import (
    EquivariantSubspace,
    NoSymmetricModelError,
    equivariance_residual,
    equivariant_subspace,
    pysindy_constraints,
)
from .ensemble import SymmetricEnsemble, symmetric_ensemble
from .expressions import ExpressionError, format_expression, parse_expression
from .model import SymmetricSINDy
from .promote import PromotedSINDy, PromotionError, PromotionWarning
from .report import DiscoveryReport, run_discovery
from .optimizers import ConstrainedSTLSQ
from .symbolic import SymbolicModel, library_terms, load_model
from .symmetry import Element, Generator, SpecError, Symmetry, parse_specs

__version__ = "0.1.0"

__all__ = [
    "Symmetry",
    "Generator",
    "Element",
    "SpecError",
    "parse_specs",
    "InducedAction",
    "LibraryNotClosedError",
    "induced_action",
    "EquivariantSubspace",
    "NoSymmetricModelError",
    "equivariance_residual",
    "equivariant_subspace",
    "pysindy_constraints",
    "ConstrainedSTLSQ",
    "SymmetricSINDy",
    "System",
    "get_system",
    "list_systems",
    "load_folder",
    "load_system_file",
    "ExpressionError",
    "parse_expression",
    "format_expression",
    "SymbolicModel",
    "library_terms",
    "load_model",
    "run_discovery",
    "DiscoveryReport",
    "PromotedSINDy",
    "PromotionError",
    "PromotionWarning",
    "SymmetricEnsemble",
    "symmetric_ensemble",
]
