"""Tests of the package as installed: the shipped catalogue, the wheel's contents, the version,
``python -m symsindy`` and the command's behaviour when the reader of its output goes away."""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import io
import runpy
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

import symsindy
from symsindy import catalogue
from symsindy.catalogue import CatalogueError, default_folder, get_system, list_systems
from symsindy.cli import EXIT_BROKEN_PIPE, main

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
SOURCE_SYSTEMS = sorted(p.name for p in (ROOT / "systems").glob("*.toml"))


# --------------------------------------------------------------------------- the catalogue


def test_catalogue_is_found_with_importlib_resources(monkeypatch):
    monkeypatch.delenv(catalogue.ENV_VAR, raising=False)
    try:
        shipped = importlib.resources.files("symsindy.systems")
    except ModuleNotFoundError:  # pragma: no cover - an install made before the catalogue was packaged
        pytest.fail("symsindy.systems is not importable: reinstall the package (pip install -e '.[test]')")
    assert isinstance(shipped, Path)
    assert default_folder() == shipped
    assert sorted(p.name for p in shipped.glob("*.toml")) == SOURCE_SYSTEMS
    assert "lorenz" in list_systems()
    assert get_system("lorenz").variables == ("x", "y", "z")


def _one_system_folder(path: Path, name: str) -> Path:
    path.mkdir()
    shutil.copy(ROOT / "systems" / f"{name}.toml", path / f"{name}.toml")
    return path


def test_environment_variable_and_folder_argument_override_the_shipped_catalogue(tmp_path, monkeypatch):
    from_env = _one_system_folder(tmp_path / "env", "lorenz")
    given = _one_system_folder(tmp_path / "given", "hopf")
    monkeypatch.setenv(catalogue.ENV_VAR, str(from_env))
    assert default_folder() == from_env
    assert list_systems() == ["lorenz"]
    assert list_systems(given) == ["hopf"]  # the argument wins over the variable
    monkeypatch.setenv(catalogue.ENV_VAR, str(tmp_path / "nowhere"))
    with pytest.raises(CatalogueError, match=r"^systems folder '.*nowhere' \(from \$SYMSINDY_SYSTEMS\) does not exist"):
        list_systems()


def test_source_checkout_without_the_catalogue_package_uses_its_systems_folder(monkeypatch):
    monkeypatch.delenv(catalogue.ENV_VAR, raising=False)
    files = importlib.resources.files

    def without_catalogue_package(name):
        if name == "symsindy.systems":
            raise ModuleNotFoundError(f"No module named {name!r}")
        return files(name)

    monkeypatch.setattr(importlib.resources, "files", without_catalogue_package)
    folder = default_folder()
    assert folder == files("symsindy").parent / "systems"
    assert sorted(p.name for p in folder.glob("*.toml")) == SOURCE_SYSTEMS


def test_every_package_directory_is_listed_in_pyproject():
    # The packages are listed explicitly (systems/ is mapped in), so a new subpackage must be added there.
    listed = set(PYPROJECT["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "symsindy").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    assert found - listed == set(), "add these packages to [tool.setuptools] packages in pyproject.toml"
    assert PYPROJECT["tool"]["setuptools"]["package-dir"]["symsindy.systems"] == "systems"


# --------------------------------------------------------------------------- the wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    """A wheel built by pip from a copy of the sources (so no build/ folder appears in the checkout)."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md", "LICENSE"):
        shutil.copy(ROOT / name, src / name)
    for name in ("symsindy", "systems"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp / "dist"), str(src)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    (path,) = (tmp / "dist").glob("symsindy-*.whl")
    with zipfile.ZipFile(path) as zf:
        yield zf


def test_wheel_ships_the_catalogue_and_every_module(wheel):
    names = set(wheel.namelist())
    shipped = sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("symsindy/systems/") and n.endswith(".toml"))
    assert shipped == SOURCE_SYSTEMS
    assert {"symsindy/systems/__init__.py", "symsindy/systems/README.md", "symsindy/__main__.py"} <= names
    modules = {
        p.relative_to(ROOT).as_posix() for p in (ROOT / "symsindy").rglob("*.py") if "__pycache__" not in p.parts
    }
    assert modules - names == set()
    assert not any(n.startswith("systems/") for n in names), "the catalogue belongs inside the package"


def test_wheel_metadata_has_the_version_and_the_license(wheel):
    info = f"symsindy-{symsindy.__version__}.dist-info"
    metadata = wheel.read(f"{info}/METADATA").decode()
    assert f"\nVersion: {symsindy.__version__}\n" in metadata
    assert "\nLicense-Expression: MIT\n" in metadata
    assert wheel.read(f"{info}/licenses/LICENSE") == (ROOT / "LICENSE").read_bytes()
    assert (ROOT / "LICENSE").read_text().startswith("MIT License")
    assert "symsindy = symsindy.cli:main" in wheel.read(f"{info}/entry_points.txt").decode()


def test_version_has_one_source():
    assert symsindy.__version__ == importlib.metadata.version("symsindy")
    assert "version" not in PYPROJECT["project"]
    assert "version" in PYPROJECT["project"]["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "symsindy.__version__"}


# --------------------------------------------------------------------------- the command


def test_python_m_symsindy_is_the_command(capsys, monkeypatch):
    monkeypatch.setattr(sys, "argv", ["symsindy", "--help"])
    with pytest.raises(SystemExit) as exc:
        runpy.run_module("symsindy", run_name="__main__")
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: symsindy")
    assert "systems" in out and "discover" in out


class _ClosedPipe(io.TextIOBase):
    """Standard output whose reader has gone: every write and flush fails as on a closed pipe."""

    def writable(self):
        return True

    def write(self, s):
        raise BrokenPipeError(32, "Broken pipe")

    def flush(self):
        raise BrokenPipeError(32, "Broken pipe")


@pytest.mark.parametrize("argv", [["systems", "list"], ["systems", "show", "lorenz"], ["--help"]])
def test_closed_pipe_ends_quietly(argv, capsys, monkeypatch):
    monkeypatch.setattr(sys, "stdout", _ClosedPipe())
    code = main(argv)
    assert code == EXIT_BROKEN_PIPE
    assert capsys.readouterr().err == ""


def test_errors_other_than_a_closed_pipe_still_name_the_problem(capsys):
    code = main(["systems", "list", "--folder", "/nonexistent/folder"])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("symsindy systems: error: systems folder '/nonexistent/folder' (given) does not exist")
    assert len(err.strip().splitlines()) == 1


def test_command_in_a_pipe_closed_early_exits_quietly(tmp_path):
    # The reader closes before the command writes. The table fits stdout's buffer and is written at the
    # final flush; the JSON is larger and is written while the command runs: both cases are met.
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "symsindy", "systems", "list", *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=tmp_path,
        )
        for extra in ([], ["--json"])
    ]
    for p in procs:
        p.stdout.close()
    for p in procs:
        err = p.stderr.read().decode()
        p.stderr.close()
        assert p.wait(timeout=120) == EXIT_BROKEN_PIPE, err
        assert err == "", err
