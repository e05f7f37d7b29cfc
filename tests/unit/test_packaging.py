"""A built wheel carries the schemas and mappings the product needs."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_wheel_ships_schemas_mappings_and_the_console_script(tmp_path: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        check=True,
        capture_output=True,
    )
    [wheel] = tmp_path.glob("ketenpoort-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for standard, prefix in (("iwmo", "WMO"), ("ijw", "JW")):
        assert f"schemas/{standard}/3.2/basisschema.xsd" in names
        assert f"schemas/{standard}/3.2/{prefix}301.xsd" in names
        assert f"schemas/{standard}/3.2/{prefix}325.xsd" in names
    assert "mappings/istandaarden/3.2/toewijzing.toml" in names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "ketenpoort = gateway.cli:main" in text
    assert not any(n.startswith("tests/") for n in names)
