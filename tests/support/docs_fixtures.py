"""Small inputs the docs' examples read, made for tests/e2e/test_docs_examples.py by `setup`
markers: `PYTHONPATH="$DOCS_REPO" python -m tests.support.docs_fixtures WHAT DIR`.

- `e3sm DIR`: an E3SM performance archive (one execution, LID 1081156.251218-200923).
- `mlruns DIR`: an MLflow file store with one finished run.
- `sync DIR`: a colleague's ocean run (DIR/run-1.json, case climate/ocean-sst, its output
  DIR/sst.nc with role `sst`) to push to the remote, and in the working directory the
  `analysis.yaml` of docs/sync.md and an `analyse.py` that reads its pulled input.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path

from tests.support import mlruns
from tests.support.e3sm_archive import E3smRun

ANALYSIS = """remote: origin
read:
  - case: climate/ocean-*
    execution: canonical
    output: sst
    as: sst
threshold: 3
"""

ANALYSE = """import pathlib, sys, yaml
working = yaml.safe_load(pathlib.Path(sys.argv[1]).read_text())
sst = pathlib.Path(working["inputs"]["sst"]).read_text()
threshold = working["values"]["threshold"]
pathlib.Path("summary.txt").write_text(f"{len(sst)} bytes of sst, threshold {threshold}\\n")
"""


def main(what: str, target: str) -> None:
    root = Path(target)
    if what == "e3sm":
        E3smRun().write(root)
    elif what == "mlruns":
        exp = mlruns.experiment(root, "1", "ocean-tuning")
        mlruns.run(
            exp, "0a1b2c3d4e5f", params={"lr": "0.01"}, metrics={"loss": "1758275954447 0.5 0\n"}
        )
    elif what == "sync":
        root.mkdir(parents=True, exist_ok=True)
        sst = root / "sst.nc"
        sst.write_text("sea surface temperature\n")
        output = {
            "uri": str(sst.resolve()),
            "sha256": hashlib.sha256(sst.read_bytes()).hexdigest(),
            "size": sst.stat().st_size,
            "role": "sst",
        }
        record = {
            "execution_id": "run-1",
            "case": "climate/ocean-sst",
            "status": "succeeded",
            "started": "2026-11-20T10:00:00Z",
            "outputs": [output],
        }
        (root / "run-1.json").write_text(json.dumps(record))
        Path("analysis.yaml").write_text(ANALYSIS)
        Path("analyse.py").write_text(ANALYSE)
    else:
        raise SystemExit(f"unknown fixture {what!r}")


if __name__ == "__main__":
    main(*sys.argv[1:])
