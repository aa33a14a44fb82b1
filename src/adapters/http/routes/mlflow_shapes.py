"""MLflow's JSON shapes (its REST API's protobuf messages as JSON) and its filter strings.

Experiments are cases of the `mlflow` namespace, runs are executions (importers/mlflow_map.py
is the one mapping). Experiment ids carry their name (`x` + base64url of it) so that any
server process resolves them without shared state; a name too long for MLflow's 64-character
ids gets a hashed id (`h…`) resolved through the cases.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from datetime import UTC, datetime
from typing import Any

from ....domain.query import QueryError, parse_field
from ....domain.record import ExecutionRecord, MetricPoint, Status

DEFAULT_ID = "0"
DEFAULT_NAME = "Default"
MAX_ID = 64
LIFECYCLE_TAG = "provledger.mlflow.lifecycle"  # a run deleted (or restored) over the API
HIDDEN_TAG_PREFIX = "provledger.mlflow."
RUN_STATUS = {
    Status.RUNNING: "RUNNING",
    Status.SUCCEEDED: "FINISHED",
    Status.FAILED: "FAILED",
    Status.CANCELLED: "KILLED",
    Status.INCOMPLETE: "FAILED",
    Status.UNKNOWN: "SCHEDULED",
}
LEDGER_STATUS = {
    "RUNNING": Status.RUNNING,
    "SCHEDULED": Status.UNKNOWN,
    "FINISHED": Status.SUCCEEDED,
    "FAILED": Status.FAILED,
    "KILLED": Status.CANCELLED,
}


class MlflowError(Exception):
    """An error MLflow's clients understand: `{"error_code": ..., "message": ...}`."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message

    def body(self) -> dict[str, str]:
        return {"error_code": self.code, "message": self.message}


def invalid(message: str) -> MlflowError:
    return MlflowError(400, "INVALID_PARAMETER_VALUE", message)


def not_found(message: str) -> MlflowError:
    return MlflowError(404, "RESOURCE_DOES_NOT_EXIST", message)


# -- experiments ------------------------------------------------------------------------------
def experiment_id_of(name: str) -> str:
    if name == DEFAULT_NAME:
        return DEFAULT_ID
    encoded = "x" + base64.urlsafe_b64encode(name.encode()).decode().rstrip("=")
    if len(encoded) <= MAX_ID:
        return encoded
    return "h" + hashlib.sha256(name.encode()).hexdigest()[:32]


def name_in_id(experiment_id: str) -> str | None:
    """The name an id carries (None for hashed ids, which are looked up)."""
    if experiment_id == DEFAULT_ID:
        return DEFAULT_NAME
    if not experiment_id.startswith("x"):
        return None
    text = experiment_id[1:]
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


def experiment_json(name: str, tags: dict[str, str] | None = None) -> dict[str, Any]:
    experiment_id = experiment_id_of(name)
    return {
        "experiment_id": experiment_id,
        "name": name,
        "artifact_location": f"mlflow-artifacts:/{experiment_id}",
        "lifecycle_stage": "active",
        "tags": [{"key": k, "value": v} for k, v in (tags or {}).items()],
    }


# -- runs -------------------------------------------------------------------------------------
def ms(value: datetime | None) -> int | None:
    return None if value is None else int(value.timestamp() * 1000)


def when(value: Any) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        return datetime.fromtimestamp(int(value) / 1000, UTC)
    except (TypeError, ValueError, OverflowError, OSError) as e:
        raise invalid(f"{value!r} is not a time in milliseconds") from e


def metric_json(key: str, point: MetricPoint) -> dict[str, Any]:
    return {
        "key": key,
        "value": point.value,
        "timestamp": ms(point.timestamp) or 0,
        "step": point.step or 0,
    }


def latest(points: list[MetricPoint]) -> MetricPoint:
    """MLflow's latest value: the highest step, then the newest timestamp, then the last."""
    best = points[0]
    for point in points[1:]:
        key = (point.step or 0, ms(point.timestamp) or 0)
        if key >= (best.step or 0, ms(best.timestamp) or 0):
            best = point
    return best


def lifecycle(tags: dict[str, str]) -> str:
    return "deleted" if tags.get(LIFECYCLE_TAG) == "deleted" else "active"


def run_json(record: ExecutionRecord, tags: dict[str, str]) -> dict[str, Any]:
    attributes = record.attributes
    experiment_id = str(attributes.get("experiment_id") or experiment_id_of(record.case))
    shown_tags = {k: v for k, v in tags.items() if not k.startswith(HIDDEN_TAG_PREFIX)}
    info: dict[str, Any] = {
        "run_id": record.execution_id,
        "run_uuid": record.execution_id,
        "run_name": tags.get("mlflow.runName") or attributes.get("run_name") or "",
        "experiment_id": experiment_id,
        "user_id": (record.environment.user if record.environment else None) or "",
        "status": RUN_STATUS[record.status],
        "artifact_uri": attributes.get("artifact_uri")
        or f"mlflow-artifacts:/{experiment_id}/{record.execution_id}/artifacts",
        "lifecycle_stage": lifecycle(tags),
    }
    if record.started is not None:
        info["start_time"] = ms(record.started)
    if record.ended is not None:
        info["end_time"] = ms(record.ended)
    return {
        "info": info,
        "data": {
            "metrics": [metric_json(k, latest(v)) for k, v in record.metrics.items() if v],
            "params": [{"key": k, "value": _text(v)} for k, v in record.params.items()],
            "tags": [{"key": k, "value": v} for k, v in shown_tags.items()],
        },
        "inputs": {},
    }


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)


# -- filter strings and order -------------------------------------------------------------
_TOKEN = re.compile(
    r"""\s*(?:
        (?P<ident>[A-Za-z_][A-Za-z0-9_]*)\.(?P<key>`[^`]+`|"[^"]+"|[A-Za-z0-9_\-/:@.]+)
      | (?P<bare>[A-Za-z_][A-Za-z0-9_]*)
      | (?P<op>!=|<=|>=|=|<|>|==)
      | (?P<string>'(?:[^']|'')*'|"(?:[^"]|"")*")
      | (?P<number>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)
      | (?P<paren>[(),])
    )""",
    re.X,
)
_KINDS = {
    "params": "params",
    "param": "params",
    "parameters": "params",
    "parameter": "params",
    "metrics": "metrics",
    "metric": "metrics",
    "tags": "tags",
    "tag": "tags",
}
_ATTRIBUTES = {"attributes", "attribute", "attr", "run"}


def _tokens(text: str) -> list[tuple[str, str, str]]:
    out: list[tuple[str, str, str]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None or match.end() == pos:
            raise invalid(f"invalid filter {text!r}: cannot read it at {text[pos : pos + 20]!r}")
        kind = match.lastgroup or ""
        if kind == "key":
            out.append(("field", match.group("ident"), match.group("key")))
        else:
            out.append((kind, match.group(kind), ""))
        pos = match.end()
    return out


def _field(prefix: str, key: str) -> str:
    """One MLflow field as the query language names it."""
    if key[0] in '`"':
        key = key[1:-1]
    kind = _KINDS.get(prefix.lower())
    if kind is not None:
        return f"{kind}.`{key.replace('`', '')}`"
    if prefix.lower() in _ATTRIBUTES:
        name = key.lower()
        if name in ("status",):
            return "status"
        if name in ("start_time", "created"):
            return "started"
        if name == "end_time":
            return "ended"
        if name == "run_name":
            return "tags.`mlflow.runName`"
        if name in ("run_id", "run_uuid"):
            return "execution_id"
        raise invalid(f"filtering on attribute {key!r} is not supported by provledger")
    raise invalid(f"invalid filter: unknown identifier {prefix!r} (params, metrics, tags, ...)")


def _literal(field: str, token: tuple[str, str, str]) -> str:
    kind, text, _ = token
    if kind == "number":
        if field in ("started", "ended"):
            moment = when(text)
            return f"'{moment.isoformat()}'" if moment else "''"
        return text
    if kind != "string":
        raise invalid(f"invalid filter: expected a value after {field}, found {text!r}")
    value = text[1:-1].replace(text[0] * 2, text[0])
    if field == "status":
        status = LEDGER_STATUS.get(value.upper())
        if status is None:
            raise invalid(f"invalid filter: unknown run status {value!r}")
        value = status.value
    return "'" + value.replace("'", "''") + "'"


def translate_filter(text: str | None) -> tuple[str | None, list[str]]:
    """An MLflow filter string (`params.x = '0.5' and metrics.loss < 0.1`) as the query
    language's text, and the run ids it names (`attributes.run_id IN (...)`), applied apart."""
    if not text or not text.strip():
        return None, []
    tokens = _tokens(text)
    clauses: list[str] = []
    run_ids: list[str] = []
    i = 0
    while i < len(tokens):
        if tokens[i][0] == "field":
            field = _field(tokens[i][1], tokens[i][2])
        elif tokens[i][0] == "bare" and tokens[i][1].lower() in ("status", "run_name"):
            field = _field("attributes", tokens[i][1])
        else:
            raise invalid(f"invalid filter {text!r}: expected a field at {tokens[i][1]!r}")
        i += 1
        if i >= len(tokens):
            raise invalid(f"invalid filter {text!r}: a comparison is missing after {field}")
        kind, word, _ = tokens[i]
        lowered = word.lower()
        if kind == "op":
            op = "=" if word == "==" else word
            i += 1
            if i >= len(tokens):
                raise invalid(f"invalid filter {text!r}: a value is missing")
            value = _literal(field, tokens[i])
            i += 1
            if field != "execution_id":
                clauses.append(f"{field} {op} {value}")
            elif op == "=":
                run_ids.append(value[1:-1])
            else:
                raise invalid("attributes.run_id takes = or IN")
        elif kind == "bare" and lowered in ("like", "ilike"):
            i += 1
            if i >= len(tokens) or tokens[i][0] != "string":
                raise invalid(f"invalid filter {text!r}: LIKE takes a quoted pattern")
            pattern = _literal(field, tokens[i])[1:-1]
            glob = pattern.replace("*", "\\*").replace("%", "*").replace("_", "?")
            i += 1
            clauses.append(f"{field} like '{glob}'")
        elif kind == "bare" and lowered in ("in", "not"):
            negate = lowered == "not"
            if negate:
                i += 1
                if i >= len(tokens) or tokens[i][1].lower() != "in":
                    raise invalid(f"invalid filter {text!r}: expected IN after NOT")
            i += 1
            values: list[str] = []
            if i >= len(tokens) or tokens[i][1] != "(":
                raise invalid(f"invalid filter {text!r}: IN takes a list in parentheses")
            i += 1
            while i < len(tokens) and tokens[i][1] != ")":
                if tokens[i][1] != ",":
                    values.append(_literal(field, tokens[i]))
                i += 1
            i += 1
            if field == "execution_id" and not negate:
                run_ids += [v[1:-1] for v in values]
            elif field == "execution_id":
                raise invalid("attributes.run_id takes = or IN")
            else:
                clause = f"{field} in ({', '.join(values)})"
                clauses.append(f"not {clause}" if negate else clause)
        elif kind == "bare" and lowered == "is":
            raise invalid("IS (NOT) NULL is not supported by provledger's filter translation")
        else:
            raise invalid(f"invalid filter {text!r}: expected a comparison at {word!r}")
        if i < len(tokens):
            if tokens[i][0] != "bare" or tokens[i][1].lower() != "and":
                raise invalid(f"invalid filter {text!r}: clauses are joined by AND")
            i += 1
            if i >= len(tokens):
                raise invalid(f"invalid filter {text!r}: a clause is missing after AND")
    return (" and ".join(clauses) or None), run_ids


def translate_order(clauses: list[str]) -> tuple[str, bool] | None:
    """The first `order_by` clause (`metrics.loss DESC`) as (query-language field, descending)."""
    for clause in clauses:
        parts = clause.strip().rsplit(None, 1)
        descending = False
        if len(parts) == 2 and parts[1].upper() in ("ASC", "DESC"):
            descending = parts[1].upper() == "DESC"
            clause = parts[0]
        tokens = _tokens(clause)
        if len(tokens) != 1:
            raise invalid(f"invalid order_by clause {clause!r}")
        kind, prefix, key = tokens[0]
        if kind == "bare":
            prefix, key = "attributes", prefix
        field = _field(prefix, key)
        if field == "execution_id":
            raise invalid("ordering by run_id is not supported by provledger")
        try:
            parse_field(field)
        except QueryError as e:
            raise invalid(f"invalid order_by clause {clause!r}: {e}") from e
        return field, descending
    return None
