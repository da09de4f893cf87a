"""The plugin docs keep up with the code: every hook documented with its exact signature
and exercised by a test, every testing-kit fixture documented, every link valid."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

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
