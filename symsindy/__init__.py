"""symsindy: symmetry-aware sparse identification of nonlinear dynamics."""

from .symmetry import Element, Generator, SpecError, Symmetry, parse_specs

__version__ = "0.1.0"

__all__ = ["Symmetry", "Generator", "Element", "SpecError", "parse_specs"]
