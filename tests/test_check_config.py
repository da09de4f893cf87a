"""`monitor check-config` accepts exactly what the daemon will run, and says every
problem of a file in one pass."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

#: A plugin next to its config (no PYTHONPATH) that checks its options at start-up.
PICKY = """
from monitor.errors import ConfigError
from monitor.hookspecs import hookimpl


@hookimpl
def monitor_startup(config):
    score = config.plugins.options.get("picky", {}).get("score", 0.5)
    if not 0 <= score <= 1:
        problem = f"plugins.options.picky.score: expected 0..1, got {score}"
        raise ConfigError(config.source, [problem])


@hookimpl
def monitor_classify(item):
    return None
"""

BAD = """
[classifier]
required = ["ghost"]

[plugins]
modules = ["picky"]

[plugins.options.picky]
score = 2

[notifiers.slack]
kind = "slack"
webhook_url = "http://hooks.slack.example/services/T0/B0/XXXX"

[[routes]]
name = "analysts"
notifiers = ["slack"]

[[routes]]
name = "analysts"
notifiers = ["slack"]

[[feeds]]
name = "spaced"
url = "https://example.org/a feed.xml"

[[feeds]]
name = "yes"
url = "https://example.org/b.xml"
fulltext = "yes"
"""


def check(config: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    return subprocess.run(
        [sys.executable, "-m", "monitor", "check-config", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
        env=env,
    )


def test_every_problem_is_reported_in_one_pass(tmp_path: Path) -> None:
    (tmp_path / "picky.py").write_text(PICKY, encoding="utf-8")
    config = tmp_path / "monitor.toml"
    config.write_text(BAD, encoding="utf-8")
    proc = check(config)
    assert proc.returncode == 1, proc.stdout
    expected = [
        "routes[1].name: duplicate route name 'analysts' (also routes[0])",
        "feeds[0].url: expected an http:// or https:// URL, got 'https://example.org/a feed.xml'",
        "feeds[1].fulltext: Input should be a valid boolean",
        "plugins.options.picky.score: expected 0..1, got 2",
        "classifier.required[0]: no classifier plugin named 'ghost' is loaded",
        "notifiers.slack.webhook_url: expected an https:// incoming-webhook URL",
    ]
    missing = [line for line in expected if line not in proc.stderr]
    assert not missing, proc.stderr


def test_the_same_file_without_its_mistakes_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "picky.py").write_text(PICKY, encoding="utf-8")
    config = tmp_path / "monitor.toml"
    config.write_text(
        BAD.replace('required = ["ghost"]', 'required = ["picky"]')
        .replace("score = 2", "score = 0.7")
        .replace("http://hooks.slack.example", "https://hooks.slack.example")
        .replace('name = "analysts"\nnotifiers = ["slack"]\n\n[[routes]]\nname = "analysts"',
                 'name = "analysts"\nnotifiers = ["slack"]\n\n[[routes]]\nname = "desk"')
        .replace("a feed.xml", "a-feed.xml")
        .replace('fulltext = "yes"', "fulltext = true"),
        encoding="utf-8",
    )  # fmt: skip
    proc = check(config)
    assert proc.returncode == 0, proc.stderr
    assert "OK — 2 feed(s), 1 notifier(s), 2 route(s)" in proc.stdout


def test_a_required_name_that_is_not_loaded_stops_the_daemon_at_start(tmp_path: Path) -> None:
    config = tmp_path / "monitor.toml"
    config.write_text(
        f'[store]\npath = "{tmp_path / "m.db"}"\n[classifier]\nrequired = ["ghost"]\n',
        encoding="utf-8",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", "once", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert proc.returncode == 1
    assert "classifier.required[0]: no classifier plugin named 'ghost'" in proc.stderr
