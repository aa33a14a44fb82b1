"""An execution as W3C PROV-JSON (https://www.w3.org/submissions/prov-json/).

Files (inputs, outputs, artifacts, the spec) are entities carrying their sha256; the execution
and each processing step are activities; the user, the code and the importer are agents.
Written by hand (plain dicts, no runtime dependency); tests read the output with the `prov`
package to check it is valid PROV.
"""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, uuid5

from ...domain.record import ExecutionRecord, FileRef

NS = "https://w3id.org/provledger/ns#"
PREFIXES = {
    "provledger": NS,
    "exec": "urn:provledger:execution:",
    "file": "urn:provledger:file:",
    "agent": "urn:provledger:agent:",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "dcterms": "http://purl.org/dc/terms/",
}


def _qname(value: str) -> dict[str, str]:
    return {"$": value, "type": "prov:QUALIFIED_NAME"}


def _token(*parts: str) -> str:
    return uuid5(NAMESPACE_URL, "\x1f".join(parts)).hex


class _Document:
    def __init__(self) -> None:
        self.doc: dict[str, Any] = {"prefix": dict(PREFIXES)}
        self._n = 0

    def add(self, kind: str, ident: str, attrs: dict[str, Any]) -> str:
        clean = {k: v for k, v in attrs.items() if v not in (None, "", [], {})}
        self.doc.setdefault(kind, {}).setdefault(ident, {}).update(clean)
        return ident

    def relate(self, kind: str, attrs: dict[str, Any]) -> None:
        self._n += 1
        self.add(kind, f"_:{kind}{self._n}", attrs)


def _file(doc: _Document, ref: FileRef) -> str:
    ident = f"file:{_token(ref.uri, ref.sha256 or '')}"
    return doc.add(
        "entity",
        ident,
        {
            "prov:type": _qname("provledger:File"),
            "prov:label": ref.uri,
            "prov:location": ref.uri,
            "provledger:sha256": ref.sha256,
            "provledger:size": ref.size,
        },
    )


def to_prov(record: ExecutionRecord, execution_uuid: str) -> dict[str, Any]:
    """The PROV-JSON document for one execution record."""
    doc = _Document()
    act = doc.add(
        "activity",
        f"exec:{execution_uuid}",
        {
            "prov:type": _qname("provledger:Execution"),
            "prov:label": f"{record.case_key}/{record.execution_id}",
            "prov:startTime": record.started.isoformat() if record.started else None,
            "prov:endTime": record.ended.isoformat() if record.ended else None,
            "provledger:executionId": record.execution_id,
            "provledger:case": record.case_key,
            "provledger:group": record.group,
            "provledger:status": record.status.value,
            "provledger:missing": ", ".join(record.missing) or None,
        },
    )
    if record.spec is not None:
        spec = doc.add(
            "entity",
            f"file:{_token('spec', record.spec.sha256 or execution_uuid)}",
            {
                "prov:type": _qname("provledger:Spec"),
                "prov:label": f"resolved spec ({record.spec.format or 'unknown format'})",
                "provledger:sha256": record.spec.sha256,
            },
        )
        doc.relate("used", {"prov:activity": act, "prov:entity": spec, "prov:role": "spec"})
    for ref in record.inputs:
        entity = _file(doc, ref)
        doc.relate("used", {"prov:activity": act, "prov:entity": entity, "prov:role": ref.role})
    for ref in [*record.outputs, *record.artifacts]:
        entity = _file(doc, ref)
        doc.relate(
            "wasGeneratedBy", {"prov:entity": entity, "prov:activity": act, "prov:role": ref.role}
        )
    _steps(doc, record, act, execution_uuid)
    _agents(doc, record, act)
    return doc.doc


def _steps(doc: _Document, record: ExecutionRecord, act: str, execution_uuid: str) -> None:
    previous: str | None = None
    for i, step in enumerate(record.steps):
        ident = doc.add(
            "activity",
            f"exec:{execution_uuid}-step-{i + 1}",
            {
                "prov:type": _qname("provledger:ProcessingStep"),
                "prov:label": step.name,
                "prov:endTime": step.at.isoformat() if step.at else None,
                "dcterms:isPartOf": _qname(act),
            },
        )
        doc.relate("wasInformedBy", {"prov:informed": ident, "prov:informant": previous or act})
        previous = ident


def _agents(doc: _Document, record: ExecutionRecord, act: str) -> None:
    env = record.environment
    if env is not None and env.user:
        user = doc.add(
            "agent",
            f"agent:user-{_token('user', env.user)}",
            {"prov:type": _qname("prov:Person"), "prov:label": env.user},
        )
        doc.relate("wasAssociatedWith", {"prov:activity": act, "prov:agent": user})
    code = record.code
    if code is not None:
        label = code.repository or "code"
        version = code.tag or code.version or code.commit
        software = doc.add(
            "agent",
            f"agent:code-{_token('code', label, code.commit or '', version or '')}",
            {
                "prov:type": _qname("prov:SoftwareAgent"),
                "prov:label": f"{label}@{version}" if version else label,
                "provledger:repository": code.repository,
                "provledger:commit": code.commit,
                "provledger:tag": code.tag,
                "provledger:branch": code.branch,
                "provledger:version": code.version,
            },
        )
        doc.relate("wasAssociatedWith", {"prov:activity": act, "prov:agent": software})
    importer = record.source.importer if record.source else "provledger"
    agent = doc.add(
        "agent",
        f"agent:importer-{importer}",
        {
            "prov:type": _qname("prov:SoftwareAgent"),
            "prov:label": f"provledger {importer} importer",
        },
    )
    doc.relate(
        "wasAssociatedWith",
        {"prov:activity": act, "prov:agent": agent, "prov:role": "recorder"},
    )


def lineage_to_prov(graph: Any) -> dict[str, Any]:
    """A lineage graph (application/lineage.Lineage) as PROV-JSON: files (by sha256) are
    entities, executions activities; `used`, `wasGeneratedBy`, and `wasDerivedFrom` from each
    file an execution made to each file it used."""
    doc = _Document()
    for node in graph.nodes.values():
        if node["type"] == "execution":
            doc.add(
                "activity",
                f"exec:{node['id']}",
                {
                    "prov:type": _qname("provledger:Execution"),
                    "prov:label": f"{node['case']}/{node['execution_id']}",
                    "prov:startTime": node["started"],
                    "prov:endTime": node["ended"],
                    "provledger:executionId": node["execution_id"],
                    "provledger:case": node["case"],
                    "provledger:status": node["status"],
                },
            )
        else:
            doc.add(
                "entity",
                f"file:{node['id']}",
                {
                    "prov:type": _qname("provledger:File"),
                    "prov:label": ", ".join(node["uris"]),
                    "prov:location": node["uris"][0] if node["uris"] else None,
                    "provledger:sha256": node["id"],
                    "provledger:size": node.get("size"),
                },
            )
    used: dict[str, list[str]] = {}
    made: dict[str, list[str]] = {}
    for edge in graph.edges.values():
        if edge["relation"] == "used":
            activity, entity = f"exec:{edge['from']}", f"file:{edge['to']}"
            used.setdefault(edge["from"], []).append(entity)
            doc.relate("used", {"prov:activity": activity, "prov:entity": entity})
        else:
            entity, activity = f"file:{edge['from']}", f"exec:{edge['to']}"
            made.setdefault(edge["to"], []).append(entity)
            doc.relate("wasGeneratedBy", {"prov:entity": entity, "prov:activity": activity})
    for execution, outputs in made.items():
        for generated in outputs:
            for source in used.get(execution, []):
                doc.relate(
                    "wasDerivedFrom",
                    {
                        "prov:generatedEntity": generated,
                        "prov:usedEntity": source,
                        "prov:activity": f"exec:{execution}",
                    },
                )
    return doc.doc
