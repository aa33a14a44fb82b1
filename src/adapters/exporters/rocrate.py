"""An execution as a Process Run Crate (https://w3id.org/ro/wfrun/process/0.5, RO-Crate 1.1).

The crate holds `ro-crate-metadata.json` and `record.json` (the ledger's record, hashed). The
execution is a `CreateAction` whose `instrument` is the code (SoftwareApplication; a placeholder
that says so when the code version is unknown), `object` the inputs, spec and parameters, `result`
the outputs and artifacts, `agent` the user. Files are not copied into the crate: each is a
contextual `#file-…` File entity carrying its URI or path (`identifier`), sha256, size and a media
type, so ro-crate-py reads and rewrites the crate without looking for them. The root carries a
`license` (given, or a contextual entity saying that none was stated). The crate passes
roc-validator's REQUIRED checks for `process-run-crate` (tests/integration/test_rocrate_valid.py).
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote
from uuid import NAMESPACE_URL, uuid5

import msgspec

from ...domain.record import ExecutionRecord, FileRef, Status, record_to_builtins

RO_CRATE = "https://w3id.org/ro/crate/1.1"
RO_CRATE_CONTEXT = "https://w3id.org/ro/crate/1.1/context"
PROCESS_RUN = "https://w3id.org/ro/wfrun/process/0.5"
COMPLETED = "http://schema.org/CompletedActionStatus"
FAILED = "http://schema.org/FailedActionStatus"
# The profile allows only these two; a running or unknown execution has no actionStatus (its
# description says why).
STATUS = {Status.SUCCEEDED: COMPLETED, Status.FAILED: FAILED, Status.CANCELLED: FAILED}
NO_LICENSE = "#license-not-stated"
SPEC_FORMATS = {
    "json": "application/json",
    "yaml": "application/yaml",
    "yml": "application/yaml",
    "toml": "application/toml",
    "xml": "application/xml",
    "ini": "text/plain",
}
OCTET_STREAM = "application/octet-stream"
MEDIA_TYPE = re.compile(r"\w+/\w[\w.-]*(\+\w[\w.-]*)?")
_TYPES = mimetypes.MimeTypes(filenames=())


def _ref(ident: str) -> dict[str, str]:
    return {"@id": ident}


def _refs(idents: list[str]) -> dict[str, str] | list[dict[str, str]]:
    """One reference as a single value, several as a list (RO-Crate 1.1 prefers no singletons)."""
    return _ref(idents[0]) if len(idents) == 1 else [_ref(i) for i in idents]


def _clean(entity: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in entity.items() if v not in (None, "", [], {})}


def when(moment: datetime) -> str:
    """ISO 8601 in UTC with an explicit `+00:00` offset and at most milliseconds, the form the
    Process Run Crate profile checks (`2026-02-01T10:00:00.250+00:00`)."""
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond // 1000:03d}"
    return text + "+00:00"


def _is_web(uri: str) -> bool:
    return uri.startswith(("http://", "https://"))


def _media_type(name: str) -> str:
    """A media type from the name (Python's built-in table only, so every machine agrees)."""
    if name.lower().endswith(".gz"):
        return "application/gzip"
    guessed, _ = _TYPES.guess_type(name, strict=False)
    return guessed if guessed and MEDIA_TYPE.fullmatch(guessed) else OCTET_STREAM


def _file_id(ref: FileRef) -> str:
    return f"#file-{uuid5(NAMESPACE_URL, ref.uri + '|' + (ref.sha256 or '')).hex}"


def _file(ref: FileRef) -> dict[str, Any]:
    return _clean(
        {
            "@id": _file_id(ref),
            "@type": "File",
            "name": ref.uri,
            "identifier": ref.uri,
            "url": ref.uri if _is_web(ref.uri) else None,
            "encodingFormat": _media_type(ref.uri),
            "sha256": ref.sha256,
            "contentSize": str(ref.size) if ref.size is not None else None,
            "description": f"role: {ref.role}" if ref.role else None,
        }
    )


def _license(license: str | None) -> dict[str, Any]:
    """The root's license as a contextual entity: a URL, an SPDX id, or 'not stated'."""
    if license is None or not license.strip():
        return {
            "@id": NO_LICENSE,
            "@type": "CreativeWork",
            "name": "License not stated",
            "description": "The execution record states no license; ask its owner before reuse.",
        }
    license = license.strip()
    if _is_web(license):
        return {"@id": license, "@type": "CreativeWork", "name": license}
    return {
        "@id": f"https://spdx.org/licenses/{quote(license, safe='.-+')}",
        "@type": "CreativeWork",
        "name": license,
        "identifier": license,
    }


def _software(record: ExecutionRecord, execution_uuid: str) -> dict[str, Any]:
    """The `instrument`: the code that ran, or a placeholder saying its version is unknown (the
    profile requires an instrument on every action)."""
    code = record.code
    version = (code.tag or code.version or code.commit) if code is not None else None
    repository = code.repository if code is not None else None
    if code is None or not (version or repository):
        importer = record.source.importer if record.source and record.source.importer else None
        return _clean(
            {
                "@id": f"#software-{execution_uuid}",
                "@type": "SoftwareApplication",
                "name": f"code of {record.case_key}",
                "description": "The code version of this execution was not recorded"
                + (f" (imported by {importer})." if importer else "."),
            }
        )
    web = repository if repository and _is_web(repository) else None
    return _clean(
        {
            "@id": web or f"#software-{execution_uuid}",
            "@type": "SoftwareApplication",
            "name": repository or f"code of {record.case_key}",
            "url": web,
            "softwareVersion": version,
            "identifier": code.commit,
        }
    )


def _describe(record: ExecutionRecord) -> str:
    text = f"Execution {record.execution_id} of {record.case_key}"
    if record.status is Status.INCOMPLETE:
        return f"{text}: incomplete record; missing: {', '.join(record.missing)}"
    if record.status is Status.RUNNING:
        return f"{text}: running (not finished when exported)."
    return f"{text}: {record.status.value}."


def build_crate(
    record: ExecutionRecord, execution_uuid: str, record_json: bytes, license: str | None = None
) -> dict[str, Any]:
    """The crate's metadata document (JSON-LD). `license`: a URL or SPDX id for the root."""
    action_id = f"#execution-{execution_uuid}"
    graph: list[dict[str, Any]] = []
    files_in = [_file(r) for r in record.inputs]
    files_out = [_file(r) for r in [*record.outputs, *record.artifacts]]
    objects = [f["@id"] for f in files_in]
    params = [
        {
            "@id": f"#param-{quote(name, safe='')}",
            "@type": "PropertyValue",
            "name": name,
            "value": value if isinstance(value, str) else msgspec.json.encode(value).decode(),
        }
        for name, value in sorted(record.params.items())
    ]
    objects += [p["@id"] for p in params]
    if record.spec is not None:
        spec = _clean(
            {
                "@id": f"#spec-{execution_uuid}",
                "@type": "PropertyValue",
                "name": "resolved spec",
                "value": msgspec.json.encode(record.spec.resolved, order="sorted").decode(),
                "identifier": f"sha256:{record.spec.sha256}" if record.spec.sha256 else None,
                "encodingFormat": SPEC_FORMATS.get(record.spec.format.lower(), "text/plain")
                if record.spec.format
                else None,
            }
        )
        graph.append(spec)
        objects.append(spec["@id"])
    software = _software(record, execution_uuid)
    status = STATUS.get(record.status)
    action = _clean(
        {
            "@id": action_id,
            "@type": "CreateAction",
            "name": f"{record.case_key}/{record.execution_id}",
            "identifier": record.execution_id,
            "description": _describe(record),
            "startTime": when(record.started) if record.started else None,
            "endTime": when(record.ended) if record.ended else None,
            "actionStatus": status,
            "error": f"status: {record.status.value}" if status == FAILED else None,
            "instrument": _ref(software["@id"]),
            "object": [_ref(i) for i in objects],
            "result": [_ref(f["@id"]) for f in files_out] + [_ref("record.json")],
        }
    )
    graph += [software, *files_in, *files_out, *params]
    if record.environment is not None and record.environment.user:
        person = {
            "@id": f"#person-{quote(record.environment.user, safe='')}",
            "@type": "Person",
            "name": record.environment.user,
        }
        graph.append(person)
        action["agent"] = _ref(person["@id"])
    license_entity = _license(license)
    published = record.ended or record.started or datetime.now(UTC)
    root = {
        "@id": "./",
        "@type": "Dataset",
        "name": f"Execution {record.execution_id} of {record.case_key}",
        "description": f"Provenance of execution {record.execution_id} exported by provledger.",
        "datePublished": when(published),
        "license": _ref(license_entity["@id"]),
        "conformsTo": _ref(PROCESS_RUN),
        "hasPart": _ref("record.json"),
        "mentions": _ref(action_id),
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
        "@context": RO_CRATE_CONTEXT,
        "@graph": [descriptor, root, profile, license_entity, action, record_file, *graph],
    }


def write_crate(
    record: ExecutionRecord, execution_uuid: str, directory: Path, license: str | None = None
) -> Path:
    """Write the crate into `directory` (created; must be empty if it exists)."""
    if directory.exists() and (not directory.is_dir() or any(directory.iterdir())):
        raise ValueError(f"{directory} exists and is not an empty directory")
    directory.mkdir(parents=True, exist_ok=True)
    record_json = msgspec.json.format(msgspec.json.encode(record_to_builtins(record)), indent=2)
    (directory / "record.json").write_bytes(record_json)
    metadata = build_crate(record, execution_uuid, record_json, license)
    target = directory / "ro-crate-metadata.json"
    tmp = directory / ".ro-crate-metadata.json.tmp"
    tmp.write_bytes(msgspec.json.format(msgspec.json.encode(metadata), indent=2))
    os.replace(tmp, target)
    return target
