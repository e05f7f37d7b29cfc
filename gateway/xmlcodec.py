"""A schema-driven codec: XML <-> canonical dict, for any XSD-described message.

The *shape* of a message (element names, order, which repeat) is read once from its XSD with
xmlschema (start-up work, cached per file); decoding and encoding then only walk lxml trees.

Canonical form: a dict per complex element keyed by child local name; a list for an element
that may repeat (even when it occurs once); the exact text (a ``str``) for a simple element;
absent elements are absent keys. ``encode(decode(x))`` is ``x`` up to formatting and prefixes.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import xmlschema
from lxml import etree


class CodecError(ValueError):
    """The data does not have the message's shape (names the element)."""


@dataclass(frozen=True)
class Shape:
    tag: str  # Clark notation: {namespace}Local
    name: str  # local name: the key in the canonical dict
    repeat: bool
    required: bool
    children: tuple[Shape, ...] = ()
    index: Mapping[str, Shape] = field(default_factory=dict, compare=False, repr=False)
    # Per child tag: (local name, its shape, may repeat, is a class): one lookup per element.
    plan: Mapping[str, tuple[str, Shape, bool, bool]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @property
    def is_leaf(self) -> bool:
        return not self.children

    def child(self, name: str) -> Shape:
        for c in self.children:
            if c.name == name:
                return c
        raise CodecError(f"{self.name} has no element {name}")

    def walk(self, path: str = "") -> Iterator[tuple[str, Shape]]:
        """Every element as (``A/B/C`` path, shape), depth first, in document order."""
        here = f"{path}/{self.name}" if path else self.name
        yield here, self
        for c in self.children:
            yield from c.walk(here)


def _build(element: Any, depth: int = 0) -> Shape:
    if depth > 40:
        raise CodecError(f"schema nests deeper than 40 levels at {element.name}")
    children: tuple[Shape, ...] = ()
    if not element.type.has_simple_content():
        children = tuple(_build(c, depth + 1) for c in element.iterchildren())
    max_occurs = element.max_occurs
    return Shape(
        tag=element.name,
        name=etree.QName(element.name).localname,
        repeat=max_occurs is None or max_occurs > 1,
        required=element.min_occurs > 0,
        children=children,
        index={c.tag: c for c in children},
        plan={c.tag: (c.name, c, c.repeat, bool(c.children)) for c in children},
    )


@functools.cache
def shape_of(xsd_path: str, root: str = "Bericht") -> Shape:
    """The shape of the global element ``root`` in the XSD at ``xsd_path`` (cached)."""
    schema = xmlschema.XMLSchema(xsd_path, allow="sandbox", defuse="always")
    for name, element in schema.elements.items():
        if etree.QName(name).localname == root:
            return _build(element)
    raise CodecError(f"{xsd_path} has no global element {root}")


def decode(element: etree._Element, shape: Shape) -> dict[str, Any]:
    """The canonical dict of ``element`` (see the module docstring)."""
    return decode_indexed(element, shape)[0]


ClassIndex = dict[str, list[tuple[str, dict[str, Any]]]]


def decode_indexed(
    element: etree._Element, shape: Shape, path: str = ""
) -> tuple[dict[str, Any], ClassIndex]:
    """:func:`decode`, and in the same walk an index of every complex element by local name:
    ``{"Client": [("Client", {...})], "Product": [("Client/Producten/Product[1]", {...}), ...]}``,
    each as (path from the root without the root's own name, its dict), in document order. An
    element that may repeat carries its 1-based position in the path, even when it occurs once.
    ``path``: the path of ``element`` itself, put in front of every path (for a record of a
    streamed document, decoded on its own).
    """
    out: dict[str, Any] = {}
    index: ClassIndex = {}
    _decode_into(element, shape, out, path, index)
    return out, index


def _decode_into(
    element: etree._Element, shape: Shape, out: dict[str, Any], path: str, index: ClassIndex
) -> None:
    plan = shape.plan
    prefix = f"{path}/" if path else ""
    for child in element:
        step = plan.get(child.tag)
        if step is None:
            if child.tag.__class__ is not str:
                continue  # comments, processing instructions
            raise CodecError(f"unexpected element {etree.QName(child).localname} in {shape.name}")
        name, sub, repeat, is_class = step
        if is_class:
            value: dict[str, Any] = {}
            if repeat:
                items = out.get(name)
                if items is None:
                    items = out[name] = []
                items.append(value)
                here = f"{prefix}{name}[{len(items)}]"
            else:
                out[name] = value
                here = prefix + name
            found = index.get(name)
            if found is None:
                index[name] = [(here, value)]
            else:
                found.append((here, value))
            _decode_into(child, sub, value, here, index)
        elif repeat:
            items = out.get(name)
            if items is None:
                out[name] = [child.text or ""]
            else:
                items.append(child.text or "")
        else:
            out[name] = child.text or ""


def encode(
    data: Mapping[str, Any], shape: Shape, nsmap: Mapping[str | None, str] | None = None
) -> etree._Element:
    root = etree.Element(shape.tag, nsmap=dict(nsmap) if nsmap else None)
    _fill(root, data, shape, shape.name)
    return root


def _fill(parent: etree._Element, data: Mapping[str, Any], shape: Shape, path: str) -> None:
    if not isinstance(data, Mapping):
        raise CodecError(f"{path}: expected an object, got {type(data).__name__}")
    unknown = set(data) - {c.name for c in shape.children}
    if unknown:
        raise CodecError(f"{path}: unknown element(s) {', '.join(sorted(unknown))}")
    for sub in shape.children:
        if sub.name not in data:
            continue
        value = data[sub.name]
        if sub.repeat:
            if not isinstance(value, list):
                raise CodecError(f"{path}/{sub.name}: expected a list")
            values = value
        else:
            values = [value]
        for item in values:
            element = etree.SubElement(parent, sub.tag)
            if sub.is_leaf:
                if isinstance(item, Mapping | list):
                    raise CodecError(f"{path}/{sub.name}: expected a value, got a structure")
                element.text = str(item)
            else:
                _fill(element, item, sub, f"{path}/{sub.name}")
