"""The docs harness reads blocks, markers and outputs as docs/architecture.md says."""

from __future__ import annotations

import pytest

from tests.support.docs_runner import normalise, output_matches, parse

DOC = """
# A doc

<!-- docs-test: setup
echo fixture > in.txt
-->
```sh
provledger ingest examples/records   # a comment
```

```
   CLI
    |
  ledger
```

<!-- docs-test: skip (needs a real NERSC path) -->
```sh
provledger ingest /global/cfs/x
```

<!-- docs-test: file run.toml -->
```toml
dt = 0.25
```

```console
$ provledger run --config run.toml -- echo hi
succeeded: default/run 20261123T114229-8060c535 (canonical) -> experiment_record.json
$ provledger executions --where "params.dt >"
error: --where: …
```

<!-- docs-test: background, wait for http://127.0.0.1:8000/healthz -->
```sh
provledger serve --port 8000
```

```python
import provledger
```

```json
{"not": "run"}
```
"""


def test_blocks_become_steps_in_the_docs_order_with_their_markers() -> None:
    parsed = parse(DOC)
    assert [s.kind for s in parsed.steps] == [
        "setup",
        "script",
        "file",
        "session",
        "background",
        "python",
    ]
    assert parsed.skipped[0][1] == "needs a real NERSC path"
    file, session, background = parsed.steps[2], parsed.steps[3], parsed.steps[4]
    assert (file.path, file.text) == ("run.toml", "dt = 0.25\n")
    assert [c for c, _ in session.commands] == [
        "provledger run --config run.toml -- echo hi",
        'provledger executions --where "params.dt >"',
    ]
    assert session.commands[1][1] == ["error: --where: …"]
    assert background.path == "http://127.0.0.1:8000/healthz"


def test_a_skip_without_a_reason_and_an_unknown_marker_are_refused() -> None:
    with pytest.raises(ValueError, match="needs a reason"):
        parse("<!-- docs-test: skip -->\n```sh\nls\n```\n")
    with pytest.raises(ValueError, match="unknown docs-test marker"):
        parse("<!-- docs-test: sometimes -->\n```sh\nls\n```\n")


def test_ids_times_hashes_positions_and_the_working_directory_are_normalised() -> None:
    shown = normalise(
        "succeeded: default/run 20261123T114229-8060c535 -> out/r.json (log position 11)"
    )
    real = normalise(
        "succeeded: default/run 20261205T231621-e5488605 -> /tmp/w/out/r.json (log position 3)",
        cwd=__import__("pathlib").Path("/tmp/w"),
    )
    assert shown == real
    assert normalise("sha256 6bac89e2a396… at 2026-01-05T10:00:00Z") == ["sha256 <hex>… at <time>"]


def test_an_ellipsis_matches_within_a_line_and_a_lone_one_matches_lines() -> None:
    assert output_matches(["error: --where: …"], ["error: --where: at position 12: expected"])
    assert output_matches(["first", "…", "last"], ["first", "a", "b", "last"])
    assert not output_matches(["first", "last"], ["first", "a", "last"])
    assert not output_matches(["succeeded: x"], ["failed: x"])
