"""Git state of a working directory (commit, branch, tag, dirty, remote) via the `git` CLI."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ...domain.record import CodeVersion


def _git(cwd: Path, *args: str) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def parse_status_v2(text: str) -> tuple[str | None, str | None, bool]:
    """(commit, branch, dirty) from `git status --porcelain=v2 --branch`."""
    commit = branch = None
    dirty = False
    for line in text.splitlines():
        if line.startswith("# branch.oid "):
            oid = line.split(" ", 2)[2]
            commit = None if oid == "(initial)" else oid
        elif line.startswith("# branch.head "):
            head = line.split(" ", 2)[2]
            branch = None if head == "(detached)" else head
        elif line and not line.startswith("#"):
            dirty = True
    return commit, branch, dirty


def parse_remotes(text: str) -> str | None:
    """origin's URL, else the first remote's, from `git config --get-regexp remote..*.url`."""
    urls = {}
    for line in text.splitlines():
        key, _, url = line.partition(" ")
        urls[key.removeprefix("remote.").removesuffix(".url")] = url
    return urls.get("origin") or next(iter(urls.values()), None)


def git_facts(cwd: Path) -> dict[str, Any] | None:
    """CodeVersion's fields, or None when `git` is missing or `cwd` is not inside a repository
    (three `git` calls). Standard library only, so it can run before the domain is imported."""
    status = _git(cwd, "status", "--porcelain=v2", "--branch", "--untracked-files=no")
    if status is None:  # also when git is not installed
        return None
    commit, branch, dirty = parse_status_v2(status)
    if commit is None:
        return None
    tag = _git(cwd, "describe", "--tags", "--exact-match", "HEAD")
    remote = parse_remotes(_git(cwd, "config", "--get-regexp", r"^remote\..*\.url$") or "")
    facts = {"repository": remote, "commit": commit, "tag": tag or None, "branch": branch,
             "dirty": dirty}  # fmt: skip
    if dirty:
        diff = diff_sha256(cwd)
        if diff is not None:
            facts["diff_sha256"] = diff
    return facts


def diff_sha256(cwd: Path) -> str | None:
    """sha256 of `git diff HEAD` (tracked changes, binary included): what a dirty tree ran,
    so that a dirty run can still be reused by one with the very same changes (domain/reuse.py).
    One more `git` call, only when the tree is dirty."""
    import hashlib

    try:
        done = subprocess.run(
            ["git", "diff", "HEAD", "--binary", "--no-color", "--no-ext-diff"],
            cwd=cwd,
            capture_output=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return hashlib.sha256(done.stdout).hexdigest() if done.returncode == 0 else None


def git_state(cwd: Path) -> CodeVersion | None:
    from ...domain.record import CodeVersion

    facts = git_facts(cwd)
    return CodeVersion(**facts) if facts else None
