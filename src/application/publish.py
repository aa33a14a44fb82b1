"""Use case: publish a succeeded execution as a self-checking document; record `Published`.

The document is deterministic (sorted keys, no timestamps), so publishing twice gives the same
bytes and sha256, the archive keeps one object, and no second event is appended.

Keys carry the namespace and case, as the persisted record files do
(`published/{namespace}/{case}/{execution_id}.json`): execution ids are only unique within a
case. Ledgers that published before this used `published/{execution_id}.json`; those objects
and their `Published` events stay as they are (the archive is immutable, the event names the
full location), and publishing such an execution again with an unchanged document answers
`already_published` with that old location instead of writing a second copy.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import msgspec
from eventsourcing.persistence import IntegrityError

from ..domain.errors import ExecutionStateError
from ..domain.execution import Execution
from ..domain.record import ExecutionRecord, Status, record_to_builtins
from .ledger import Ledger
from .persist_records import _segment
from .ports import Archive

PUBLISHED_FORMAT = "provledger.published/1"
MAX_ATTEMPTS = 5


@dataclass(frozen=True)
class Publication:
    execution_id: str
    location: str
    sha256: str
    size: int
    position: int
    already_published: bool
    document: dict[str, Any]


def published_stem(namespace: str, case: str, execution_id: str) -> str:
    """`published/{namespace}/{case}/{execution_id}`: each segment percent-encoded."""
    return f"published/{_segment(namespace)}/{_segment(case)}/{_segment(execution_id)}"


def published_key(namespace: str, case: str, execution_id: str) -> str:
    return f"{published_stem(namespace, case, execution_id)}.json"


def legacy_published_key(execution_id: str) -> str:
    """Where publish wrote before keys carried the case (kept readable, never written)."""
    return f"published/{execution_id}.json"


def publishable(record: ExecutionRecord) -> dict[str, Any]:
    """The record plus the checksums a reader needs to verify it and its files."""
    body = record_to_builtins(record)
    record_bytes = msgspec.json.encode(body, order="sorted")
    files = {
        ref.uri: ref.sha256
        for ref in (*record.inputs, *record.outputs, *record.artifacts)
        if ref.sha256
    }
    output = record.primary_output
    inputs = [ref for ref in record.inputs if ref.sha256]
    return {
        "format": PUBLISHED_FORMAT,
        "execution_id": record.execution_id,
        "case": record.case_key,
        "checksums": {
            "record_sha256": hashlib.sha256(record_bytes).hexdigest(),
            "spec_sha256": record.spec.sha256 if record.spec else None,
            "output_sha256": output.sha256 if output else None,
            "input_sha256": inputs[0].sha256 if inputs else None,
            "files": files,
        },
        # DissModel's publish fields, for its clients.
        "experiment_id": record.execution_id,
        "model_name": str(record.attributes.get("model_name") or record.group or record.case),
        "parameters": record.params,
        "resolved_spec": record.spec.resolved if record.spec else {},
        "output_path": output.uri if output else None,
        "output_sha256": output.sha256 if output else None,
        "record": body,
    }


# Extra documents published beside the record, by file suffix: e.g. PROV-JSON and RO-Crate
# metadata (built by adapters/exporters; the use case only stores their bytes).
Exports = Mapping[str, Callable[[ExecutionRecord, str], bytes]]


def publish(
    ledger: Ledger, ref: str, archive: Archive | None = None, exports: Exports | None = None
) -> Publication:
    """Publish `ref` (succeeded, not retracted); idempotent for an unchanged document.

    With an archive, the document goes to `published/<namespace>/<case>/<id>.json` and each
    export beside it (`….<suffix>`); the first copy of an export is kept (the archive is
    immutable).
    """
    for _ in range(MAX_ATTEMPTS):
        execution = ledger.execution(ref)
        _check_publishable(execution)
        document = publishable(execution.record)
        data = msgspec.json.encode(document, order="sorted")
        sha256 = hashlib.sha256(data).hexdigest()
        record = execution.record
        external = record.execution_id
        stem = published_stem(record.namespace, record.case, external)
        legacy = _legacy_location(execution.published, external, sha256)
        if legacy is not None:
            location = legacy
        elif archive is not None:
            stored = archive.put(f"{stem}.json", data)
            location = f"{archive.url.rstrip('/')}/{stored.key}"
            for suffix, build in (exports or {}).items():
                key = f"{stem}.{suffix}"
                if not archive.exists(key):
                    archive.put(key, build(record, str(execution.id)))
        else:
            location = f"ledger:{stem}"
        if execution.published.get(location) == sha256:
            return Publication(
                external,
                location,
                sha256,
                len(data),
                _published_at(ledger, execution, location),
                True,
                document,
            )
        execution.publish(location, sha256)
        try:
            position = ledger.events.save(execution)
        except IntegrityError:
            continue  # another writer appended to this execution: reload and retry
        ledger.catch_up()
        return Publication(external, location, sha256, len(data), position, False, document)
    raise IntegrityError("execution kept changing; try again")


def _legacy_location(published: Mapping[str, str], external: str, sha256: str) -> str | None:
    """The location of an earlier publication of this same document under the old key."""
    suffix = legacy_published_key(external)
    for location, digest in published.items():
        if digest == sha256 and (
            location == f"ledger:published/{external}" or (location.endswith("/" + suffix))
        ):
            return location
    return None


def _check_publishable(execution: Execution) -> None:
    record = execution.record
    if record.status is not Status.SUCCEEDED:
        raise ExecutionStateError(
            f"execution {record.execution_id!r} is {record.status.value}: "
            "only succeeded executions can be published"
        )
    if execution.retracted:
        raise ExecutionStateError(
            f"execution {record.execution_id!r} is retracted and cannot be published"
        )


def _published_at(ledger: Ledger, execution: Execution, location: str) -> int:
    for item in reversed(ledger.events.history(execution.id)):
        if isinstance(item.event, Execution.Published) and item.event.location == location:
            return item.position
    return 0
