"""XSDs written by the Ketenpoort developers (shipped as package data)."""

from importlib.resources import files
from importlib.resources.abc import Traversable


def schema_root() -> Traversable:
    """Folder holding ``<standard>/<version>/<file>.xsd``."""
    return files(__name__)
