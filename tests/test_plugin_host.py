"""The plugin host isolates plugins: a broken one is named, counted and skipped."""

from __future__ import annotations

import sys
import threading
import time
import types
from pathlib import Path

import pytest

from monitor.classify.combine import combine
from monitor.config import ClassifierConfig, Config, PluginsConfig, load_config
from monitor.errors import PluginError
from monitor.hookspecs import hookimpl
from monitor.host.loader import build_host
from monitor.host.manager import PluginHost
from monitor.models import Classification, Item

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


class Blocks:
    """Blocks until `release` is set; counts its calls."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = threading.Event()

    @hookimpl
    def monitor_classify(self, item: Item) -> Classification | None:
        self.calls += 1
        self.release.wait(10)
        return None


def test_timeouts_in_a_row_suspend_a_plugin_then_it_is_retried() -> None:
    blocks = Blocks()
    host = host_with(blocks, Good(), timeout=0.05)
    host.max_stuck = 10
    try:
        for _ in range(3):
            assert host.classify(ITEM).plugin == "good"  # type: ignore[union-attr]
        assert host.infos["blocks"].status == "suspended"
        assert "after 3 time-outs in a row" in (host.infos["blocks"].error or "")
        assert host.classify(ITEM).plugin == "good"  # type: ignore[union-attr]
        assert blocks.calls == 3 and host.skipped["blocks"] == 1
        host.suspend_for = 0.0
        blocks.release.set()
        host._health["blocks"].suspended_until = time.monotonic()  # the pause is over
        assert host.classify(ITEM).plugin == "good"  # type: ignore[union-attr]
        assert blocks.calls == 4 and host.infos["blocks"].status == "loaded"
    finally:
        blocks.release.set()


def test_stuck_calls_are_bounded_so_the_pool_never_fills() -> None:
    blocks = Blocks()
    host = host_with(blocks, Good(), timeout=0.05)
    host.suspend_after = 100
    try:
        for _ in range(6):
            result = host.classify(ITEM)
            assert result is not None and result.plugin == "good"
        assert blocks.calls == host.max_stuck  # the others were skipped, not submitted
        assert host.errors["good"] == 0
    finally:
        blocks.release.set()
    deadline = time.monotonic() + 5
    while host._health["blocks"].stuck and time.monotonic() < deadline:
        time.sleep(0.01)
    host.classify(ITEM)
    assert blocks.calls == host.max_stuck + 1  # called again once its calls returned


class FailsAtStartup:
    @hookimpl
    def monitor_startup(self, config: Config) -> None:
        raise ValueError("plugins.options.failsatstartup.names: expected a list")

    @hookimpl
    def monitor_classify(self, item: Item) -> Classification:
        raise AssertionError("never called once startup failed")


def test_startup_failure_marks_the_plugin_failed_and_stops_calling_it() -> None:
    host = host_with(FailsAtStartup(), Good())
    host.startup()
    info = host.infos["failsatstartup"]
    assert info.status == "failed"
    assert info.error == (
        "monitor_startup raised ValueError: plugins.options.failsatstartup.names: expected a list"
    )
    assert host.classify(ITEM).plugin == "good"  # type: ignore[union-attr]


def test_enriched_meta_is_read_only() -> None:
    item = host_with(Enricher()).enrich(ITEM)
    with pytest.raises(TypeError):
        item.meta["seen"] = False  # type: ignore[index]


class Strong:
    @hookimpl
    def monitor_classify(self, item: Item) -> Classification:
        return Classification(relevant=True, score=0.95, actors=("Choe Son Hui",), plugin="strong")


class Descriptive:
    @hookimpl
    def monitor_classify(self, item: Item) -> Classification:
        return Classification(
            relevant=True,
            score=0.7,
            types={"summit": 0.7},
            primary="summit",
            direction="ru_to_kp",
            status="reported",
            language="fr",
            plugin="descriptive",
        )


def test_descriptive_fields_come_from_the_strongest_result_that_has_them() -> None:
    result = host_with(Strong(), Descriptive()).classify(ITEM)
    assert result is not None and result.score == 0.95
    assert result.primary == "summit" and result.direction == "ru_to_kp"
    assert result.status == "reported" and result.language == "fr"
    assert result.actors == ("Choe Son Hui",) and result.plugin == "descriptive+strong"


def test_disable_and_weights_through_a_config_file(tmp_path: Path) -> None:
    path = tmp_path / "monitor.toml"
    path.write_text(
        """
[classifier]
combine = "weighted_mean"
weights = { strong = 1.0, descriptive = 3.0 }
relevance_threshold = 0.75

[plugins]
disabled = ["good"]
""",
        encoding="utf-8",
    )
    config = load_config(path)
    host = PluginHost(config)
    for plugin in (Strong(), Descriptive(), Good()):
        host.register(plugin, type(plugin).__name__.lower(), "test")
    assert host.infos["good"].status == "disabled"
    result = host.classify(ITEM)
    assert result is not None
    assert result.score == pytest.approx((0.95 * 1 + 0.7 * 3) / 4)
    assert result.types["summit"] == pytest.approx(0.7 * 3 / 4)
    assert result.relevant  # 0.7625 >= 0.75
    path.write_text(
        '[classifier]\ncombine = "mean"\nrequired = ["descriptive", "absent"]\n',
        encoding="utf-8",
    )
    host.config = load_config(path)
    result = host.classify(ITEM)
    assert result is not None and result.score == pytest.approx(0.825)
    assert not result.relevant  # "absent" gave no answer


def test_weight_zero_silences_a_classifier() -> None:
    settings = ClassifierConfig(combine="weighted_mean", weights={"strong": 0.0})
    a = Classification(relevant=True, score=0.95, plugin="strong")
    b = Classification(relevant=False, score=0.2, plugin="weak")
    result = combine([a, b], settings)
    assert result is not None and result.score == pytest.approx(0.2) and not result.relevant


class Kinds:
    def __init__(self, *kinds: str) -> None:
        self.kinds = kinds

    @hookimpl
    def monitor_notifier_kinds(self) -> dict[str, object]:
        return {kind: object for kind in self.kinds}


class NotAMapping:
    @hookimpl
    def monitor_notifier_kinds(self) -> list[str]:
        return ["teams"]


def test_notifier_kinds_merge_and_a_clash_names_both_plugins() -> None:
    host = PluginHost()
    host.register(Kinds("teams"), "one", "test")
    host.register(Kinds("matrix"), "two", "test")
    host.register(NotAMapping(), "bad", "test")
    assert set(host.notifier_kinds()) == {"teams", "matrix"}
    assert host.errors["bad"] == 1
    host.register(Kinds("teams"), "three", "test")
    with pytest.raises(PluginError, match="kind 'teams' is also defined by 'three'"):
        host.notifier_kinds()
