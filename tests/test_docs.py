"""The plugin docs keep up with the code: every hook documented with its exact signature
and exercised by a test, every testing-kit fixture documented, every link valid."""

from __future__ import annotations

import ast
import inspect
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from monitor import hookspecs

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs" / "plugins"
HOOKS_MD = DOCS / "hooks.md"
HOOKS = sorted(
    name
    for name, fn in vars(hookspecs).items()
    if inspect.isfunction(fn) and hasattr(fn, "monitor_spec")
)


def signature_line(fn: object, name: str | None = None) -> str:
    """`def name(a: T, *, b: U = 1) -> R` from the function, annotations as written."""
    sig = inspect.signature(fn)  # type: ignore[arg-type]
    params = []
    star_done = False
    for p in sig.parameters.values():
        if p.kind is p.KEYWORD_ONLY and not star_done:
            params.append("*")
            star_done = True
        text = p.name
        if p.annotation is not p.empty:
            text += f": {p.annotation}"
        if p.default is not p.empty:
            text += f" = {p.default!r}" if p.annotation is not p.empty else f"={p.default!r}"
        params.append(text)
    returns = f" -> {sig.return_annotation}" if sig.return_annotation is not sig.empty else ""
    return f"def {name or fn.__name__}({', '.join(params)}){returns}"  # type: ignore[attr-defined]


def sections(text: str) -> dict[str, str]:
    """Markdown headings (any level) -> the text up to the next heading."""
    out: dict[str, str] = {}
    parts = re.split(r"^(#{1,6} .*)$", text, flags=re.M)
    for heading, body in zip(parts[1::2], parts[2::2], strict=True):
        out[heading.lstrip("#").strip()] = body
    return out


def test_the_contract_has_hooks() -> None:
    assert set(HOOKS) >= {
        "monitor_startup",
        "monitor_shutdown",
        "monitor_enrich",
        "monitor_classify",
        "monitor_notifier_kinds",
    }


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_has_a_section_with_its_signature(hook: str) -> None:
    doc = sections(HOOKS_MD.read_text(encoding="utf-8"))
    heading = f"`{hook}`"
    assert heading in doc, f"docs/plugins/hooks.md has no section headed {heading}"
    expected = signature_line(getattr(hookspecs, hook))
    assert expected in doc[heading], (
        f"the section {heading} of docs/plugins/hooks.md must show the signature\n    {expected}"
    )


def test_the_notifier_protocol_is_documented() -> None:
    text = HOOKS_MD.read_text(encoding="utf-8")
    doc = sections(text)
    assert "The Notifier protocol" in doc and "DeliveryError" in doc
    send = signature_line(hookspecs.Notifier.send)
    assert send in doc["The Notifier protocol"]
    assert "def close(self) -> None" in doc["The Notifier protocol"]
    for word in ("permanent=True", "retry_after"):
        assert word in doc["DeliveryError"]


def test_every_classification_field_is_documented() -> None:
    from dataclasses import fields

    from monitor.models import Classification

    table = sections(HOOKS_MD.read_text(encoding="utf-8"))["The Classification fields"]
    for f in fields(Classification):
        assert f"`{f.name}`" in table, f"Classification.{f.name} is not in hooks.md"


def hook_implementations_in_tests() -> dict[str, set[str]]:
    """Hook name -> test modules defining an implementation of it (a hookimpl)."""
    found: dict[str, set[str]] = {}
    for path in sorted((ROOT / "tests").glob("test_*.py")):
        if path.name == Path(__file__).name:
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name in HOOKS:
                decorators = [ast.unparse(d) for d in node.decorator_list]
                if any(d.startswith("hookimpl") for d in decorators):
                    found.setdefault(node.name, set()).add(path.name)
            elif isinstance(node, ast.Attribute) and node.attr in HOOKS:
                found.setdefault(node.attr, set()).add(path.name)
    return found


@pytest.mark.parametrize("hook", HOOKS)
def test_every_hook_is_exercised_by_a_test(hook: str) -> None:
    assert hook in hook_implementations_in_tests(), (
        f"no test in tests/ implements {hook} (a @hookimpl function of that name)"
    )


def test_every_fixture_of_the_kit_is_documented() -> None:
    source = (ROOT / "monitor" / "testing" / "fixtures.py").read_text(encoding="utf-8")
    fixtures = [
        node.name
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef)
        and any("fixture" in ast.unparse(d) for d in node.decorator_list)
    ]
    assert len(fixtures) >= 5
    testing = (DOCS / "testing.md").read_text(encoding="utf-8")
    missing = [f for f in fixtures if f"`{f}`" not in testing]
    assert not missing, f"docs/plugins/testing.md does not document {missing}"


@pytest.mark.parametrize("page", sorted(p.name for p in DOCS.glob("*.md")))
def test_links_and_referenced_files_exist(page: str) -> None:
    text = (DOCS / page).read_text(encoding="utf-8")
    for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", text):
        if "://" not in target:
            assert (DOCS / target).exists(), f"{page}: broken link {target}"
    for path in re.findall(r"`((?:examples|monitor|tests)/[\w./-]+)`", text):
        assert (ROOT / path).exists(), f"{page}: {path} does not exist"


# --- docs/configuration.md against the config models --------------------------------

CONFIGURATION_MD = ROOT / "docs" / "configuration.md"


def config_keys() -> dict[str, Any]:
    """Every key a config file may hold, dotted ("fetch.max_bytes", "feeds.url",
    "notifiers.kind", "languages"), with its pydantic field."""
    from typing import get_args

    from pydantic import BaseModel

    from monitor.config import Config

    keys: dict[str, Any] = {}
    for name, f in Config.model_fields.items():
        if name == "source":  # set by the loader, not read from the file
            continue
        model = next(
            (
                t
                for t in (f.annotation, *get_args(f.annotation))
                if isinstance(t, type) and issubclass(t, BaseModel)
            ),
            None,
        )
        if model is None:
            keys[name] = f
            continue
        for sub, sub_field in model.model_fields.items():
            keys[f"{name}.{sub}"] = sub_field
    return keys


def documented_config_keys() -> dict[str, str]:
    """Dotted key -> its table row, from the tables of configuration.md: a key cell
    names keys in backticks, dotted or under the section its heading names (`[fetch]`,
    `[[feeds]]`, `[notifiers.NAME]`; "Top level" has none)."""
    text = CONFIGURATION_MD.read_text(encoding="utf-8")
    found: dict[str, str] = {}
    for heading, body in sections(text).items():
        names = re.findall(r"`\[\[?([a-z_]+)", heading)
        section = names[0] if len(names) == 1 else None
        for row in re.findall(r"^\|(.+)\|\s*$", body, flags=re.M):
            first = re.split(r"(?<!\\)\|", row)[0]
            for key in re.findall(r"`([a-z_][a-z_.]*)`", first):
                if "." not in key and section is None and heading != "Top level":
                    raise AssertionError(f"configuration.md, {heading}: {key} needs a section")
                found[key if "." in key or section is None else f"{section}.{key}"] = row
    return found


def test_configuration_md_documents_every_key_and_no_other() -> None:
    keys, documented = set(config_keys()), set(documented_config_keys())
    assert not keys - documented, f"configuration.md does not document {sorted(keys - documented)}"
    assert not documented - keys, (
        f"configuration.md documents keys that do not exist: {sorted(documented - keys)}"
    )


def test_configuration_md_defaults_match_the_models() -> None:
    """Where it is cheap to compare: booleans, whole numbers and plain strings."""
    from pydantic_core import PydanticUndefined

    rows = documented_config_keys()
    for key, f in config_keys().items():
        default, row = f.default, rows.get(key, "")
        if default is PydanticUndefined or default is None or key in ("daemon.pid_file",):
            continue
        if isinstance(default, bool):
            assert str(default).lower() in row, f"{key}: default {default} not in {row!r}"
        elif isinstance(default, int) and "," not in row.split("|")[0]:
            assert str(default) in row, f"{key}: default {default} not in {row!r}"
        elif isinstance(default, str) and default:
            assert f'"{default}"' in row, f'{key}: default "{default}" not in {row!r}'


# --- docs/operations.md: exit codes and variables --------------------------------------

OPERATIONS_MD = ROOT / "docs" / "operations.md"


def exit_code_table() -> dict[int, list[str]]:
    """code -> the cells of its row in operations.md's exit code table."""
    body = sections(OPERATIONS_MD.read_text(encoding="utf-8"))["Exit codes"]
    rows = re.findall(r"^\| (\d+) \|(.*)\|\s*$", body, flags=re.M)
    return {int(code): [c.strip() for c in rest.split(" | ")] for code, rest in rows}


def test_every_exit_code_is_in_operations_md() -> None:
    from monitor.service.daemon import ExitCode

    assert sorted(exit_code_table()) == sorted(int(c) for c in ExitCode)


def _once(config: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "monitor", "once", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_monitor_once_exits_as_operations_md_says(tmp_path: Path) -> None:
    from monitor.config import load_config
    from monitor.service.lock import database_lock

    once = {code: cells[1] for code, cells in exit_code_table().items()}
    documented = {code for code, text in once.items() if text not in ("—", "-", "")}
    assert {0, 1, 69, 75} <= documented

    with socket.socket() as s:  # a port nobody listens on: the feed fails
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    config = tmp_path / "monitor.toml"
    config.write_text(
        f'[store]\npath = "{tmp_path / "m.db"}"\n\n[[feeds]]\nname = "down"\n'
        f'url = "http://127.0.0.1:{port}/feed.xml"\nfulltext = false\n',
        encoding="utf-8",
    )
    assert _once(config).returncode == 69, "every feed failed"
    lock = database_lock(load_config(config))
    assert lock is not None
    lock.acquire()
    try:
        assert _once(config).returncode == 75, "the database is in use"
    finally:
        lock.release()
    bad = tmp_path / "bad.toml"
    bad.write_text('[[feeds]]\nname = "x"\nurl = "not a url"\n', encoding="utf-8")
    assert _once(bad).returncode == 1, "invalid configuration"


_VARIABLE = re.compile(r"\$\{([A-Z_][A-Z0-9_]*)\}|\b((?:SLACK|SMTP)_[A-Z0-9_]+)=")


def env_vars(text: str) -> set[str]:
    """The environment variables a text names: `${NAME}`, or `SLACK_…=` / `SMTP_…=`."""
    return {a or b for a, b in _VARIABLE.findall(text)}


def test_operations_md_names_the_variables_of_the_example_config() -> None:
    example = env_vars((ROOT / "config" / "example-slack-email.toml").read_text(encoding="utf-8"))
    named = env_vars(OPERATIONS_MD.read_text(encoding="utf-8"))
    assert example == {"SLACK_BOT_TOKEN", "SMTP_PASSWORD"}
    assert named == example, f"operations.md names {sorted(named)}, the config {sorted(example)}"


def test_operations_md_says_once_takes_the_lock() -> None:
    text = " ".join(OPERATIONS_MD.read_text(encoding="utf-8").split())
    assert "`monitor once` and `monitor status` do not take the lock" not in text
    assert "`monitor once` takes the same lock" in text


def test_alerts_md_revives_dead_letters_with_the_command() -> None:
    text = (ROOT / "docs" / "alerts.md").read_text(encoding="utf-8")
    assert "monitor status --retry-dead" in text
    assert "python -c" not in text and "retry_dead_letters(" not in text


# --- README: make targets and layout ---------------------------------------------------

README = ROOT / "README.md"


def test_readme_make_commands_are_the_makefile() -> None:
    readme = README.read_text(encoding="utf-8")
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    targets = set(re.findall(r"^([a-z]+):", makefile, flags=re.M))
    named = set(re.findall(r"(?:^|`)make ([a-z]+)\b", readme, flags=re.M))
    assert {"run", "test"} <= named and named <= targets, (named, targets)
    test_recipe = makefile.split("\ntest:", 1)[1].split("\n\n", 1)[0]
    for tool in ("ruff check", "ruff format --check", "mypy", "pytest"):
        assert tool in test_recipe
    assert "ruff" in readme and "mypy --strict" in readme and "pytest" in readme
    default = re.search(r"^CONFIG \?= (\S+)", makefile, flags=re.M)
    assert default and "`make run`" in readme and default.group(1) in readme


def test_readme_layout_names_every_stage_folder() -> None:
    layout = README.read_text(encoding="utf-8").split("## Layout", 1)[1].split("## ", 1)[0]
    folders = sorted(p.name for p in (ROOT / "monitor").iterdir() if (p / "__init__.py").is_file())
    assert folders, "no package folders in monitor/"
    missing = [f for f in folders if not re.search(rf"^\s+{f}/", layout, flags=re.M)]
    assert not missing, f"README.md's layout does not show monitor/{missing}"
    for top in ("plugins", "config", "seeds", "examples", "docs"):
        assert re.search(rf"^{top}/", layout, flags=re.M), top


# --- every import path the docs name exists ----------------------------------------------

DOC_PAGES = sorted(
    p
    for p in [README, *(ROOT / "docs").rglob("*.md"), *(ROOT / "examples").rglob("*.md")]
    if p.name not in ("classifier.md", "performance.md")
)
#: monitor.toml, monitor.db.lock ...: file names, not modules
NOT_MODULES = {"toml", "db", "pid", "env", "lock"}


def dotted_names(text: str) -> set[str]:
    names = set(re.findall(r"\bmonitor(?:\.[A-Za-z_]\w*)+", text))
    return {n for n in names if n.split(".")[1] not in NOT_MODULES}


@pytest.mark.parametrize("page", DOC_PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_dotted_monitor_name_in_the_docs_resolves(page: Path) -> None:
    import importlib

    for name in sorted(dotted_names(page.read_text(encoding="utf-8"))):
        parts = name.split(".")
        for cut in range(len(parts), 0, -1):
            try:
                obj: Any = importlib.import_module(".".join(parts[:cut]))
            except ImportError:
                continue
            for attr in parts[cut:]:
                assert hasattr(obj, attr), f"{page.name}: {name} does not exist"
                obj = getattr(obj, attr)
            break
