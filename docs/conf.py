"""Sphinx configuration: the API reference from docstrings (numpydoc), the notebooks executed."""

from __future__ import annotations

import importlib
import inspect
import os
import re
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
# document, and run the notebooks with, the package of this checkout
sys.path.insert(0, str(HERE.parent))
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(HERE.parent), os.environ.get("PYTHONPATH")]))

import symsindy  # noqa: E402
from sphinx.util import logging  # noqa: E402

logger = logging.getLogger(__name__)

project = "symsindy"
author = "the symsindy developers"
copyright = "the symsindy developers, MIT licence"
release = version = symsindy.__version__

extensions = [
    "myst_nb",  # Markdown pages (MyST) and notebooks; includes myst_parser
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
]
source_suffix = {".md": "myst-nb", ".ipynb": "myst-nb", ".rst": "restructuredtext"}
# examples/ is a link to the repository's examples folder: its .py files are the notebooks'
# jupytext sources, not pages
exclude_patterns = ["_build", "examples/*.py", "examples/data/*.py", "**/.ipynb_checkpoints"]
html_theme = "furo"
html_title = f"symsindy {release}"

# The API reference: one page per public module, written by write_api_pages below.
autodoc_typehints = "none"  # the numpydoc Parameters sections give the types
autodoc_member_order = "bysource"
autosummary_generate = False
numpydoc_show_class_members = False  # autodoc's :members: documents them once
numpydoc_class_members_toctree = False

# MyST and the notebooks: executed on every build, a failing cell fails the build.
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
nb_execution_mode = "force"
nb_execution_timeout = 120  # seconds per cell, as the test suite's notebook budget
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True

# Execute with this interpreter whatever kernels the machine has registered (as
# tests/test_notebooks.py does): a kernelspec in a temporary folder, found first.
_KERNEL = "symsindy-docs-python"


def _write_kernelspec() -> None:
    from ipykernel.kernelspec import write_kernel_spec

    jupyter = Path(tempfile.mkdtemp(prefix="symsindy-docs-jupyter-"))
    write_kernel_spec(jupyter / "kernels" / _KERNEL, overrides={"display_name": f"Python ({sys.executable})"})
    os.environ["JUPYTER_PATH"] = os.pathsep.join(filter(None, [str(jupyter), os.environ.get("JUPYTER_PATH")]))


_write_kernelspec()
nb_kernel_rgx_aliases = {".*": _KERNEL}

# The modules documented, in reading order (the data flow of the README's module map). A module
# that defines a name of symsindy.__all__ and is not listed here gets a page of its own too.
MODULES = [
    "symmetry",
    "actions",
    "constraints",
    "optimizers",
    "weak",
    "differentiation",
    "base",
    "model",
    "symbolic",
    "discover",
    "promote",
    "conservation",
    "invariants",
    "ensemble",
    "catalogue",
    "expressions",
    "io",
    "report",
    "plots",
    "sweep",
    "pde",
    "linalg",
]


def _kind(obj) -> str:
    if inspect.isclass(obj):
        return "exception" if issubclass(obj, BaseException) else "class"
    if inspect.isroutine(obj):
        return "function"
    return "data"


def _public_home(obj) -> str | None:
    """The public module that defines ``obj`` (private submodules stripped); None for data."""
    if _kind(obj) == "data" or not getattr(obj, "__module__", None):
        return None
    parts = obj.__module__.split(".")
    while parts and parts[-1].startswith("_"):
        parts.pop()
    return ".".join(parts)


def _external_bases(cls) -> str:
    """Names of the non-symsindy classes in ``cls``'s MRO, whose members are not documented."""
    names = {c.__name__ for c in cls.__mro__[1:] if not c.__module__.startswith("symsindy")}
    return ", ".join(sorted(names))


def _module_page(name: str, public: list[str], owner: dict[int, str]) -> str:
    module = importlib.import_module(name)
    home = {n: _public_home(getattr(module, n)) for n in public}
    own = [n for n in public if home[n] in (None, name)]
    elsewhere = [n for n in public if n not in own]
    title = name if name != "symsindy" else "symsindy (defined at the top level)"
    lines = [title, "=" * len(title), ""]
    if name != "symsindy":
        lines += [f".. automodule:: {name}", ""]
    lines += [f".. currentmodule:: {name}", ""]
    if own:
        lines += [".. autosummary::", "   :nosignatures:", ""] + [f"   {n}" for n in own] + [""]
    if elsewhere:
        links = [f":py:obj:`{n} <{owner.get(id(getattr(module, n)), home[n])}.{n}>`" for n in elsewhere]
        lines += ["Also importable from here: " + ", ".join(links) + ".", ""]
    for n in own:
        obj = getattr(module, n)
        kind = _kind(obj)
        if kind in ("class", "exception"):
            lines += [f".. autoclass:: {n}", "   :members:"]
            bases = _external_bases(obj)
            if bases:
                lines += [f"   :inherited-members: {bases}"]
            lines += [""]
        elif kind == "function":
            lines += [f".. autofunction:: {n}", ""]
        else:
            lines += [f".. autodata:: {n}", ""]
    return "\n".join(lines)


def _index_page(pages: list[str], owner: dict[int, str]) -> str:
    lines = [
        "API reference",
        "=============",
        "",
        "The names importable from ``symsindy`` itself, each linked to where it is documented:",
        "",
        ".. list-table::",
        "",
    ]
    for n in symsindy.__all__:
        obj = getattr(symsindy, n)
        first = (inspect.getdoc(obj) or "").split("\n\n")[0].replace("\n", " ")
        lines += [f"   * - :py:obj:`symsindy.{n} <{owner[id(obj)]}.{n}>`", f"     - {first}"]
    lines += ["", "The modules, in the order of the data flow:", "", ".. toctree::", "   :maxdepth: 1", ""]
    lines += [f"   {p}" for p in pages] + [""]
    return "\n".join(lines)


def write_api_pages() -> dict[str, str]:
    """Write ``api/*.rst`` from the modules' ``__all__``: every object documented once, where it is defined.

    Returns the other public paths of the documented objects, ``{alias: documented name}``.
    """
    modules = {f"symsindy.{m}": list(importlib.import_module(f"symsindy.{m}").__all__) for m in MODULES}
    for n in symsindy.__all__:
        home = _public_home(getattr(symsindy, n))
        if home is None:
            raise RuntimeError(f"symsindy.__all__: {n} is neither a class nor a function; document it in a module")
        if home not in modules:
            module = importlib.import_module(home)
            modules[home] = list(getattr(module, "__all__", [])) if home != "symsindy" else []
        if n not in modules[home]:
            modules[home].append(n)
    owner: dict[int, str] = {}
    for name, public in modules.items():
        module = importlib.import_module(name)
        for n in public:
            obj = getattr(module, n)
            if _public_home(obj) == name:
                owner.setdefault(id(obj), name)
    pages = {
        name.removeprefix("symsindy.") or name: _module_page(name, public, owner) for name, public in modules.items()
    }
    texts = {f"{page}.rst": text for page, text in pages.items()}
    texts["index.rst"] = _index_page(list(pages), owner)
    folder = HERE / "api"
    folder.mkdir(exist_ok=True)
    for stale in {p.name for p in folder.glob("*.rst")} - set(texts):
        (folder / stale).unlink()
    for file, text in texts.items():
        path = folder / file
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
    # other import paths of the documented objects: symsindy.load_model, symsindy.model.default_differentiation
    aliases = {}
    for name, public in [("symsindy", symsindy.__all__), *modules.items()]:
        module = importlib.import_module(name)
        for n in public:
            home = owner.get(id(getattr(module, n)))
            if home is not None and home != name:
                aliases[f"{name}.{n}"] = f"{home}.{n}"
    return aliases


ALIASES = write_api_pages()


# scikit-learn adds set_fit_request and the like to every estimator class (metadata routing);
# their docstrings point into scikit-learn's own documentation, so they are left out here.
_SKLEARN_GENERATED = re.compile(r"set_\w+_request")


def _skip_member(app, what, name, obj, skip, options):
    if what == "class" and _SKLEARN_GENERATED.fullmatch(name):
        return True
    return None


# Docstring text that is not valid reST and cannot be fixed at its source (none at present): each
# entry is (object, text, replacement), applied to that object's docstring while it is read.
# An entry whose text no longer occurs is reported as a warning (an error under -W), so it is
# removed once its source is fixed.
DOCSTRING_FIXES = []


def _fix_docstring(app, what, name, obj, options, lines):
    for k, (target, text, replacement) in enumerate(DOCSTRING_FIXES):
        if name != target:
            continue
        joined = "\n".join(lines)
        if text in joined:
            lines[:] = joined.replace(text, replacement).split("\n")
            _fixes_used(app.env).setdefault(app.env.docname, set()).add(k)


def _fixes_used(env) -> dict[str, set[int]]:
    """Which DOCSTRING_FIXES each page used, kept in the environment (parallel and incremental builds)."""
    if not hasattr(env, "symsindy_fixes_used"):
        env.symsindy_fixes_used = {}
    return env.symsindy_fixes_used


def _purge_doc(app, env, docname):
    _fixes_used(env).pop(docname, None)


def _merge_info(app, env, docnames, other):
    for docname in docnames:
        if docname in _fixes_used(other):
            _fixes_used(env)[docname] = _fixes_used(other)[docname]


def _check_fixes(app, exception):
    if exception is not None:
        return
    used = set().union(*_fixes_used(app.env).values())
    for k, (target, text, _) in enumerate(DOCSTRING_FIXES):
        if k not in used:
            logger.warning(f"docs/conf.py: DOCSTRING_FIXES entry for {target} ({text!r}) matches nothing; remove it")


# Every reference must resolve (nitpicky), with two readings a reader would make: an object by
# one of its other public paths (symsindy.load_model is symsindy.symbolic.load_model), and a
# name without its module when exactly one documented object has it (SymmetricSINDy, or
# SymmetricSINDy.fit, from a module that does not import it).
nitpicky = True
nitpick_ignore = [
    # outside symsindy: the build runs offline, without intersphinx inventories
    ("py:mod", "importlib.resources"),
    ("py:func", "scipy.integrate.solve_ivp"),
]


def _documented(domain, target: str) -> str | None:
    """The documented object ``target`` names, by an alias or a unique suffix; None if none or several."""
    for alias, name in ALIASES.items():
        if target == alias or target.startswith(alias + "."):
            target = name + target[len(alias) :]
            break
    # autodoc also registers the defining module's path (":canonical:") as an alias entry
    matches = [
        name
        for name, entry in domain.objects.items()
        if (name == target or name.endswith("." + target)) and not entry.aliased
    ]
    return matches[0] if len(matches) == 1 else None


def _described_attribute(qualname: str, attr: str) -> bool:
    """Whether class ``qualname`` declares ``attr`` (a field, an annotation, or in its docstring)."""
    module, _, cls = qualname.rpartition(".")
    try:
        obj = getattr(importlib.import_module(module), cls)
    except (ImportError, AttributeError):
        return False
    fields = getattr(obj, "__dataclass_fields__", {})
    return attr in fields or attr in getattr(obj, "__annotations__", {}) or attr in (inspect.getdoc(obj) or "")


def _resolve_reference(app, env, node, contnode):
    if node.get("refdomain") != "py":
        return None
    domain = env.get_domain("py")
    target = node["reftarget"].lstrip(".~")
    name = _documented(domain, target)
    if name is None and node["reftype"] == "attr":
        # an attribute described in its class's docstring (numpydoc Attributes) or a dataclass
        # field is not an object of its own: the link goes to the class
        owner, _, attr = target.rpartition(".")
        owner = owner or node.get("py:class") or ""
        cls = _documented(domain, owner) if owner else None
        if cls is not None and domain.objects[cls].objtype == "class" and _described_attribute(cls, attr):
            return domain.resolve_xref(env, node["refdoc"], app.builder, "class", cls, node, contnode)
    if name is None:
        return None
    return domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], name, node, contnode)


def setup(app):
    app.connect("missing-reference", _resolve_reference)
    app.connect("autodoc-skip-member", _skip_member)
    app.connect("autodoc-process-docstring", _fix_docstring)
    app.connect("env-purge-doc", _purge_doc)
    app.connect("env-merge-info", _merge_info)
    app.connect("build-finished", _check_fixes)
