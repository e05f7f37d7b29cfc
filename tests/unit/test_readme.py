"""The README's promise: exactly two set-up commands, and CI runs the test one."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _setup_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Set up", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```(?:sh|bash|console)?\n(.*?)```", section, re.S)
    return [line.strip() for block in blocks for line in block.splitlines() if line.strip()]


def test_readme_has_exactly_two_setup_commands_run_then_test() -> None:
    commands = _setup_commands()
    assert commands == ["./dev run", "./dev test"]


def test_ci_runs_the_readme_test_command() -> None:
    ci = (ROOT / ".ci" / "run").read_text()
    test_command = _setup_commands()[1]
    assert re.search(rf"^exec {re.escape(test_command)}$", ci, re.M)
    dev = (ROOT / "dev").read_text()
    assert "ensure_rabbitmq" in dev.split("test)", 1)[1].split(";;", 1)[0]
    assert "ensure_postgres" in dev.split("test)", 1)[1].split(";;", 1)[0]
