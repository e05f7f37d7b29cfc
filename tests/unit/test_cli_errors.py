"""Every subcommand given what an integration team gets wrong (a missing file, an unknown
message id, a file that is no ledger, a backup destination that exists, a malformed option):
one clear line on stderr, a non-zero exit (2: the command line or settings are wrong, 1: it
could not be done), no traceback. None of these needs the broker."""

from __future__ import annotations

import os
import shlex
import socket
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

import gateway.cli
from gateway.cli import main
from tests.conftest import EXAMPLES

BSN = "999990019"  # in the examples; never in an answer


@pytest.fixture(scope="module")
def installation(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A var dir whose ledger holds the examples (imported: no broker needed), and odd files."""
    base = tmp_path_factory.mktemp("cli")
    with pytest.MonkeyPatch.context() as patch:
        _environment(patch, base)
        assert main(["import", str(EXAMPLES), "--ours", "0363"]) == 1  # one example is refused
    (base / "text.txt").write_text("no JSON, no database\n")
    (base / "proof.json").write_text('{"entry": 1}\n')
    (base / "empty").mkdir()
    other = sqlite3.connect(base / "other.sqlite3")
    other.execute("CREATE TABLE accounts (id)")
    other.commit()
    other.close()
    (base / "taken.sqlite3.checkpoints.jsonl").write_text("")
    (base / "refdata.toml").write_text(f'[istandaarden]\ngemeentecodes = "{base}/text.txt"\n')
    yield base


def _environment(patch: pytest.MonkeyPatch, base: Path) -> None:
    for name in [n for n in os.environ if n.startswith("KETENPOORT_")]:
        patch.delenv(name)
    patch.setenv("KETENPOORT_VAR_DIR", str(base / "var"))


@dataclass(frozen=True)
class Wrong:
    argv: str  # {base}: the installation's folder
    code: int
    says: str  # what the last line on stderr says
    env: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.argv + "".join(f" {k}={v}" for k, v in self.env.items())


NOT_A_PROOF = "is not a proof made by `ketenpoort ledger prove` or `ketenpoort ledger consistency`"
NO_LEDGER = "no ledger at {base}/nowhere/l.sqlite3 (settings var_dir, ledger_url): are these the"
NOWHERE = {"KETENPOORT_LEDGER_URL": "sqlite:///{base}/nowhere/l.sqlite3"}
TEXT = {"KETENPOORT_LEDGER_URL": "sqlite:///{base}/text.txt"}
OTHER = {"KETENPOORT_LEDGER_URL": "sqlite:///{base}/other.sqlite3"}
ID = "0a6e7b1c-0000-4000-8000-000000000000"
NOT_WRITTEN = "exists; a backup never overwrites"
ISO = "expected an ISO 8601 date or date-time"
KEY = "argument --key: expected NAME=VALUE, e.g. ToewijzingNummer=5001"
WRONG = [
    Wrong("send {base}/missing.xml", 2, "argument file: {base}/missing.xml: no such file"),
    Wrong("send {base}/empty", 2, "argument file: {base}/empty: is not a file"),
    Wrong("import {base}/missing --ours 0363", 2, "{base}/missing: no such file or folder"),
    Wrong("import {base}/empty --ours 0363", 1, "ketenpoort import: no *.xml in {base}/empty"),
    Wrong("demo --examples {base}/missing", 2, "--examples: {base}/missing: no such folder"),
    Wrong("demo --examples {base}/empty", 1, "demo: {base}/empty/demo.toml: No such file"),
    Wrong("topology export --out {base}/empty", 2, "argument --out: {base}/empty: is a folder"),
    Wrong("topology export --out {base}/no/t.json", 2, "{base}/no/t.json: no folder {base}/no"),
    Wrong(
        "topology declare",
        2,
        "prefetch (environment variable KETENPOORT_PREFETCH): must be at least 1, not 0",
        {"KETENPOORT_PREFETCH": "0"},
    ),
    Wrong(
        "topology export",
        2,
        "configuration error: adapters: 'json' is no adapter package (no make_adapter)",
        {"KETENPOORT_ADAPTERS": "json"},
    ),
    Wrong(
        "topology export",
        2,
        "configuration error: istandaarden.gemeentecodes ({base}/text.txt): text.txt: missing "
        "columns ['begindatum', 'code', 'einddatum']",
        {"KETENPOORT_CONFIG": "{base}/refdata.toml"},
    ),
    Wrong("ledger verify", 1, "ketenpoort ledger verify: " + NO_LEDGER, NOWHERE),
    Wrong(
        "ledger verify",
        1,
        "cannot open the SQLite ledger {base}/text.txt (settings var_dir, ledger_url): file is "
        "not a database",
        TEXT,
    ),
    Wrong(
        "ledger verify",
        1,
        "{base}/other.sqlite3 is a SQLite database but not a Ketenpoort ledger (it has no "
        "entries); check the settings var_dir and ledger_url",
        OTHER,
    ),
    Wrong("ledger verify --checkpoints {base}/x", 2, "--checkpoints: {base}/x: no such file"),
    Wrong(
        "ledger verify --public-key bm90IGEga2V5",
        2,
        "argument --public-key: expected an Ed25519 public key: base64 of 32 bytes",
    ),
    Wrong(f"ledger prove {ID}", 1, f"no entries for message {ID}"),
    Wrong("ledger prove 99", 1, "ketenpoort ledger prove: entry 99 is not in a tree of 4 entries"),
    Wrong("ledger prove 1 --size 99", 1, "ledger prove: the ledger has 4 entries, not 99"),
    Wrong("ledger prove 1 --size 0", 2, "argument --size: must be at least 1, got 0"),
    Wrong("ledger consistency 3 2", 1, "ledger consistency: no consistency proof from 3 to 2"),
    Wrong("ledger consistency 99", 1, "no consistency proof from 99 to 4 entries"),
    Wrong("ledger consistency -1", 2, "argument old: must be at least 0, got -1"),
    Wrong("ledger check-proof {base}/x.json", 2, "argument file: {base}/x.json: no such file"),
    Wrong("ledger check-proof {base}/text.txt", 1, "{base}/text.txt " + NOT_A_PROOF),
    Wrong("ledger check-proof {base}/proof.json", 1, "{base}/proof.json " + NOT_A_PROOF),
    Wrong("ledger search --key ToewijzingNummer", 2, KEY),
    Wrong("ledger search --since yesterday", 2, f"argument --since: {ISO}, got 'yesterday'"),
    Wrong("ledger search --limit 0", 2, "argument --limit: must be at least 1, got 0"),
    Wrong("ledger checkpoint", 1, NO_LEDGER, NOWHERE),
    Wrong(
        "ledger retention",
        1,
        NO_LEDGER,
        {**NOWHERE, "KETENPOORT_LEDGER_RETENTION": "corv:payload=24h"},
    ),
    Wrong("ledger backup {base}/text.txt", 2, "backup refused: {base}/text.txt " + NOT_WRITTEN),
    Wrong(
        "ledger backup {base}/taken.sqlite3",
        2,
        "backup refused: {base}/taken.sqlite3.checkpoints.jsonl " + NOT_WRITTEN,
    ),
    Wrong(
        "ledger backup {base}/text.txt/b.sqlite3",
        2,
        "backup refused: cannot make the folder {base}/text.txt: File exists",
    ),
    Wrong(
        "ledger backup {base}/b.sqlite3",
        2,
        "backup refused: {base}/other.sqlite3 is a SQLite database but no Ketenpoort ledger",
        OTHER,
    ),
    Wrong(f"messages show {ID}", 1, f"no message {ID}"),
    Wrong(f"messages discard {ID} --reason x", 1, f"no message {ID}"),
    Wrong("messages replay --all", 1, "ketenpoort messages replay: " + NO_LEDGER, NOWHERE),
    Wrong("messages replay --all --rate 0", 2, "argument --rate: must be more than 0, got 0"),
    Wrong("messages list --key x", 2, KEY),
    Wrong("messages list --until 2026-13-01", 2, f"argument --until: {ISO}, got '2026-13-01'"),
    Wrong("messages list --limit -5", 2, "argument --limit: must be at least 1, got -5"),
    Wrong("messages jobs", 1, NO_LEDGER, NOWHERE),
    Wrong("identities new-key 'anna b'", 2, "identity anna: expected name=value, got 'b'"),
    Wrong(
        "identities new-key anna --roles boss",
        2,
        "identity anna: unknown role in 'boss'; roles are viewer, payload-viewer, operator, admin, "
        "beleid",
    ),
    Wrong("monitor --peildatum 2026-03-31", 1, "ketenpoort monitor: " + NO_LEDGER, NOWHERE),
    Wrong(
        "monitor --peildatum 2026-13-31",
        2,
        "argument --peildatum: peildatum: expected ISO dates (YYYY-MM-DD), separated by commas",
    ),
]


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse's usage errors
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("case", WRONG, ids=str)
def test_a_wrong_command_is_one_clear_line(
    case: Wrong,
    installation: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _environment(monkeypatch, installation)
    for name, value in case.env.items():
        monkeypatch.setenv(name, value.format(base=installation))
    argv = [arg.format(base=installation) for arg in shlex.split(case.argv)]
    code, out, err = _run(argv, capsys)
    assert code == case.code, err
    assert case.says.format(base=installation) in err.strip().splitlines()[-1], err
    assert "Traceback" not in out + err and BSN not in out + err


def test_the_ledger_commands_do_not_make_a_ledger_where_there_is_none(
    installation: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _environment(monkeypatch, installation)
    monkeypatch.setenv("KETENPOORT_VAR_DIR", str(installation / "new-var"))
    for argv in (
        ["ledger", "verify"],
        ["ledger", "search"],
        ["ledger", "rebuild-domain"],
        ["messages", "list"],
    ):
        assert _run(argv, capsys)[0] == 1
    assert not (installation / "new-var").exists()  # no ledger, no checkpoint key made


def test_an_unexpected_error_shows_its_type_only(
    installation: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def broken(args: object) -> int:
        raise RuntimeError(f"could not handle the client with BSN {BSN}")

    _environment(monkeypatch, installation)
    monkeypatch.setattr(gateway.cli, "cmd_topology", broken)
    code, out, err = _run(["topology", "export"], capsys)
    assert code == 1
    assert err.strip() == (
        "ketenpoort topology export: unexpected RuntimeError; this is a bug, please report it "
        "(with --traceback before the command, it shows where)"
    )
    with pytest.raises(RuntimeError, match="BSN"):
        main(["--traceback", "topology", "export"])


def test_run_refuses_a_port_in_use_before_anything_starts(
    installation: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _environment(monkeypatch, installation)
    monkeypatch.setattr(gateway.cli, "Gateway", lambda *_: pytest.fail("the gateway started"))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        monkeypatch.setenv("KETENPOORT_HTTP_PORT", str(port))
        code, _, err = _run(["run"], capsys)
    assert (code, err.strip()) == (
        2,
        f"configuration error: http_host, http_port: cannot listen on 127.0.0.1:{port}: "
        "Address already in use",
    )
