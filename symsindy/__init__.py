"""symsindy: symmetry-aware sparse identification of nonlinear dynamics.

Enforce a known symmetry exactly (:class:`SymmetricSINDy`), discover it
(:func:`discover_symmetries`, ``SymmetricSINDy(symmetry="auto")``) or promote it
(:class:`PromotedSINDy`); bag symmetric models (:class:`SymmetricEnsemble`); find conserved
quantities (:func:`conserved_quantities`, :func:`conserved_from_data`) and Noether charges;
get the constraints for pysindy (:func:`pysindy_constraints`), and describe groups with the
spec grammar (:class:`Symmetry`).  Every estimator shares :class:`~symsindy.base.SINDyMixin`:
``predict``, ``simulate``, ``score``, ``equations``, ``print``, ``sympy``, ``latex``,
``complexity`` and ``save`` (read back by :func:`load_model`).
"""

from .actions import InducedAction, LibraryNotClosedError, induced_action
from .base import SINDyMixin, TrajectoryData, clone_library, resolve_random_state, validate_trajectories
from .catalogue import System, get_system, list_systems, load_folder, load_system_file
from .constraints import (
    EquivariantSubspace,
    NoSymmetricModelError,
    equivariance_residual,
    equivariant_subspace,
    pysindy_constraints,
)
from .conservation import (
    ConservedQuantity,
    InvariantSearch,
    check_quantity,
    conserved_from_data,
    conserved_quantities,
    noether_charge,
    noether_report,
    span_residual,
)
from .differentiation import AdaptiveSavitzkyGolay, default_differentiation, estimate_derivatives
from .discover import (
    SymmetryReport,
    discover_continuous,
    discover_discrete,
    discover_symmetries,
    enforced_symmetry,
    fit_with_discovered_symmetry,
    refit_check,
)
from .ensemble import SymmetricEnsemble, symmetric_ensemble
from .invariants import InvariantBasis, custom_basis, make_basis
from .expressions import ExpressionError, format_expression, parse_expression
from .model import IllConditionedWarning, SymmetricSINDy, library_conditioning
from .promote import PromotedSINDy, PromotionError, PromotionWarning
from .report import DiscoveryReport, run_discovery
from .optimizers import ConstrainedSTLSQ, loo_error
from .symbolic import SymbolicModel, library_terms, load_model
from .symmetry import Element, Generator, SpecError, Symmetry, parse_specs
from .weak import WeakForm, estimate_noise, noise_corrected_monomials, pooled_noise, resolved_noise, weak_system

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
    "IllConditionedWarning",
    "library_conditioning",
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
    "SINDyMixin",
    "TrajectoryData",
    "validate_trajectories",
    "clone_library",
    "resolve_random_state",
    "loo_error",
    "discover_symmetries",
    "fit_with_discovered_symmetry",
    "enforced_symmetry",
    "discover_continuous",
    "discover_discrete",
    "refit_check",
    "SymmetryReport",
    "conserved_quantities",
    "conserved_from_data",
    "ConservedQuantity",
    "InvariantSearch",
    "check_quantity",
    "span_residual",
    "noether_charge",
    "noether_report",
    "InvariantBasis",
    "make_basis",
    "custom_basis",
    "WeakForm",
    "weak_system",
    "estimate_noise",
    "noise_corrected_monomials",
    "pooled_noise",
    "resolved_noise",
    "default_differentiation",
    "estimate_derivatives",
    "AdaptiveSavitzkyGolay",
]
