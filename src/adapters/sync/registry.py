"""Named remotes in `<PROVLEDGER_HOME>/remotes.json` (mode 0600: it holds tokens)."""

from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from urllib.parse import urlparse

from ...domain.errors import DomainError

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
FILE_NAME = "remotes.json"


class RemoteConfigError(DomainError):
    """A remote name or URL that cannot be used, or a registry file that cannot be read."""


@dataclass(frozen=True)
class RemoteConfig:
    name: str
    url: str
    token: str | None = None
    ledger_id: str | None = None

    def public(self) -> dict[str, str | None]:
        return {
            "name": self.name,
            "url": self.url,
            "token": "set" if self.token else None,
            "ledger_id": self.ledger_id,
        }


class RemoteRegistry:
    def __init__(self, home: Path) -> None:
        self.path = home / FILE_NAME

    def _load(self) -> dict[str, RemoteConfig]:
        if not self.path.exists():
            return {}
        try:
            raw = json.loads(self.path.read_text())
            return {name: RemoteConfig(**entry) for name, entry in raw["remotes"].items()}
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise RemoteConfigError(f"cannot read {self.path}: {e}") from e

    def _save(self, remotes: dict[str, RemoteConfig]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            json.dump({"remotes": {n: asdict(r) for n, r in sorted(remotes.items())}}, f, indent=2)
        os.chmod(tmp, 0o600)
        os.replace(tmp, self.path)

    def list(self) -> list[RemoteConfig]:
        return list(self._load().values())

    def get(self, name: str | None) -> RemoteConfig:
        remotes = self._load()
        if name is None:
            if len(remotes) == 1:
                return next(iter(remotes.values()))
            if not remotes:
                raise RemoteConfigError("no remote: add one with `provledger remote add NAME URL`")
            names = ", ".join(sorted(remotes))
            raise RemoteConfigError(f"several remotes ({names}): name the one to use")
        if name not in remotes:
            raise RemoteConfigError(f"no remote named {name!r} (see `provledger remote list`)")
        return remotes[name]

    def add(self, name: str, url: str, token: str | None) -> RemoteConfig:
        if not NAME.match(name):
            raise RemoteConfigError(
                f"remote name {name!r} is not valid: use letters, digits, '.', '_', '-'"
            )
        parsed = urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise RemoteConfigError(
                f"remote URL {url!r} is not valid: use http(s)://host[:port] of a provledger serve"
            )
        remotes = self._load()
        if name in remotes:
            raise RemoteConfigError(f"remote {name!r} exists already: remove it first")
        remotes[name] = RemoteConfig(name, url.rstrip("/"), token or None)
        self._save(remotes)
        return remotes[name]

    def remember_ledger(self, name: str, ledger_id: str) -> None:
        remotes = self._load()
        if name in remotes and remotes[name].ledger_id != ledger_id:
            old = remotes[name]
            remotes[name] = RemoteConfig(old.name, old.url, old.token, ledger_id)
            self._save(remotes)

    def remove(self, name: str) -> RemoteConfig:
        remotes = self._load()
        if name not in remotes:
            raise RemoteConfigError(f"no remote named {name!r} (see `provledger remote list`)")
        removed = remotes.pop(name)
        self._save(remotes)
        return removed
