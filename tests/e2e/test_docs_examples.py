"""Every example a user would type in README.md and docs/*.md runs, in order, with its output
checked where the doc shows it: the docs are the contract, and a doc that drifts fails here.

Why a harness of our own rather than pytest-examples: pytest-examples runs and formats Python
blocks one by one; most of our examples are shell sessions (`$ provledger …` with output) whose
effects later blocks read (an ingest, then `cases`), that need fixtures around them (a copy of
examples/, a server in the background, a fake S3 bucket, a Postgres database), and that must
run in a fresh directory per doc. tests/support/docs_runner.py parses the fenced blocks and
runs them (about 300 lines); its rules and markers are in its docstring and in
docs/architecture.md ("Docs that cannot drift").

Each doc runs in a fresh temporary directory holding a copy of `examples/` and a `.venv` link to
the project's virtualenv (so `. .venv/bin/activate` works), a `.curlrc` that makes `curl` fail
on an HTTP error status (the docs show plain `curl`), with `PROVLEDGER_HOME` and `HOME`
inside it and `.venv/bin` first on PATH. When a runnable block names `s3://BUCKET/…`, the
session's moto server is the endpoint (`AWS_ENDPOINT_URL`) and the bucket is created; a
`postgresql://…` URL in a runnable block is replaced by a fresh database of the test cluster.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
from pathlib import Path

import pytest

from tests.support.docs_runner import DocFailureError, Parsed, Runner, free_port, parse

ROOT = Path(__file__).resolve().parents[2]
DOCS = sorted([ROOT / "README.md", *(ROOT / "docs").rglob("*.md")])
VENV = ROOT / ".venv"
S3_URL = re.compile(r"s3://([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])")
PG_URL = re.compile(r"postgresql://[^\s'\"]+")


def _runnable_text(parsed: Parsed) -> str:
    return "\n".join(s.text for s in parsed.steps if s.kind != "file")


@pytest.fixture
def doc_env(tmp_path: Path) -> tuple[Path, dict[str, str]]:
    work = tmp_path / "work"
    work.mkdir()
    shutil.copytree(ROOT / "examples", work / "examples")
    (work / ".venv").symlink_to(VENV)
    # curl as the docs show it, but an HTTP error status fails the example
    (work / ".curlrc").write_text("fail-with-body\nsilent\nshow-error\n")
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PROVLEDGER_", "AWS_", "VIRTUAL_ENV", "PYTEST_", "COV_"))
    }
    env.update(
        PATH=f"{VENV / 'bin'}{os.pathsep}{env.get('PATH', '/usr/bin:/bin')}",
        HOME=str(work),
        PROVLEDGER_HOME=str(work / ".provledger"),
        NO_COLOR="1",
        COLUMNS="120",
        TERM="dumb",
        DOCS_REPO=str(ROOT),
    )
    return work, env


@pytest.mark.parametrize("doc", DOCS, ids=[str(d.relative_to(ROOT)) for d in DOCS])
def test_every_example_in_the_doc_runs_as_written(
    doc: Path, doc_env: tuple[Path, dict[str, str]], request: pytest.FixtureRequest
) -> None:
    parsed = parse(doc.read_text())
    if not parsed.steps:
        pytest.skip("no runnable examples")
    work, env = doc_env
    runner = Runner(str(doc.relative_to(ROOT)), work, env, str(VENV / "bin" / "python"))
    text = _runnable_text(parsed)
    for step in parsed.steps:  # each background port becomes a free one, everywhere in the doc
        port = re.search(r":(\d{2,5})\b", step.path) if step.kind == "background" else None
        if port:
            new = str(free_port())
            runner.substitutions.append(
                (re.compile(rf"(?<=:){port[1]}\b|(?<=--port[ =]){port[1]}\b"), new)
            )
    buckets = set(S3_URL.findall(text))
    if buckets:
        s3 = request.getfixturevalue("s3_server")
        env.update(
            AWS_ENDPOINT_URL=s3.endpoint,
            AWS_ACCESS_KEY_ID="testing",
            AWS_SECRET_ACCESS_KEY="testing",
            AWS_DEFAULT_REGION="us-east-1",
        )
        client = s3.client()
        existing = {b["Name"] for b in client.list_buckets().get("Buckets", [])}
        for bucket in buckets - existing:
            client.create_bucket(Bucket=bucket)
    for url in dict.fromkeys(PG_URL.findall(text)):
        fresh = request.getfixturevalue("pg_cluster")
        real = fresh.url(fresh.create_database())
        runner.substitutions.append((re.compile(re.escape(url)), shlex.quote(real)))
    try:
        for step in parsed.steps:
            runner.run(step)
    finally:
        runner.stop()
    assert runner.ran, f"{doc}: nothing ran"


def _run_doc(text: str, work: Path, env: dict[str, str]) -> Runner:
    runner = Runner("drift.md", work, env, str(VENV / "bin" / "python"))
    try:
        for step in parse(text).steps:
            runner.run(step)
    finally:
        runner.stop()
    return runner


def test_a_doc_whose_output_drifted_or_whose_command_fails_is_a_failure(
    doc_env: tuple[Path, dict[str, str]],
) -> None:
    work, env = doc_env
    with pytest.raises(DocFailureError, match="differs from the doc"):
        _run_doc("```console\n$ echo canonical run-2\ncanonical run-3\n```\n", work, env)
    with pytest.raises(DocFailureError, match="exited 3"):
        _run_doc("```sh\ntrue\nexit 3\necho never\n```\n", work, env)
    with pytest.raises(DocFailureError, match="failed at: false && true"):  # set -e lets it by
        _run_doc("```sh\nfalse && true\necho never\n```\n", work, env)
    with pytest.raises(DocFailureError, match="should fail"):
        _run_doc("```console\n$ echo fine\nerror: bad\n```\n", work, env)


def test_state_and_shown_ids_carry_over_to_later_blocks(
    doc_env: tuple[Path, dict[str, str]],
) -> None:
    work, env = doc_env
    doc = (
        "```sh\nexport GREETING=hello\nmkdir -p sub && cd sub\n```\n"
        "```console\n$ echo 20261205T231621-e5488605\n20261123T114229-8060c535\n```\n"
        '```sh\ntest "$GREETING" = hello && test "$(basename "$PWD")" = sub\n'
        "test 20261123T114229-8060c535 = 20261205T231621-e5488605\n```\n"
    )
    assert _run_doc(doc, work, env).ran == 3
