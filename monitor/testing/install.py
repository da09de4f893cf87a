"""Install plugin packages into a throwaway directory and run monitor with them.

What a user does with `pip install -e .`, done the quick way for tests: the packages
(without their dependencies: monitor is already there) go into `target`, and
`environment(target)` puts it on PYTHONPATH, so `monitor plugins` finds their
`monitor.plugins` entry points in a subprocess. Nothing is written to the packages'
own directories: they are copied first (pip builds in place).

    target = install(tmp_path / "site", Path("examples/monitor-watchlist"))
    subprocess.run([sys.executable, "-m", "monitor", "plugins"], env=environment(target))
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

_IGNORE = shutil.ignore_patterns("build", "dist", "*.egg-info", "__pycache__", ".pytest_cache")


def install(target: str | os.PathLike[str], *packages: str | os.PathLike[str]) -> Path:
    """pip-install `packages` (source directories) into `target`; returns `target`."""
    target = Path(target)
    target.mkdir(parents=True, exist_ok=True)
    sources = Path(tempfile.mkdtemp(prefix="monitor-src-"))
    try:
        copies = []
        for package in packages:
            copy = sources / Path(package).resolve().name
            shutil.copytree(package, copy, ignore=_IGNORE)
            copies.append(str(copy))
        command = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps"]
        command += ["--target", str(target), *copies]
        env = {**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"}
        backend = _build_backend()
        if backend is not None:  # reuse one build backend instead of one per package
            command.insert(4, "--no-build-isolation")
            env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(backend), _pythonpath()]))
        proc = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
        if proc.returncode != 0:
            raise RuntimeError(f"pip install failed:\n{proc.stdout}\n{proc.stderr}")
    finally:
        shutil.rmtree(sources, ignore_errors=True)
    return target


def environment(target: str | os.PathLike[str], **extra: str) -> dict[str, str]:
    """os.environ with `target` first on PYTHONPATH (plus `extra` variables)."""
    path = os.pathsep.join(filter(None, [str(Path(target).resolve()), _pythonpath()]))
    return {**os.environ, "PYTHONPATH": path, "PYTHONDONTWRITEBYTECODE": "1", **extra}


def _pythonpath() -> str:
    return os.environ.get("PYTHONPATH", "")


@functools.cache
def _build_backend() -> Path | None:
    """A directory holding setuptools and wheel, installed once per process; None when
    that fails (pip then builds each package in its own isolated environment)."""
    directory = Path(tempfile.mkdtemp(prefix="monitor-build-"))
    atexit.register(shutil.rmtree, directory, ignore_errors=True)
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--target", str(directory)]
    proc = subprocess.run(
        [*command, "setuptools>=64", "wheel"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"},
    )
    return directory if proc.returncode == 0 else None
