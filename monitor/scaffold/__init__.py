"""`monitor plugins new`: write a ready plugin package from the templates beside this file.

monitor-NAME/
    pyproject.toml          the `monitor.plugins` entry point NAME -> monitor_NAME
    README.md               install, configure, test
    monitor_NAME.py         the hook implementations, documented
    tests/test_NAME.py      tests using monitor's testing kit; they pass as written
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from string import Template

import monitor
from monitor.errors import MonitorError

KINDS = ("classifier", "notifier")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")

_DESCRIPTIONS = {
    "classifier": "A monitor classifier that flags items mentioning configured keywords.",
    "notifier": "A monitor notifier that POSTs alerts as JSON to a URL.",
}
_CONFIGURE = {
    "classifier": """In monitor's config file:

```toml
[plugins.options.$name]
keywords = ["Rason", "Khasan"]   # whole words, any case
type = "economic"                 # the contact type of a match
score = 0.7                       # 0..1
```

Then `monitor classify article.txt` or `monitor eval seeds/` shows its effect.""",
    "notifier": """In monitor's config file:

```toml
[notifiers.team]
kind = "$name"
url = "$${TEAM_WEBHOOK_URL}"

[[routes]]
name = "everything"
notifiers = ["team"]
```

Then `monitor check-config` validates the options.""",
}


class ScaffoldError(MonitorError):
    """The plugin package cannot be written."""


def normalise(name: str) -> str:
    """The plugin name from what the user typed: "Acme-Watch" and "monitor-acme-watch"
    both give "acme_watch"."""
    plugin = name.strip().lower().replace("-", "_").replace(" ", "_")
    plugin = plugin.removeprefix("monitor_")
    if not _NAME.match(plugin):
        raise ScaffoldError(
            f"invalid plugin name {name!r}: use letters, digits, - or _, starting with a letter"
        )
    return plugin


def refuse_builtin(plugin: str) -> None:
    """ScaffoldError when `plugin` is the name of a built-in plugin: monitor loads the
    built-ins first and refuses a second plugin of the same name."""
    from monitor.host.loader import BUILTINS

    if plugin in BUILTINS:
        raise ScaffoldError(
            f"{plugin!r} is the name of a built-in plugin, and monitor refuses a plugin whose "
            f"name is taken; choose another name (built-ins: {', '.join(sorted(BUILTINS))})"
        )


def create(name: str, kind: str, directory: str | Path = ".") -> Path:
    """Write the package of plugin `name` of `kind` under `directory`; its path."""
    if kind not in KINDS:
        raise ScaffoldError(f"unknown kind {kind!r}; expected one of {list(KINDS)}")
    plugin = normalise(name)
    refuse_builtin(plugin)
    module = f"monitor_{plugin}"
    target = Path(directory) / f"monitor-{plugin.replace('_', '-')}"
    if target.exists() and any(target.iterdir()):
        raise ScaffoldError(f"{target} already exists and is not empty")
    values = {
        "name": plugin,
        "module": module,
        "project": target.name,
        "classname": "".join(p.capitalize() for p in plugin.split("_")) + "Notifier",
        "description": _DESCRIPTIONS[kind],
        "monitor_version": _minor(monitor.__version__),
        "dollar": "$",
    }
    values["configure"] = Template(_CONFIGURE[kind]).substitute(values)
    files = {
        "pyproject.toml": "pyproject.toml.tmpl",
        "README.md": "README.md.tmpl",
        f"{module}.py": f"{kind}.py.tmpl",
        f"tests/test_{plugin}.py": f"test_{kind}.py.tmpl",
    }
    templates = resources.files("monitor.scaffold") / "templates"
    for relative, template in files.items():
        text = Template(templates.joinpath(template).read_text(encoding="utf-8"))
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text.substitute(values), encoding="utf-8")
    return target


def _minor(version: str) -> str:
    """ "0.1.0" -> "0.1": the generated package accepts later patch and minor releases."""
    return ".".join(version.split(".")[:2])
