"""An execution as a Process Run Crate (https://w3id.org/ro/wfrun/process/0.5, RO-Crate 1.1).

The crate holds `ro-crate-metadata.json` and `record.json` (the ledger's record, hashed). The
execution is a `CreateAction` whose `instrument` is the code (SoftwareApplication), `object` the
inputs, spec and parameters, `result` the outputs and artifacts, `agent` the user. Files are
referenced by absolute URI when they have one, else as contextual `#file-…` File entities that
carry their path and sha256 (the files themselves are not copied).
"""

from __future__ import annotations

import hashlib
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from uuid import NAMESPACE_URL, uuid5

import msgspec

from ...domain.record import ExecutionRecord, FileRef, Status, record_to_builtins

RO_CRATE = "https://w3id.org/ro/crate/1.1"
PROCESS_RUN = "https://w3id.org/ro/wfrun/process/0.5"
STATUS = {
    Status.SUCCEEDED: "http://schema.org/CompletedActionStatus",
    Status.FAILED: "http://schema.org/FailedActionStatus",
    Status.CANCELLED: "http://schema.org/FailedActionStatus",
    Status.RUNNING: "http://schema.org/ActiveActionStatus",
}


def _ref(ident: str) -> dict[str, str]:
    return {"@id": ident}


def _clean(entity: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entity.items() if v not in (None, "", [], {})}


def _file_id(ref: FileRef) -> str:
    if "://" in ref.uri or ref.uri.startswith(("urn:", "models:")):
        return ref.uri
    if ref.uri.startswith("/"):
        return "file://" + quote(ref.uri)
    return f"#file-{uuid5(NAMESPACE_URL, ref.uri + '|' + (ref.sha256 or '')).hex}"


def _file(ref: FileRef) -> dict[str, Any]:
    return _clean(
        {
            "@id": _file_id(ref),
            "@type": "File",
            "name": ref.uri,
            "sha256": ref.sha256,
            "contentSize": str(ref.size) if ref.size is not None else None,
            "description": f"role: {ref.role}" if ref.role else None,
        }
    )


def build_crate(record: ExecutionRecord, execution_uuid: str, record_json: bytes) -> dict[str, Any]:
    """The crate's metadata document (JSON-LD)."""
    action_id = f"#execution-{execution_uuid}"
    graph: list[dict[str, Any]] = []
    files_in = [_file(r) for r in record.inputs]
    files_out = [_file(r) for r in [*record.outputs, *record.artifacts]]
    objects = [_ref(f["@id"]) for f in files_in]
    params = [
        {
            "@id": f"#param-{quote(name, safe='')}",
            "@type": "PropertyValue",
            "name": name,
            "value": value if isinstance(value, str) else msgspec.json.encode(value).decode(),
        }
        for name, value in sorted(record.params.items())
    ]
    objects += [_ref(p["@id"]) for p in params]
    if record.spec is not None:
        spec = _clean(
            {
                "@id": f"#spec-{execution_uuid}",
                "@type": "PropertyValue",
                "name": "resolved spec",
                "value": msgspec.json.encode(record.spec.resolved, order="sorted").decode(),
                "identifier": f"sha256:{record.spec.sha256}" if record.spec.sha256 else None,
                "encodingFormat": record.spec.format,
            }
        )
        graph.append(spec)
        objects.append(_ref(spec["@id"]))
    action = _clean(
        {
            "@id": action_id,
            "@type": "CreateAction",
            "name": f"{record.case_key}/{record.execution_id}",
            "identifier": record.execution_id,
            "startTime": record.started.isoformat() if record.started else None,
            "endTime": record.ended.isoformat() if record.ended else None,
            "actionStatus": _ref(STATUS[record.status]) if record.status in STATUS else None,
            "error": f"status: {record.status.value}"
            if record.status is Status.CANCELLED
            else None,
            "description": _status_note(record),
            "object": objects,
            "result": [_ref(f["@id"]) for f in files_out] + [_ref("record.json")],
        }
    )
    graph += files_in + files_out + params
    if record.code is not None:
        code = record.code
        software = _clean(
            {
                "@id": f"#software-{execution_uuid}",
                "@type": "SoftwareApplication",
                "name": code.repository or "code",
                "url": code.repository if code.repository and "://" in code.repository else None,
                "softwareVersion": code.tag or code.version or code.commit,
                "identifier": code.commit,
            }
        )
        graph.append(software)
        action["instrument"] = _ref(software["@id"])
    if record.environment is not None and record.environment.user:
        person = {
            "@id": f"#person-{quote(record.environment.user, safe='')}",
            "@type": "Person",
            "name": record.environment.user,
        }
        graph.append(person)
        action["agent"] = _ref(person["@id"])
    published = record.ended or record.started or datetime.now(UTC)
    root = {
        "@id": "./",
        "@type": "Dataset",
        "name": f"Execution {record.execution_id} of {record.case_key}",
        "description": f"Provenance of execution {record.execution_id} exported by provledger.",
        "datePublished": published.isoformat(),
        "conformsTo": [_ref(PROCESS_RUN)],
        "hasPart": [_ref("record.json")] + [_ref(f["@id"]) for f in files_in + files_out],
        "mentions": [_ref(action_id)],
    }
    record_file = {
        "@id": "record.json",
        "@type": "File",
        "name": "provledger execution record",
        "encodingFormat": "application/json",
        "sha256": hashlib.sha256(record_json).hexdigest(),
        "contentSize": str(len(record_json)),
    }
    descriptor = {
        "@id": "ro-crate-metadata.json",
        "@type": "CreativeWork",
        "conformsTo": _ref(RO_CRATE),
        "about": _ref("./"),
    }
    profile = {
        "@id": PROCESS_RUN,
        "@type": "CreativeWork",
        "name": "Process Run Crate",
        "version": "0.5",
    }
    return {
        "@context": "https://w3id.org/ro/crate/1.1/context",
        "@graph": [descriptor, root, profile, action, record_file, *graph],
    }


def _status_note(record: ExecutionRecord) -> str | None:
    if record.status is Status.INCOMPLETE:
        return "incomplete record; missing: " + ", ".join(record.missing)
    if record.status not in STATUS:
        return f"status: {record.status.value}"
    return None


def write_crate(record: ExecutionRecord, execution_uuid: str, directory: Path) -> Path:
    """Write the crate into `directory` (created; must be empty if it exists)."""
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise ValueError(f"{directory} exists and is not an empty directory")
    directory.mkdir(parents=True, exist_ok=True)
    record_json = msgspec.json.format(msgspec.json.encode(record_to_builtins(record)), indent=2)
    (directory / "record.json").write_bytes(record_json)
    metadata = build_crate(record, execution_uuid, record_json)
    target = directory / "ro-crate-metadata.json"
    tmp = directory / ".ro-crate-metadata.json.tmp"
    tmp.write_bytes(msgspec.json.format(msgspec.json.encode(metadata), indent=2))
    os.replace(tmp, target)
    return target
