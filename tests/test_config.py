"""Configuration: every problem reported at once, word for word, secrets masked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from monitor.config import Config, NotifierConfig, load_config, parse_duration
from monitor.errors import ConfigError

ROOT = Path(__file__).resolve().parent.parent


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "monitor.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_default_configs_are_valid() -> None:
    config = load_config(ROOT / "config" / "monitor.toml")
    assert len(config.feeds) >= 10
    assert {f.language for f in config.feeds} >= {"en", "fr", "ru", "ko", "ja", "zh", "de"}
    assert config.notifiers["console"].kind == "console"
    example = load_config(
        ROOT / "config" / "example-slack-email.toml",
        env={"SLACK_BOT_TOKEN": "xoxb-1", "SMTP_PASSWORD": "pw"},
    )
    assert {n.kind for n in example.notifiers.values()} == {"console", "slack", "email"}


def test_three_mistakes_reported_together_with_key_paths(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[[feeds]]
name = "a"
url = "https://example.org/a.xml"

[[feeds]]
name = "b"
url = "https://example.org/b.xml"

[[feeds]]
name = "c"
url = "https://example.org/c.xml"

[[feeds]]
name = "d"
url = "ftp://example.org/d.xml"
interval = "soon"

[[routes]]
name = "r"
notifiers = ["slack"]
""",
    )
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.problems == [
        "routes[0].notifiers[0]: no notifier named 'slack'; expected one of ['console']",
        "feeds[3].url: expected an http:// or https:// URL, got 'ftp://example.org/d.xml'",
        'feeds[3].interval: expected a duration like 900, "15m" or "1h", got \'soon\'',
    ]
    assert str(err.value).startswith(f"{path}: 3 problem(s)\n")


def test_unknown_and_missing_keys(tmp_path: Path) -> None:
    path = write(tmp_path, '[[feeds]]\nname = "a"\nintervall = 5\n')
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.problems == [
        "feeds[0].url: required key is missing",
        "feeds[0].intervall: unknown key",
    ]


def test_invalid_toml_names_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "[feeds\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert str(path) in str(err.value)
    assert "invalid TOML" in err.value.problems[0]


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "nope.toml")
    assert err.value.problems == ["file not found"]


def test_environment_substitution_and_masking(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[notifiers.hook]
kind = "webhook"
url = "${HOOK_URL}"
secret = "${HOOK_SECRET}"
""",
    )
    config = load_config(
        path, env={"HOOK_URL": "https://hooks.example.org/T1/B2", "HOOK_SECRET": "s3cr3t"}
    )
    options = config.notifiers["hook"].options
    assert options["url"] == "https://hooks.example.org/T1/B2"
    shown = repr(config)
    assert "s3cr3t" not in shown and "hooks.example.org/T1" not in shown
    with pytest.raises(ConfigError) as err:
        load_config(path, env={"HOOK_URL": "https://x"})
    assert err.value.problems == [
        "notifiers.hook.secret: environment variable HOOK_SECRET is not set"
    ]


def test_notifier_repr_masks_secret_looking_keys() -> None:
    n = NotifierConfig.model_validate({"kind": "slack", "token": "xoxb-secret", "channel": "#x"})
    assert "xoxb-secret" not in repr(n)
    assert "#x" in repr(n)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        (900, 900.0),
        ("900", 900.0),
        ("15m", 900.0),
        ("1h", 3600.0),
        ("1.5d", 129600.0),
        ("250ms", 0.25),
    ],
)
def test_durations(value: object, seconds: float) -> None:
    assert parse_duration(value) == seconds


def test_digest_route_needs_schedule_and_zone(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[[routes]]
name = "d"
notifiers = ["console"]
mode = "digest"
timezone = "Mars/Olympus"
""",
    )
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert err.value.problems == [
        "routes[0].timezone: expected an IANA time zone like \"Europe/Paris\", got 'Mars/Olympus'",
    ]


def test_default_route_goes_to_every_notifier() -> None:
    routes = Config().effective_routes()
    assert [(r.name, r.notifiers, r.mode) for r in routes] == [
        ("default", ["console"], "immediate")
    ]


def test_check_config_cli_reports_all_and_exits_1(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        """
[fetch]
max_redirects = 100

[[feeds]]
name = "a"
url = "https://example.org/a.xml"
interval = 0

[notifiers.mail]
kind = "pigeon"
""",
    )
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", "check-config", "-c", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "fetch.max_redirects: Input should be less than or equal to 20, got 100" in proc.stderr
    assert "feeds[0].interval: expected an interval of at least 1 second, got 0.0" in proc.stderr
    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "monitor",
            "check-config",
            "-c",
            str(ROOT / "config" / "monitor.toml"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0, ok.stderr
    assert "OK" in ok.stdout
