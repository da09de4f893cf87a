"""`monitor plugins new` writes packages that install, register and pass their own tests."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.cli import main
from monitor.scaffold import ScaffoldError, create, normalise
from monitor.testing.install import environment, install


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One classifier and one notifier package, written by the command, installed."""
    where = tmp_path_factory.mktemp("new")
    assert main(["plugins", "new", "acme", "--kind", "classifier", "--dir", str(where)]) == 0
    assert main(["plugins", "new", "Team-Hook", "--kind", "notifier", "--dir", str(where)]) == 0
    site = install(tmp_path_factory.mktemp("site"), *sorted(where.iterdir()))
    return where, site


def run(args: list[str], site: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
        env=environment(site),
    )


def test_layout(generated: tuple[Path, Path]) -> None:
    where, _ = generated
    files = sorted(str(p.relative_to(where)) for p in where.rglob("*") if p.is_file())
    assert files == [
        "monitor-acme/README.md",
        "monitor-acme/monitor_acme.py",
        "monitor-acme/pyproject.toml",
        "monitor-acme/tests/test_acme.py",
        "monitor-team-hook/README.md",
        "monitor-team-hook/monitor_team_hook.py",
        "monitor-team-hook/pyproject.toml",
        "monitor-team-hook/tests/test_team_hook.py",
    ]
    pyproject = (where / "monitor-acme" / "pyproject.toml").read_text(encoding="utf-8")
    assert '[project.entry-points."monitor.plugins"]\nacme = "monitor_acme"' in pyproject


@pytest.mark.parametrize("package", ["monitor-acme", "monitor-team-hook"])
def test_generated_tests_pass_and_are_lint_clean(
    package: str, generated: tuple[Path, Path], tmp_path: Path
) -> None:
    where, site = generated
    tests = where / package / "tests"
    proc = run(["-m", "pytest", "-q", "-p", "no:cacheprovider", str(tests)], site, tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    lint = run(["-m", "ruff", "check", "--no-cache", str(where / package)], site, tmp_path)
    assert lint.returncode == 0, lint.stdout + lint.stderr


def test_installed_packages_are_listed(generated: tuple[Path, Path], tmp_path: Path) -> None:
    _, site = generated
    proc = run(["-m", "monitor", "plugins", "--json"], site, tmp_path)
    infos = {i["name"]: i for i in json.loads(proc.stdout)}
    assert infos["acme"]["origin"] == "entry point" and infos["acme"]["status"] == "loaded"
    assert infos["acme"]["hooks"] == ["monitor_classify", "monitor_shutdown", "monitor_startup"]
    assert infos["team_hook"]["hooks"] == ["monitor_notifier_kinds"]


def test_refuses_bad_names_kinds_and_existing_directories(tmp_path: Path) -> None:
    assert normalise("monitor-Acme-Watch") == "acme_watch"
    with pytest.raises(ScaffoldError, match="invalid plugin name"):
        create("9lives", "classifier", tmp_path)
    with pytest.raises(ScaffoldError, match="unknown kind"):
        create("ok", "enricher", tmp_path)
    create("twice", "classifier", tmp_path)
    with pytest.raises(ScaffoldError, match="already exists"):
        create("twice", "classifier", tmp_path)


def test_plugins_command_still_lists(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["plugins", "--json"]) == 0
    names = [i["name"] for i in json.loads(capsys.readouterr().out)]
    assert "console" in names
    assert main(["plugins"]) == 0
    assert capsys.readouterr().out.startswith("NAME")


@pytest.mark.parametrize("name", ["rudprk", "Monitor-Email", "console"])
def test_refuses_the_name_of_a_built_in(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plugins", "new", name, "--dir", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert "is the name of a built-in plugin" in err and "choose another name" in err
    assert list(tmp_path.iterdir()) == []
    with pytest.raises(ScaffoldError, match="built-in"):
        create(name, "notifier", tmp_path)


NOISY = """
from monitor.errors import ConfigError
from monitor.hookspecs import hookimpl


@hookimpl
def monitor_startup(config):
    raise ConfigError(config.source, ["plugins.options.noisy.a: " + "x" * 90, "b: worse"])
"""


def test_status_column_is_one_short_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A multi-line reason, and pluggy's whole registry for a module registered twice,
    stay out of the table; `--json` keeps them."""
    from monitor.cli.plugins import STATUS_WIDTH

    monkeypatch.chdir(tmp_path)
    (tmp_path / "noisy.py").write_text(NOISY, encoding="utf-8")
    config = tmp_path / "monitor.toml"
    config.write_text(
        '[plugins]\nmodules = ["noisy", "monitor.plugins.console"]\n', encoding="utf-8"
    )
    assert main(["plugins", "-c", str(config)]) == 0
    lines = capsys.readouterr().out.splitlines()
    header = lines[0]
    start, end = header.index("STATUS"), header.index("HOOKS")
    rows = {line.split()[0]: line for line in lines[1:] if line.strip()}
    for name in ("noisy", "monitor.plugins.console"):
        status = rows[name][start:end].strip()
        assert status.startswith("failed: ") and status.endswith("…"), status
        assert len(status) <= STATUS_WIDTH
    assert "<module" not in "\n".join(lines) and "{" not in "\n".join(lines)
    assert "monitor plugins --json" in lines[-1]

    assert main(["plugins", "-c", str(config), "--json"]) == 0
    infos = {i["name"]: i for i in json.loads(capsys.readouterr().out)}
    assert "\n" in infos["noisy"]["error"] and "x" * 90 in infos["noisy"]["error"]
