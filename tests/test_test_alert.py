"""`monitor test-alert NAME`: a sample alert through one notifier, and its answer."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.testing.slackserver import SlackServer
from monitor.testing.smtpserver import SMTPServer

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def slack() -> Iterator[SlackServer]:
    with SlackServer() as server:
        yield server


def write_config(tmp_path: Path, slack: SlackServer, extra: str = "") -> Path:
    config = tmp_path / "monitor.toml"
    config.write_text(
        f"""
[store]
path = "{tmp_path / "monitor.db"}"

[notifiers.console]
kind = "console"

[notifiers.slack]
kind = "slack"
token = "{slack.token}"
channel = "{slack.channel}"
api_url = "{slack.api_url}"
{extra}
""",
        encoding="utf-8",
    )
    return config


def test_sends_a_sample_to_slack_and_prints_the_ts(tmp_path: Path, slack: SlackServer) -> None:
    config = write_config(tmp_path, slack)
    proc = subprocess.run(
        [sys.executable, "-m", "monitor", "test-alert", "slack", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
        env=dict(os.environ),
    )
    assert proc.returncode == 0, proc.stderr
    (message,) = slack.messages
    assert message.ts in proc.stdout and "test alert sent via slack" in proc.stdout
    assert "Vostochny" in message.text  # the sample story
    assert not (tmp_path / "monitor.db").exists()  # nothing stored: not an alert


@pytest.mark.parametrize(
    ("failure", "expected"),
    [
        ({"error": "channel_not_found"}, "failed (permanent): slack slack: channel_not_found"),
        ({"error": "invalid_auth"}, "failed (permanent): slack slack: invalid_auth"),
        ({"status": 429, "retry_after": 30}, "failed (temporary): slack slack: rate limited"),
        ({"status": 500}, "failed (temporary): slack slack: server error HTTP 500"),
    ],
)
def test_a_failing_service_prints_the_reason_and_exits_1(
    tmp_path: Path,
    slack: SlackServer,
    capsys: pytest.CaptureFixture[str],
    failure: dict[str, object],
    expected: str,
) -> None:
    slack.fail_next(**failure)  # type: ignore[arg-type]
    assert main(["test-alert", "slack", "-c", str(write_config(tmp_path, slack))]) == 1
    err = capsys.readouterr().err
    assert expected in err
    assert slack.token not in err


def test_unreachable_service_exits_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with SlackServer() as gone:
        config = write_config(tmp_path, gone)
    assert main(["test-alert", "slack", "-c", str(config)]) == 1
    assert "network error" in capsys.readouterr().err


def test_unknown_name_lists_the_configured_notifiers(
    tmp_path: Path, slack: SlackServer, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["test-alert", "teams", "-c", str(write_config(tmp_path, slack))]) == 1
    err = capsys.readouterr().err
    assert "no notifier named 'teams'; configured: console, slack" in err
    assert slack.requests == 0


def test_email_digest_and_kinds(
    tmp_path: Path, slack: SlackServer, capsys: pytest.CaptureFixture[str]
) -> None:
    with SMTPServer() as smtp:
        extra = f"""
[notifiers.email]
kind = "email"
host = "{smtp.host}"
port = {smtp.port}
security = "none"
sender = "monitor@example.org"
recipients = ["analysts@example.org"]
"""
        config = str(write_config(tmp_path, slack, extra))
        assert main(["test-alert", "email", "-c", config, "--digest"]) == 0
        out = capsys.readouterr().out
        (mail,) = smtp.messages
    assert "accepted for 1 recipient(s)" in out
    assert f"external id: {mail.message['Message-ID']}" in out
    assert "digest" in str(mail.message["Subject"])
    assert main(["test-alert", "slack", "-c", config, "--kind", "update"]) == 0
    assert slack.messages[0].payload["text"].startswith("Update")


def test_a_broken_neighbour_does_not_stop_the_test(
    tmp_path: Path, slack: SlackServer, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = '\n[notifiers.mail]\nkind = "email"\nhost = "smtp.example.org"\n'  # no sender
    config = str(write_config(tmp_path, slack, extra))
    assert main(["test-alert", "slack", "-c", config]) == 0
    assert main(["test-alert", "mail", "-c", config]) == 1
    assert "notifiers.mail.sender: required key is missing" in capsys.readouterr().err
