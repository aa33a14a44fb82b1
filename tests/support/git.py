"""A throwaway git repository for capture tests: one committed file, on branch `trunk`."""

from __future__ import annotations

import subprocess
from pathlib import Path


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)
    return done.stdout.decode().strip()


def committed_repo(repo: Path, name: str, text: str, tag: str) -> str:
    """`git init` on `trunk`, commit `name` holding `text`, tag it; the commit's sha."""
    git(repo, "init", "-q", "-b", "trunk")
    git(repo, "config", "user.email", "t@e")
    git(repo, "config", "user.name", "t")
    (repo / name).write_text(text)
    git(repo, "add", name)
    git(repo, "commit", "-q", "-m", "one")
    git(repo, "tag", tag)
    return git(repo, "rev-parse", "HEAD")
