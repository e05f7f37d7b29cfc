"""A built wheel carries the schemas and mappings the product needs."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

from gateway.config import Settings, environment

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built from a copy of the files git tracks (as in the working tree): a checkout's own
    ``build/`` and ``*.egg-info`` would otherwise put files in the wheel that its package data
    does not name, and hide what a clean build (the image's) leaves out."""
    folder, source = tmp_path_factory.mktemp("wheel"), tmp_path_factory.mktemp("source")
    listed = subprocess.run(
        ["git", "-C", str(ROOT), "ls-files", "-z"], check=True, capture_output=True
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(folder), str(source)],
        check=True,
        capture_output=True,
    )
    [built] = folder.glob("ketenpoort-*.whl")
    return built


@pytest.mark.slow
def test_wheel_ships_schemas_mappings_and_the_console_script(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    for standard, prefix in (("iwmo", "WMO"), ("ijw", "JW")):
        assert f"schemas/{standard}/3.2/basisschema.xsd" in names
        assert f"schemas/{standard}/3.2/{prefix}301.xsd" in names
        assert f"schemas/{standard}/3.2/{prefix}325.xsd" in names
    assert "mappings/istandaarden/3.2/toewijzing.toml" in names
    demo = tomllib.loads((ROOT / "examples" / "demo.toml").read_text())["message"]
    assert {"examples/__init__.py", "examples/demo.toml"} | {
        f"examples/{m['file']}" for m in demo
    } <= names
    entry_points = next(n for n in names if n.endswith("entry_points.txt"))
    text = zipfile.ZipFile(wheel).read(entry_points).decode()
    assert "ketenpoort = gateway.cli:main" in text
    assert not any(n.startswith("tests/") for n in names)


# What the image's ``pip install .`` gives, run away from the repository: the installed
# packages find their schemas, mappings and templates through importlib, not the checkout.
INSTALLED = """
import json, sys
from pathlib import Path
site, examples = Path(sys.argv[1]), Path(sys.argv[2])
import adapters, gateway, mappings, schemas
for package in (gateway, adapters, schemas, mappings):
    assert Path(package.__file__).is_relative_to(site), package.__file__
from gateway.adapter import Registry
from gateway.config import load_settings
from gateway.envelope import Direction, Envelope
from gateway.ledger import open_ledger
from gateway.ops.dashboard import TEMPLATES
from gateway.receive import Receiver
from gateway.validate import SchemaCache
settings = load_settings(env={"KETENPOORT_VAR_DIR": "var", "KETENPOORT_ADAPTERS":
    "adapters.istandaarden,adapters.ggk,adapters.svb,adapters.cak,adapters.corv"})
registry = Registry.load(settings.adapters, settings)
ledger = open_ledger(settings.ledger_dsn, "k")
published = []
receiver = Receiver(registry, SchemaCache(), ledger, published.append, 10**7)
out = {}
body = (examples / "WMO301-ontvangen.xml").read_bytes()
out["xml"] = receiver.receive(Envelope(body, Direction.INBOUND)).status
for name, standard, mapping in [("toewijzing.json", "iwmo", "toewijzing"),
                                ("pgb-toekenning.json", "ipgb", "toekenning")]:
    envelope = Envelope((examples / name).read_bytes(), Direction.OUTBOUND)
    out[mapping] = receiver.receive_mapped(envelope, standard, mapping).status
out["templates"] = sorted(p.name for p in Path(TEMPLATES.env.loader.searchpath[0]).glob("*.html"))
print(json.dumps(out))
"""


@pytest.mark.slow
def test_the_installed_wheel_works_away_from_the_repository(wheel: Path, tmp_path: Path) -> None:
    """The image installs the wheel (``pip install .``); this does the same (without its
    dependencies, which this venv has) into a folder, and runs from a folder outside the
    checkout: a message is validated against the schemas, back-office JSON is mapped."""
    site = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-deps", "-q", "--target", str(site),
         str(wheel)],
        check=True,
        capture_output=True,
    )  # fmt: skip
    run = subprocess.run(
        [sys.executable, "-c", INSTALLED, str(site), str(ROOT / "examples")],
        cwd=tmp_path,
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["xml"] == "accepted"
    assert result["toewijzing"] == "accepted" and result["toekenning"] == "accepted"
    assert {"base.html", "home.html", "message.html"} <= set(result["templates"])


@pytest.mark.slow
@pytest.mark.integration
def test_ketenpoort_demo_runs_from_the_wheel_in_a_fresh_venv_in_an_empty_folder(
    wheel: Path, settings: Settings, tmp_path: Path
) -> None:
    """As a new user: a fresh venv, ``pip install`` of the wheel (its dependencies from the
    configured index), then ``ketenpoort demo`` in an empty folder, on the real broker: the
    examples it sends are the ones the wheel ships."""
    venv, empty = tmp_path / "venv", tmp_path / "empty"
    empty.mkdir()
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, capture_output=True)
    installed = subprocess.run(
        [str(venv / "bin" / "pip"), "install", "-q", str(wheel)], capture_output=True, text=True
    )
    assert installed.returncode == 0, installed.stderr[-3000:]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("KETENPOORT_", "PYTHON"))}
    env.update(environment(settings), PATH=f"{venv / 'bin'}:/usr/bin:/bin", HOME=str(tmp_path))
    run = subprocess.run(
        ["ketenpoort", "demo"], cwd=empty, env=env, capture_output=True, text=True, timeout=300
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    assert f"messages from {venv}/lib/" in run.stdout  # the installed examples, not the checkout's
    assert "all messages came out as expected" in run.stdout
    assert list(empty.iterdir()) == []  # the demo keeps its state in a scratch folder
