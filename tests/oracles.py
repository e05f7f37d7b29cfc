"""Public XSDs as test oracles (the product never reads them).

There is no public iWmo 3.2 retour XSD; :func:`public_schema` derives one from the public iJw
equivalent by swapping namespaces and BerichtCode (iwmo-ijw.md §5: the iWmo retour XSDs are the
iJw ones with iWmo namespaces; iJw-only elements do not occur in 302/306/308/318).
"""

from __future__ import annotations

import functools
import re
import shutil
import tempfile
from pathlib import Path

from lxml import etree

from adapters.istandaarden.catalogue import Bericht

_TMP = Path(tempfile.mkdtemp(prefix="kp-oracle-"))


@functools.cache
def public_schema(reference: Path, bericht: Bericht) -> etree.XMLSchema:
    folder = reference / f"jaapjunior-{bericht.standard}-3.2" / "xsd"
    own = folder / f"{bericht.code}.xsd"
    if own.exists():
        return etree.XMLSchema(etree.parse(str(own)))
    if bericht.standard != "iwmo":
        raise FileNotFoundError(own)
    jw = Bericht("ijw", bericht.number)
    text = (reference / "jaapjunior-ijw-3.2" / "xsd" / f"{jw.code}.xsd").read_text()
    text = text.replace("/ijw/3_2/", "/iwmo/3_2/").replace(jw.prefix, bericht.prefix)
    text = re.sub(r"\bijw:", "iwmo:", text).replace("xmlns:ijw=", "xmlns:iwmo=")
    text = text.replace(f'value="{jw.berichtcode}"', f'value="{bericht.berichtcode}"')
    target = _TMP / bericht.code
    target.mkdir(exist_ok=True)
    shutil.copy(folder / "basisschema.xsd", target / "basisschema.xsd")
    (target / f"{bericht.code}.xsd").write_text(text)
    return etree.XMLSchema(etree.parse(str(target / f"{bericht.code}.xsd")))


def assert_valid(schema: etree.XMLSchema, xml: bytes) -> None:
    doc = etree.fromstring(xml).getroottree()
    assert schema.validate(doc), "\n".join(str(e) for e in schema.error_log)
