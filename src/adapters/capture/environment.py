"""Where an execution ran: host, platform, user, Python and installed package versions."""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import os
import platform
import sys
from pathlib import Path

from ...domain.record import Environment


def _path_key() -> str:
    """Changes whenever a package is installed or removed (the path entries' mtimes).

    The working directory is left out, however it is on the path (`''`, `.`, PYTHONPATH=.):
    every run writes its record there, so its mtime changes each time, and the ~80 ms package
    scan would run on every `provledger run` instead of once."""
    cwd = os.getcwd()
    parts = [sys.prefix, sys.version, *sys.path[1:]]
    for entry in sys.path[1:]:  # [0] is the script's or current directory
        with contextlib.suppress(OSError):
            if entry in ("", ".") or os.path.samefile(entry, cwd):
                continue
            parts.append(f"{entry}:{os.stat(entry).st_mtime_ns}")
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:24]


def installed_packages(cache_dir: Path | None = None) -> dict[str, str]:
    """name -> version of every installed distribution, cached per state of sys.path."""
    cache = cache_dir / f"packages-{_path_key()}.json" if cache_dir else None
    if cache is not None:
        with contextlib.suppress(OSError, ValueError):
            cached: dict[str, str] = json.loads(cache.read_text())
            return cached
    found = _scan()
    if cache is not None:
        with contextlib.suppress(OSError):
            cache.parent.mkdir(parents=True, exist_ok=True)
            tmp = cache.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(found))
            os.replace(tmp, cache)
    return found


def _scan() -> dict[str, str]:
    from importlib import metadata  # only on a cache miss: it costs ~25 ms to import

    found: dict[str, str] = {}
    for dist in metadata.distributions():
        name = dist.metadata["Name"] if dist.metadata else None
        if name:
            found.setdefault(name.lower(), dist.version)
    return dict(sorted(found.items()))


def _user() -> str | None:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return f"uid:{os.getuid()}" if hasattr(os, "getuid") else None


def environment(*, packages: bool = True, cache_dir: Path | None = None) -> Environment:
    versions = {"python": sys.version.split()[0]}
    if packages:
        versions.update(installed_packages(cache_dir))
    return Environment(
        host=os.uname().nodename,
        machine=platform.machine() or None,
        user=_user(),
        platform=platform.platform(),
        packages=versions,
    )
