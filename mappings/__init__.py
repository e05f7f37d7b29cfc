"""Declarative back-office mappings (shipped as package data)."""

from importlib.resources import files
from importlib.resources.abc import Traversable


def mapping_root() -> Traversable:
    """Folder holding ``<standard>/<version>/<mapping>.toml``."""
    return files(__name__)
