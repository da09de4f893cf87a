"""docs/plugins/tutorial.md, followed word for word in a fresh directory.

The tutorial's blocks are run in order as one shell script: ```sh blocks as they are,
```python file=PATH / ```toml file=PATH blocks written to PATH (the first block of a
file replaces it, the next ones are added to its end, as the text says). A ```text
block right after a shell block is what that block prints: each of its lines (but
"...") must appear in the output. The "activated virtual environment" the tutorial
assumes is a throwaway venv layered over the project's (so `pip install -e` goes there
and nowhere else) with `monitor` and `pytest` on its PATH; HOME is a fresh directory,
so `~/src` is too. The only liberties taken: the web server's port 8000 becomes a free
one, and the script waits for the server to listen before going on.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

import pytest

from monitor.testing.install import _build_backend

ROOT = Path(__file__).resolve().parent.parent
TUTORIAL = ROOT / "docs" / "plugins" / "tutorial.md"
EXAMPLE = ROOT / "examples" / "monitor-watchlist"
FENCE = re.compile(r"^```([\w-]*)[ \t]*([^\n]*)\n(.*?)^```[ \t]*$", re.M | re.S)
MARK = "@@tutorial block {}@@"


@dataclass(frozen=True)
class Block:
    lang: str
    file: str | None
    text: str
    start: int
    end: int


def blocks(markdown: str) -> list[Block]:
    found = []
    for m in FENCE.finditer(markdown):
        info = dict(re.findall(r"(\w+)=(\S+)", m.group(2)))
        found.append(Block(m.group(1), info.get("file"), m.group(3), m.start(), m.end()))
    return found


def file_contents(found: list[Block]) -> dict[str, str]:
    """What the file blocks make of each file: its blocks, two blank lines apart."""
    parts: dict[str, list[str]] = {}
    for b in found:
        if b.file:
            parts.setdefault(b.file, []).append(b.text.rstrip("\n"))
    return {path: "\n\n\n".join(texts) + "\n" for path, texts in parts.items()}


def expected_outputs(markdown: str, found: list[Block]) -> dict[int, list[str]]:
    """Shell block index -> the lines of the ```text block right after it."""
    out: dict[int, list[str]] = {}
    for i, (b, after) in enumerate(pairwise(found)):
        if b.lang == "sh" and after.lang == "text" and not markdown[b.end : after.start].strip():
            lines = [" ".join(line.split()) for line in after.text.splitlines()]
            out[i] = [line for line in lines if line and line != "..."]
    return out


def script(found: list[Block], port: int) -> str:
    """The tutorial as one bash script, a marker echoed before each shell block."""
    lines = [
        "set -euo pipefail",
        "trap 'kill $(jobs -p) 2>/dev/null || true' EXIT",
    ]
    written: set[str] = set()
    for i, b in enumerate(found):
        text = b.text.replace("8000", str(port))
        if b.file:
            append = b.file in written
            written.add(b.file)
            lines.append(f'mkdir -p "$(dirname {b.file})"')
            if append:
                lines.append(f"printf '\\n\\n' >> {b.file}")
            lines.append(f"cat {'>>' if append else '>'} {b.file} <<'TUTORIAL_EOF'")
            lines.append(text.rstrip("\n"))
            lines.append("TUTORIAL_EOF")
        elif b.lang == "sh":
            lines.append(f"echo '{MARK.format(i)}'")
            for line in text.splitlines():
                lines.append(line)
                if line.rstrip().endswith("&"):  # a server started: wait until it listens
                    lines.append(
                        "for _ in $(seq 100); do (exec 3<>/dev/tcp/127.0.0.1/"
                        f"{port}) 2>/dev/null && break; sleep 0.1; done"
                    )
    return "\n".join(lines) + "\n"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def activated_venv(path: Path) -> dict[str, str]:
    """A venv that sees the project's packages, with `pip`, `monitor` and `pytest` on
    PATH as after `. .venv/bin/activate`; `pip install` adds no dependencies and reuses
    one build backend (what a real install would download)."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(path)], check=True)
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    site_packages = path / "lib" / version / "site-packages"
    parent = sysconfig.get_paths()["purelib"]
    (site_packages / "_project_venv.pth").write_text(
        f"import site; site.addsitedir({parent!r})\n", encoding="utf-8"
    )
    python = path / "bin" / "python"
    scripts = {
        "monitor": "from monitor.cli import main\nsys.exit(main())",
        "pytest": "import pytest\nsys.exit(pytest.main())",
    }
    for name, body in scripts.items():
        (path / "bin" / name).write_text(f"#!{python}\nimport sys\n{body}\n", encoding="utf-8")
    backend = _build_backend()
    options = "--no-deps" + (" --no-build-isolation" if backend else "")
    pythonpath = f"PYTHONPATH={backend} " if backend else ""
    (path / "bin" / "pip").write_text(
        "#!/bin/bash\n"
        f'if [ "$1" = install ]; then exec env {pythonpath}"{python}" -m pip "$@" {options}; fi\n'
        f'exec "{python}" -m pip "$@"\n',
        encoding="utf-8",
    )
    for name in (*scripts, "pip"):
        (path / "bin" / name).chmod(0o755)
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("MONITOR_", "PYTHON", "PIP_", "VIRTUAL_ENV"))
    }
    return {
        **env,
        "PATH": f"{path / 'bin'}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}",
        "VIRTUAL_ENV": str(path),
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "PIP_NO_CACHE_DIR": "1",
    }


MARKDOWN = TUTORIAL.read_text(encoding="utf-8")
BLOCKS = blocks(MARKDOWN)


def test_the_tutorial_builds_the_finished_example() -> None:
    """What steps 2-4 write is, file for file, `examples/monitor-watchlist`."""
    files = file_contents(BLOCKS)
    module = "~/src/monitor-watchlist/monitor_watchlist.py"
    tests = "~/src/monitor-watchlist/tests/test_watchlist.py"
    assert files[module] == (EXAMPLE / "monitor_watchlist.py").read_text(encoding="utf-8")
    assert files[tests] == (EXAMPLE / "tests" / "test_watchlist.py").read_text(encoding="utf-8")


def test_the_shell_steps_need_nothing_the_text_does_not_say() -> None:
    shell = "\n".join(b.text for b in BLOCKS if b.lang == "sh")
    assert "PYTHONPATH" not in shell and "alias " not in shell
    assert "--dir examples" not in shell  # the finished example lives there
    # every block is a command, a file, or shown output / an excerpt
    assert {b.lang for b in BLOCKS} <= {"sh", "text", "toml", "python"}
    assert all(b.file for b in BLOCKS if b.lang == "python")


@pytest.mark.slow
def test_followed_word_for_word_it_ends_in_an_installed_plugin_whose_tests_pass(
    tmp_path: Path,
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    env = {**activated_venv(tmp_path / "venv"), "HOME": str(home)}
    port = free_port()
    proc = subprocess.run(
        ["bash", "-c", script(BLOCKS, port)],
        cwd=ROOT,  # "commands run from the checkout's root"
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert sum(b.lang == "sh" for b in BLOCKS) >= 6
    log = f"--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"
    assert proc.returncode == 0, log

    outputs: dict[int, str] = {}
    for part in re.split(r"^@@tutorial block (\d+)@@$", proc.stdout, flags=re.M)[1:]:
        if part.isdigit():
            index = int(part)
        else:
            outputs[index] = " ".join(part.split())
    for index, lines in expected_outputs(MARKDOWN, BLOCKS).items():
        for line in lines:
            assert line in outputs[index], f"block {index}: {line!r} not printed\n{log}"

    plugin = home / "src" / "monitor-watchlist"
    pyproject = (plugin / "pyproject.toml").read_text(encoding="utf-8")
    excerpts = [b.text for b in BLOCKS if b.lang == "toml" and not b.file]
    assert excerpts and all(e in pyproject for e in excerpts)  # step 1's entry point
    assert "failed" not in outputs[_index_of("pytest")]
    assert "Kim Yo Jong" in outputs[_index_of("monitor once")]  # the alert of step 7
    assert (home / "src" / "feed" / "monitor.db").exists()


def _index_of(command: str) -> int:
    return next(i for i, b in enumerate(BLOCKS) if b.lang == "sh" and command in b.text)
