import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gateway.xmlsafe import XmlRejected, parse

LIMIT = 1024 * 1024
ROOT = Path(__file__).resolve().parents[2]


def test_parses_plain_xml() -> None:
    tree = parse(b"<a><b>1</b></a>", LIMIT)
    assert tree.getroot().findtext("b") == "1"


def test_refuses_external_entities(tmp_path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("top secret")
    xxe = f'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file://{secret}">]><a>&x;</a>'
    with pytest.raises(XmlRejected, match="DOCTYPE"):
        parse(xxe.encode(), LIMIT)


def test_refuses_entity_expansion_bombs() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaaaaaaaa">'
        b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">'
        b"]><l>&c;&c;&c;</l>"
    )
    with pytest.raises(XmlRejected):
        parse(bomb, LIMIT)


def test_refuses_oversize_and_empty_and_malformed() -> None:
    with pytest.raises(XmlRejected, match="limit is 10 bytes"):
        parse(b"<a>0123456789</a>", 10)
    with pytest.raises(XmlRejected, match="empty"):
        parse(b"  ", LIMIT)
    with pytest.raises(XmlRejected, match="not well-formed"):
        parse(b"<a><b></a>", LIMIT)


def test_no_network_for_external_dtd() -> None:
    doc = b'<!DOCTYPE a SYSTEM "http://127.0.0.1:9/evil.dtd"><a/>'
    with pytest.raises(XmlRejected, match="DOCTYPE"):
        parse(doc, LIMIT)


def test_schemas_compile_in_several_threads_at_once() -> None:
    """libxml2 sets up its built-in schema types lazily: two first compilations at the same moment
    crashed the process (or failed with "the given type is not a built-in type"). Each run is a
    fresh process, where that set-up has not happened yet."""
    script = textwrap.dedent(
        """
        import threading
        from adapters.lib.istandaard import codec
        from adapters.istandaarden.catalogue import Bericht
        from gateway.xmlsafe import parse_schema

        paths = [str(Bericht(s, n).schema_path) for s in ("iwmo", "ijw") for n in (301, 323)]
        barrier = threading.Barrier(4)
        failed = []

        def compile_all():
            barrier.wait()
            try:
                for path in paths:
                    parse_schema(path)
            except Exception as exc:
                failed.append(repr(exc))

        threads = [threading.Thread(target=compile_all) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        print("failed:", failed)
        """
    )
    for _ in range(5):
        done = subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            timeout=120,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        assert done.stdout.strip() == "failed: []"
