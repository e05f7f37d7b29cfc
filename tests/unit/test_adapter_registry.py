"""The registry checks each adapter once at start: a standard or a channel, whole, or a clear
error naming the adapter and what it lacks; optional capabilities are found by their members."""

from __future__ import annotations

import dataclasses
import types
from typing import Any

import pytest

from adapters.ggk.channel import GgkChannel
from adapters.vecozo.channel import VecozoChannel
from gateway.adapter import Channel, Deadlines, Derives, Endpoints, Mappings, Pollers, Registry
from gateway.config import ConfigError, Settings


def _package(monkeypatch: pytest.MonkeyPatch, name: str, made: Any) -> None:
    module = types.ModuleType(name)
    module.make_adapter = lambda settings: made  # type: ignore[attr-defined]
    monkeypatch.setitem(__import__("sys").modules, name, module)


class _HalfChannel:
    name = "half"


def test_an_adapter_that_is_neither_kind_is_refused_naming_it_and_what_it_lacks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _package(monkeypatch, "half_channel", _HalfChannel())
    with pytest.raises(ConfigError) as caught:
        Registry.load(["half_channel"], Settings())
    assert str(caught.value) == (
        "adapters: half_channel gives 'half', which is no whole channel: it lacks transport"
    )


def test_a_standard_missing_one_member_is_named_as_a_standard(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    class Broken:
        name = "broken"
        standards = ("x",)

    for member in ("owns", "identify", "schema_path", "check", "record_tag", "stream"):
        setattr(Broken, member, lambda self, *a: None)
    for member in ("map_in", "outgoing", "answer", "transport"):  # all but describe
        setattr(Broken, member, lambda self, *a: None)
    _package(monkeypatch, "broken_standard", Broken())
    with pytest.raises(
        ConfigError, match="'broken', which is no whole standard: it lacks describe"
    ):
        Registry.load(["broken_standard"], Settings())


def test_a_package_may_give_a_standard_and_its_channel() -> None:
    settings = dataclasses.replace(Settings(), adapters=("adapters.istandaarden", "adapters.ggk"))
    registry = Registry.load(settings.adapters, settings)
    assert [a.name for a in registry.standards()] == ["istandaarden", "ggk"]
    assert [type(c) for c in registry.channels()] == [GgkChannel]
    assert registry.by_name("ggk").standards == ("stuf",)  # the standard, not the channel


def test_capabilities_are_found_by_their_members() -> None:
    settings = Settings()
    ggk, vecozo = GgkChannel(settings), VecozoChannel(settings)
    assert isinstance(ggk, Channel) and isinstance(vecozo, Channel)
    assert isinstance(ggk, Endpoints) and not isinstance(ggk, Pollers)
    assert isinstance(vecozo, Pollers) and not isinstance(vecozo, Endpoints)
    everything = ("adapters.istandaarden", "adapters.cak", "adapters.svb", "adapters.corv")
    registry = Registry.load(everything, dataclasses.replace(settings, adapters=everything))
    assert [a.name for a in registry.derivers()] == ["cak"]
    assert [a.name for a in registry if isinstance(a, Deadlines)] == ["istandaarden"]
    mapped = [a.name for a in registry.standards() if isinstance(a, Mappings)]
    assert mapped == ["istandaarden", "svb", "corv"]
    assert isinstance(registry.by_name("cak"), Derives)
    assert not isinstance(registry.by_name("svb"), Derives)
