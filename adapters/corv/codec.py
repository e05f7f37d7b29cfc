"""StUF-Jeugdzorg message XML <-> canonical dict, driven by our XSDs (``schemas/corv/1.0.9``).

The shape (element names, order, repetition) comes from our XSD through ``gateway/xmlcodec.py``;
StUF adds attributes that carry meaning, so the canonical form here extends the core's:

- a key ``@name`` is an attribute: ``@naam``, ``@StUF:noValue``, ``@StUF:bestandsnaam``,
  ``@xmime:contentType``, ``@xsi:nil``;
- a simple element with attributes is ``{"#": text, "@...": value}``;
- attributes our XSD fixes (``StUF:entiteittype`` of every entity and relation,
  ``StUF:metagegeven``) are written by the encoder, read once from the XSD with xmlschema.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import xmlschema
from lxml import etree

from adapters.corv.catalogue import BG, JZ, XMIME, XSI, ZKN, schema_path
from adapters.lib.stuf.messages import STUF
from gateway.xmlcodec import CodecError, Shape, shape_of

PREFIXES = {"StUF": STUF, "xmime": XMIME, "xsi": XSI, "BG": BG, "ZKN": ZKN, "JZ": JZ}
NSMAP: dict[str | None, str] = {
    "JZ": JZ,
    "StUF": STUF,
    "ZKN": ZKN,
    "BG": BG,
    "xmime": XMIME,
    "xsi": XSI,
}
# entiteittype is required but not fixed on these (a person or an organisation as betrokkene)
_DEFAULT_ENTITEITTYPE = {"natuurlijkPersoon": "NPS", "nietNatuurlijkPersoon": "NNP"}


def shape(functie: str) -> Shape:
    return shape_of(str(schema_path()), functie)


def _clark(name: str) -> str:
    prefix, _, local = name.partition(":")
    if not local:
        return prefix
    return f"{{{PREFIXES[prefix]}}}{local}"


def _short(clark: str) -> str:
    qname = etree.QName(clark)
    for prefix, namespace in PREFIXES.items():
        if qname.namespace == namespace:
            return f"{prefix}:{qname.localname}"
    return qname.localname


@functools.cache
def fixed_attributes(functie: str) -> dict[str, dict[str, str]]:
    """Element path -> attributes the encoder writes itself (required, with a fixed value)."""
    schema = xmlschema.XMLSchema(str(schema_path()), allow="sandbox", defuse="always")
    root = next(e for n, e in schema.elements.items() if etree.QName(n).localname == functie)
    out: dict[str, dict[str, str]] = {}

    def walk(element: Any, path: str, depth: int) -> None:
        if depth > 40:
            raise CodecError(f"schema nests deeper than 40 levels at {path}")
        local = etree.QName(element.name).localname
        attributes = getattr(element.type, "attributes", {}) or {}
        fixed: dict[str, str] = {}
        for name, attribute in attributes.items():
            if not name or attribute.use != "required":
                continue
            value = attribute.fixed
            if value is None and etree.QName(name).localname == "entiteittype":
                value = _DEFAULT_ENTITEITTYPE.get(local)
            if value is not None:
                fixed[name] = str(value).lower() if isinstance(value, bool) else str(value)
        if fixed:
            out[path] = fixed
        if not element.type.has_simple_content():
            for child in element.iterchildren():
                walk(child, f"{path}/{etree.QName(child.name).localname}", depth + 1)

    walk(root, functie, 0)
    return out


def encode(functie: str, data: Mapping[str, Any]) -> etree._Element:
    """The message element for canonical ``data`` (keys as in our XSD)."""
    top = shape(functie)
    fixed = fixed_attributes(functie)
    root = etree.Element(top.tag, nsmap=NSMAP)
    _fill(root, data, top, functie, fixed)
    return root


def _fill(
    element: etree._Element,
    data: Any,
    shape_: Shape,
    path: str,
    fixed: Mapping[str, Mapping[str, str]],
) -> None:
    for name, value in fixed.get(path, {}).items():
        element.set(name, value)
    if shape_.is_leaf:
        _fill_leaf(element, data, path)
        return
    if not isinstance(data, Mapping):
        raise CodecError(f"{path}: expected an object, got {type(data).__name__}")
    names = {c.name for c in shape_.children}
    unknown = {k for k in data if not k.startswith("@") and k not in names}
    if unknown:
        raise CodecError(f"{path}: unknown element(s) {', '.join(sorted(unknown))}")
    for key, value in data.items():
        if key.startswith("@"):
            element.set(_clark(key[1:]), str(value))
    for child in shape_.children:
        if child.name in data:
            _fill_child(element, data[child.name], child, path, fixed)


def _fill_leaf(element: etree._Element, data: Any, path: str) -> None:
    """A value (its text), or an object of its text (``#``) and attributes (``@`` keys)."""
    if isinstance(data, list):
        raise CodecError(f"{path}: expected a value, got a list")
    if not isinstance(data, Mapping):
        element.text = str(data)
        return
    for key, value in data.items():
        if key.startswith("@"):
            element.set(_clark(key[1:]), str(value))
        elif key != "#":
            raise CodecError(f"{path}: unknown key {key}")
    if "#" in data:
        element.text = str(data["#"])


def _fill_child(
    parent: etree._Element,
    value: Any,
    child: Shape,
    path: str,
    fixed: Mapping[str, Mapping[str, str]],
) -> None:
    """The child element(s) ``child`` of ``parent``: one per item of a list (a repeat)."""
    items = value if isinstance(value, list) else [value]
    if len(items) > 1 and not child.repeat:
        raise CodecError(f"{path}/{child.name}: occurs once")
    for item in items:
        sub = etree.SubElement(parent, child.tag)
        _fill(sub, item, child, f"{path}/{child.name}", fixed)


def decode(element: etree._Element, functie: str) -> dict[str, Any]:
    """The canonical dict of a message (attributes as ``@`` keys; repeats as lists)."""
    return _read(element, shape(functie))


def _read(element: etree._Element, shape_: Shape) -> dict[str, Any]:
    out: dict[str, Any] = {f"@{_short(k)}": v for k, v in element.attrib.items()}
    for child in element:
        if not isinstance(child.tag, str):
            continue
        sub = shape_.index.get(child.tag)
        if sub is None:
            raise CodecError(f"unexpected element {etree.QName(child).localname} in {shape_.name}")
        if sub.is_leaf:
            value: Any = child.text or ""
            if child.attrib:
                value = {"#": value, **{f"@{_short(k)}": v for k, v in child.attrib.items()}}
        else:
            value = _read(child, sub)
        if sub.repeat:
            out.setdefault(sub.name, []).append(value)
        elif sub.name in out:  # a choice repeated (e.g. several persons in one OBJ)
            earlier = out[sub.name]
            out[sub.name] = [*earlier, value] if isinstance(earlier, list) else [earlier, value]
        else:
            out[sub.name] = value
    return out


def to_bytes(element: etree._Element) -> bytes:
    text: bytes = etree.tostring(element, xml_declaration=True, encoding="UTF-8")
    return text
