"""The example plugins install like a user's would, pass their own tests and change what
monitor does. One pip install (of both examples, without dependencies) per session."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.testing.install import environment, install

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
PACKAGES = {"watchlist": "monitor-watchlist", "teams": "monitor-teams"}


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return install(tmp_path_factory.mktemp("site"), *(EXAMPLES / p for p in PACKAGES.values()))


def run(
    args: list[str], site: Path, cwd: Path, stdin: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=environment(site, **env),
    )


@pytest.mark.parametrize("plugin", sorted(PACKAGES))
def test_example_tests_pass(plugin: str, site: Path, tmp_path: Path) -> None:
    tests = EXAMPLES / PACKAGES[plugin] / "tests"
    # run from elsewhere so that the installed module is the one under test
    proc = run(["-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)], site, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert " passed" in proc.stdout and "failed" not in proc.stdout


def test_monitor_plugins_lists_the_installed_examples(site: Path, tmp_path: Path) -> None:
    proc = run(["-m", "monitor", "plugins", "--json"], site, tmp_path)
    assert proc.returncode == 0, proc.stderr
    infos = {i["name"]: i for i in json.loads(proc.stdout)}
    assert infos["watchlist"] == {
        "name": "watchlist",
        "origin": "entry point",
        "version": "0.1.0",
        "hooks": ["monitor_classify", "monitor_shutdown", "monitor_startup"],
        "status": "loaded",
        "error": None,
    }
    assert infos["teams"]["hooks"] == ["monitor_notifier_kinds"]
    table = run(["-m", "monitor", "plugins"], site, tmp_path)
    assert "watchlist" in table.stdout and "entry point" in table.stdout


def test_watchlist_changes_what_classify_prints(site: Path, tmp_path: Path) -> None:
    config = tmp_path / "monitor.toml"
    config.write_text(
        '[plugins.options.watchlist]\nnames = ["Jane Analyst"]\nscore = 0.9\n', encoding="utf-8"
    )
    line = json.dumps({"id": "n1", "text": "Jane Analyst met the committee on Tuesday."})
    args = ["-m", "monitor", "classify", "-c", str(config), "-"]
    without = run(args, site, tmp_path, line, MONITOR_DISABLE_PLUGINS="watchlist")
    with_it = run(args, site, tmp_path, line)
    assert without.returncode == 0 and with_it.returncode == 0, without.stderr + with_it.stderr
    before, after = json.loads(without.stdout), json.loads(with_it.stdout)
    assert before["relevant"] is False and "Jane Analyst" not in before["actors"]
    assert after["relevant"] is True and after["actors"] == ["Jane Analyst"]
    assert after["score"] == pytest.approx(0.9)


def test_bad_watchlist_options_show_in_monitor_plugins(site: Path, tmp_path: Path) -> None:
    config = tmp_path / "monitor.toml"
    config.write_text("[plugins.options.watchlist]\nscore = 2\n", encoding="utf-8")
    listed = run(["-m", "monitor", "plugins", "-c", str(config), "--json"], site, tmp_path)
    assert listed.returncode == 0, listed.stderr
    info = next(i for i in json.loads(listed.stdout) if i["name"] == "watchlist")
    assert info["status"] == "failed" and "plugins.options.watchlist.score" in info["error"]
    table = run(["-m", "monitor", "plugins", "-c", str(config)], site, tmp_path)
    assert "failed: monitor_startup raised ConfigError" in table.stdout
