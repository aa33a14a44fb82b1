"""Small inputs the docs' examples read, made for tests/e2e/test_docs_examples.py by `setup`
markers: `PYTHONPATH="$DOCS_REPO" python -m tests.support.docs_fixtures WHAT DIR`.

- `e3sm DIR`: an E3SM performance archive (one execution, LID 1081156.251218-200923).
- `mlruns DIR`: an MLflow file store with one finished run.
"""

from __future__ import annotations

import sys
from pathlib import Path

from tests.support import mlruns
from tests.support.e3sm_archive import E3smRun


def main(what: str, target: str) -> None:
    root = Path(target)
    if what == "e3sm":
        E3smRun().write(root)
    elif what == "mlruns":
        exp = mlruns.experiment(root, "1", "ocean-tuning")
        mlruns.run(
            exp, "0a1b2c3d4e5f", params={"lr": "0.01"}, metrics={"loss": "1758275954447 0.5 0\n"}
        )
    else:
        raise SystemExit(f"unknown fixture {what!r}")


if __name__ == "__main__":
    main(*sys.argv[1:])
