"""`provledger.checkpoint`: a 3-step pipeline restarted after a crash in step 3 reuses steps 1
and 2 (their bodies do not run, their outputs come back verified) and runs step 3; on the
ledger and on a JSON run directory."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import provledger
from provledger.sdk import JsonFileBackend


def _pipeline(ran: list[str], crash: bool, backend: Any) -> Any:
    import pandas

    @provledger.checkpoint(
        "fetch", config={"ids": [1, 2]}, outputs=["fetched.parquet"], backend=backend
    )
    def fetch() -> Any:
        ran.append("fetch")
        frame = pandas.DataFrame({"id": [1, 2], "v": [0.5, 0.25]})
        frame.to_parquet("fetched.parquet")
        return frame

    @provledger.checkpoint(
        "clean", inputs=["fetched.parquet"], outputs=["clean.txt"], backend=backend
    )
    def clean(frame: Any) -> Any:
        ran.append("clean")
        Path("clean.txt").write_text(f"{frame['v'].sum()}\n")
        return Path("clean.txt")

    frame = fetch()
    clean(frame)
    with provledger.checkpoint(
        "report", inputs=["clean.txt"], outputs=["report.txt"], backend=backend
    ) as step:
        if not step.hit:
            ran.append("report")
            if crash:
                raise RuntimeError("node lost")
            Path("report.txt").write_text("total " + Path("clean.txt").read_text())
    return frame


@pytest.mark.parametrize("where", ["ledger", "json-directory"])
def test_a_pipeline_restarted_after_a_crash_in_step_3_reuses_steps_1_and_2(
    where: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("pyarrow")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PROVLEDGER_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PROVLEDGER_DATABASE_URL", raising=False)
    monkeypatch.delenv("PROVLEDGER_ARCHIVE_URL", raising=False)
    backend: Callable[[], Any] = (
        (lambda: None) if where == "ledger" else (lambda: JsonFileBackend(tmp_path / "runs"))
    )
    ran: list[str] = []
    with pytest.raises(RuntimeError, match="node lost"):
        _pipeline(ran, True, backend())
    assert ran == ["fetch", "clean", "report"]
    Path("fetched.parquet").unlink()  # the restart may be on a fresh node
    Path("clean.txt").write_text("tampered\n")
    assert provledger.has_checkpoint(
        "fetch", config={"ids": [1, 2]}, outputs=["fetched.parquet"], backend=backend()
    )
    assert not provledger.has_checkpoint(
        "fetch", config={"ids": [1, 3]}, outputs=["fetched.parquet"], backend=backend()
    )

    ran.clear()
    frame = _pipeline(ran, False, backend())
    assert ran == ["report"]  # steps 1 and 2 reused
    assert list(frame["v"]) == [0.5, 0.25]  # the restored Parquet file, loaded
    assert Path("clean.txt").read_text() == "0.75\n"  # restored over the tampered copy
    assert Path("report.txt").read_text() == "total 0.75\n"

    if where == "ledger":
        from provledger.adapters.bootstrap import bootstrap
        from provledger.domain.query import parse

        ledger = bootstrap()
        try:
            rows = ledger.queries.list_executions(query=parse("reused = true")).items
            assert sorted(r["case_name"] for r in rows) == ["clean", "fetch"]
            statuses = ledger.queries.list_executions(query=parse("case = report")).items
            assert sorted(r["status"] for r in statuses) == ["failed", "succeeded"]
        finally:
            ledger.close()
    else:
        runs = [json.loads(p.read_text()) for p in (tmp_path / "runs").glob("*.json")]
        assert sorted(r["experiment_name"] for r in runs).count("fetch") == 2
