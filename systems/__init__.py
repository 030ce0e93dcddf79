"""The catalogue of dynamical systems shipped with symsindy: one TOML file per system.

This folder is installed as the package ``symsindy.systems`` so that the files travel
inside the wheel; :func:`symsindy.catalogue.default_folder` finds them with
:mod:`importlib.resources`. The format is described in ``README.md`` here.
"""
