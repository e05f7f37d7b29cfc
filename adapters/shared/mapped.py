"""The capability ``Mappings`` (``gateway/adapter.py``) for back-office JSON mappings, for an
adapter whose mappings are its own ``mapping`` module's (``mapping_names()``, ``load(name)``)."""

from __future__ import annotations

from types import ModuleType

from gateway.mapping import source_field


class BackOfficeMappings:
    mapping: ModuleType  # the adapter's mapping module (a class attribute)

    def mappings(self) -> list[str]:
        """The mapping names ``map_in`` takes."""
        return list(self.mapping.mapping_names())

    def mapping_source(self, standard: str, name: str, path: str) -> str | None:
        """The JSON field of mapping ``name`` that filled the element at ``path`` (a mapped
        message's schema errors and findings name it)."""
        return source_field(self.mapping.load(name), path)
