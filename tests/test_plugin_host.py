"""The plugin host isolates plugins: a broken one is named, counted and skipped."""

from __future__ import annotations

import sys
import time
import types
from pathlib import Path

import pytest

from monitor.config import ClassifierConfig, Config, PluginsConfig
from monitor.hookspecs import hookimpl
from monitor.models import Classification, Item
from monitor.plugin_manager import PluginHost, build_host, combine

ITEM = Item(id="1", title="t", text="x")


class Good:
    @hookimpl
    def monitor_classify(self, item: Item) -> Classification:
        return Classification(
            relevant=True, score=0.8, types={"summit": 0.8}, primary="summit", plugin="good"
        )


class Raises:
    @hookimpl
    def monitor_classify(self, item: Item) -> Classification:
        raise RuntimeError("boom")


class Malformed:
    @hookimpl
    def monitor_classify(self, item: Item) -> Classification:
        return Classification(relevant=True, score=1.5, types={"summit": 0.5})


class UnknownType:
    @hookimpl
    def monitor_classify(self, item: Item) -> Classification:
        return Classification(relevant=True, score=0.5, types={"picnic": 0.5})


class WrongShape:
    @hookimpl
    def monitor_classify(self, item: Item) -> dict[str, object]:
        return {"relevant": True}


class Hangs:
    @hookimpl
    def monitor_classify(self, item: Item) -> Classification:
        time.sleep(2)
        return Classification(relevant=True, score=0.9)


class Enricher:
    @hookimpl
    def monitor_enrich(self, item: Item) -> dict[str, object]:
        return {"language": "fr", "meta": {"seen": True}}


class BadEnricher:
    @hookimpl
    def monitor_enrich(self, item: Item) -> dict[str, object]:
        return {"colour": "red"}


def host_with(*plugins: object, timeout: float = 5.0) -> PluginHost:
    host = PluginHost(Config(classifier=ClassifierConfig(timeout=timeout)))
    for plugin in plugins:
        host.register(plugin, type(plugin).__name__.lower(), "test")
    return host


@pytest.mark.parametrize("broken", [Raises(), Malformed(), UnknownType(), WrongShape()])
def test_broken_classifier_is_skipped_and_counted(broken: object) -> None:
    host = host_with(broken, Good())
    result = host.classify(ITEM)
    assert result is not None and result.plugin == "good" and result.score == 0.8
    assert host.errors[type(broken).__name__.lower()] == 1


def test_hanging_classifier_exceeds_budget() -> None:
    host = host_with(Hangs(), Good(), timeout=0.2)
    started = time.monotonic()
    result = host.classify(ITEM)
    assert time.monotonic() - started < 1.5
    assert result is not None and result.plugin == "good"
    assert host.errors["hangs"] == 1


def test_enrichers_apply_in_order_and_bad_fields_are_rejected() -> None:
    host = host_with(Enricher(), BadEnricher())
    item = host.enrich(ITEM)
    assert item.language == "fr" and item.meta["seen"] is True
    assert host.errors["badenricher"] == 1
    assert ITEM.language is None  # the input is never mutated


def test_import_error_is_listed_as_failed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "broken_plugin.py").write_text("raise ImportError('missing dependency: foo')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    host = build_host(Config(plugins=PluginsConfig(modules=["broken_plugin"])), entry_points=False)
    info = host.infos["broken_plugin"]
    assert info.status == "failed" and info.origin == "config"
    assert info.error == "import failed: ImportError: missing dependency: foo"
    assert host.infos["rudprk"].status == "loaded"


def test_environment_allow_list_and_disable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MONITOR_PLUGINS", "console")
    host = build_host(Config(), entry_points=False)
    assert host.infos["console"].status == "loaded"
    assert host.infos["rudprk"].status == "disabled"
    monkeypatch.setenv("MONITOR_PLUGINS", "")
    assert all(
        i.status == "disabled" for i in build_host(Config(), entry_points=False).infos.values()
    )
    monkeypatch.delenv("MONITOR_PLUGINS")
    monkeypatch.setenv("MONITOR_DISABLE_PLUGINS", "rudprk, slack")
    host = build_host(Config(), entry_points=False)
    assert host.infos["rudprk"].status == "disabled" and host.infos["console"].status == "loaded"


def test_combine_max_mean_weighted_and_required() -> None:
    a = Classification(
        relevant=True, score=0.9, types={"summit": 0.9}, primary="summit", plugin="a"
    )
    b = Classification(
        relevant=False, score=0.3, types={"summit": 0.1, "economic": 0.6}, plugin="b"
    )
    best = combine([a, b], ClassifierConfig(combine="max"))
    assert best and best.relevant and best.types["summit"] == 0.9 and best.types["economic"] == 0.6
    mean = combine([a, b], ClassifierConfig(combine="mean"))
    assert mean and mean.score == pytest.approx(0.6) and mean.types["summit"] == pytest.approx(0.5)
    weighted = combine(
        [a, b], ClassifierConfig(combine="weighted_mean", weights={"a": 3.0, "b": 1.0})
    )
    assert weighted and weighted.score == pytest.approx(0.75)
    required = combine([a, b], ClassifierConfig(required=["b"]))
    assert required and not required.relevant
    assert combine([], ClassifierConfig()) is None


def test_module_plugins_are_registered_once() -> None:
    module = types.ModuleType("inline_plugin")
    module.monitor_classify = hookimpl(lambda item: None)  # type: ignore[attr-defined]
    sys.modules["inline_plugin"] = module
    try:
        host = build_host(
            Config(plugins=PluginsConfig(modules=["inline_plugin"])), entry_points=False
        )
        assert host.infos["inline_plugin"].hooks == ["monitor_classify"]
        assert host.infos["inline_plugin"].origin == "config"
    finally:
        del sys.modules["inline_plugin"]
