"""MLflow's tracking REST API (`/api/2.0/mlflow/`, `/ajax-api/2.0/mlflow/`) and its artifact
service (`/api/2.0/mlflow-artifacts/`), so an unmodified MLflow client records into the ledger.

An experiment is a case of the `mlflow` namespace, a run an execution (mapped by
importers/mlflow_map.py, as an imported store would be). Every call that logs is one snapshot
of the run through `Ledger.record`, the update path: params fill in, metric points append, tags
annotate, the status moves from running to final once. A log-batch is one `record` call.
Artifacts are stored content-addressed by sha256 in the archive (`files/sha256/…`, as the sync
endpoints and `provledger run --keep` store files) and listed on the run as artifacts.

What the ledger does not keep (model registry, traces, ...) answers MLflow's own error shape
with a 4xx, never a 5xx (docs/api.md, "MLflow tracking API").
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Coroutine
from typing import Any
from uuid import UUID

import msgspec
from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from ....application.record_executions import Outcome
from ....domain.errors import DomainError
from ....domain.execution import Execution
from ....domain.ids import case_id, execution_id
from ....domain.query import QueryError, parse, parse_field
from ....domain.record import ExecutionRecord, FileRef, MetricPoint, Status
from ....domain.rules import validated
from ...importers import mlflow_map
from ..deps import Reader, Services, ServicesDep, Writer, writing
from ..errors import ApiError
from . import mlflow_shapes as shapes
from .mlflow_shapes import MlflowError, invalid, not_found

NAMESPACE = mlflow_map.NAMESPACE
ARTIFACTS = "artifacts"
MAX_RESULTS = 1000
_STATUS_CODES = {
    400: "INVALID_PARAMETER_VALUE",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "RESOURCE_DOES_NOT_EXIST",
    409: "RESOURCE_ALREADY_EXISTS",
    413: "INVALID_PARAMETER_VALUE",
    415: "INVALID_PARAMETER_VALUE",
    422: "INVALID_PARAMETER_VALUE",
    503: "TEMPORARILY_UNAVAILABLE",
}
NOT_KEPT = {
    "registered-models": "the model registry",
    "model-versions": "the model registry",
    "traces": "traces",
    "logged-models": "logged models",
    "datasets": "evaluation datasets",
    "prompts": "prompts",
    "scorers": "scorers",
    "gateway": "the AI gateway",
    "webhooks": "webhooks",
}


class MlflowRoute(APIRoute):
    """Every error, auth included, in MLflow's shape: `{"error_code", "message"}`."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def route(request: Request) -> Response:
            try:
                return await handle(request)
            except MlflowError as e:
                return JSONResponse(e.body(), status_code=e.status)
            except ApiError as e:
                code = _STATUS_CODES.get(e.status, "INVALID_PARAMETER_VALUE")
                status = e.status if 400 <= e.status < 500 else 503
                return JSONResponse({"error_code": code, "message": e.message}, status)
            except (DomainError, ValueError) as e:
                return JSONResponse(invalid(str(e)).body(), status_code=400)

        return route


def _router(prefix: str) -> APIRouter:
    return APIRouter(prefix=prefix, tags=["mlflow"], route_class=MlflowRoute)


class Tracking:
    """Experiments created without runs yet, and which case each run is in (a cache: the
    ledger is the truth, looked up on a miss)."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.ledger = services.ledger
        self.experiments: dict[str, dict[str, str]] = {}  # name -> tags
        self.hashed: dict[str, str] = {}  # hashed experiment id -> name
        self.cases: dict[str, str] = {}  # run id -> case name
        self.lock = threading.Lock()

    # -- experiments ----------------------------------------------------------------------
    def remember(self, name: str) -> None:
        with self.lock:
            self.experiments.setdefault(name, {})
            experiment = shapes.experiment_id_of(name)
            if experiment.startswith("h"):
                self.hashed[experiment] = name

    def exists(self, name: str) -> bool:
        if name == shapes.DEFAULT_NAME or name in self.experiments:
            return True
        self.ledger.catch_up()
        return self.ledger.queries.case(f"{NAMESPACE}/{mlflow_map.case_name(name)}") is not None

    def name_of(self, experiment_id: str) -> str:
        name = shapes.name_in_id(experiment_id) or self.hashed.get(experiment_id)
        if name is None and experiment_id.startswith("h"):
            for row in self._case_rows():
                if shapes.experiment_id_of(row["name"]) == experiment_id:
                    name = row["name"]
        if name is None:
            raise not_found(f"No Experiment with id={experiment_id} exists")
        return name

    def _case_rows(self) -> list[dict[str, Any]]:
        self.ledger.catch_up()
        page = self.ledger.queries.list_cases(namespace=NAMESPACE, limit=MAX_RESULTS)
        return list(page.items)

    def all_names(self) -> list[str]:
        names = {shapes.DEFAULT_NAME, *self.experiments}
        known = {mlflow_map.case_name(n) for n in names}
        names |= {r["name"] for r in self._case_rows() if r["name"] not in known}
        return sorted(names)

    # -- runs -----------------------------------------------------------------------------
    def case_of(self, run_id: str) -> str:
        case = self.cases.get(run_id)
        if case is not None:
            return case
        self.ledger.catch_up()
        rows = self.ledger.queries.executions_matching(run_id)
        rows = [r for r in rows if r["namespace"] == NAMESPACE]
        if not rows:
            raise not_found(f"Run '{run_id}' not found")
        self.cases[run_id] = rows[0]["case_name"]
        return str(rows[0]["case_name"])

    def execution(self, run_id: str) -> Execution:
        case = self.case_of(run_id)
        found = self.ledger.events.get(execution_id(case_id(NAMESPACE, case), run_id))
        if not isinstance(found, Execution):
            raise not_found(f"Run '{run_id}' not found")
        return found

    def snapshot(self, run_id: str, **fields: Any) -> ExecutionRecord:
        """What one call adds to a run, as a record the update path merges."""
        return ExecutionRecord(
            execution_id=run_id,
            case=self.case_of(run_id),
            namespace=NAMESPACE,
            status=fields.pop("status", Status.UNKNOWN),
            **fields,
        )

    def record(self, request: Request, principal: Any, record: ExecutionRecord) -> None:
        try:
            record = validated(record)
        except DomainError as e:
            raise invalid(str(e)) from e
        with writing(self.services, principal, request):
            (result,) = self.ledger.record([record], catch_up=False)
        if result.outcome is Outcome.CONFLICT:
            raise invalid(
                f"run {record.execution_id!r} already has other values for: "
                f"{', '.join(result.conflicting_fields)}; the ledger never changes a logged "
                "value (nothing changed)"
            )
        self.cases[record.execution_id] = record.case


def _tracking(services: Services) -> Tracking:
    found = getattr(services, "_mlflow_tracking", None)
    if found is None:
        found = Tracking(services)
        services._mlflow_tracking = found  # type: ignore[attr-defined]
    return found


async def _body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = msgspec.json.decode(raw)
    except msgspec.DecodeError as e:
        raise invalid(f"the body is not valid JSON: {e}") from e
    if not isinstance(data, dict):
        raise invalid("the body must be a JSON object")
    return data


def _text(data: dict[str, Any], key: str, *, required: bool = True) -> str:
    value = data.get(key)
    if value is None or value == "":
        if required:
            raise invalid(f"Missing value for required parameter '{key}'")
        return ""
    if isinstance(value, (dict, list)):
        raise invalid(f"'{key}' must be a string")
    return str(value)


def _run_id(data: dict[str, Any]) -> str:
    return _text({"run_id": data.get("run_id") or data.get("run_uuid")}, "run_id")


def _pairs(items: Any, what: str) -> dict[str, str]:
    if items in (None, ""):
        return {}
    if not isinstance(items, list):
        raise invalid(f"'{what}' must be a list of key/value pairs")
    out: dict[str, str] = {}
    for item in items:
        if not isinstance(item, dict) or "key" not in item:
            raise invalid(f"each of '{what}' needs a key")
        out[str(item["key"])] = "" if item.get("value") is None else str(item["value"])
    return out


def _metric_points(items: Any) -> dict[str, list[MetricPoint]]:
    if items in (None, ""):
        return {}
    if not isinstance(items, list):
        raise invalid("'metrics' must be a list")
    raw: dict[str, list[mlflow_map.Point]] = {}
    for item in items:
        if not isinstance(item, dict) or "key" not in item or "value" not in item:
            raise invalid("each metric needs a key and a value")
        try:
            value = float(item["value"])
            point = mlflow_map.Point(
                int(item.get("timestamp") or 0), value, int(item.get("step") or 0), str(value)
            )
        except (TypeError, ValueError) as e:
            raise invalid(f"metric {item.get('key')!r}: {e}") from e
        raw.setdefault(str(item["key"]), []).append(point)
    metrics, _ = mlflow_map.metrics_of(raw)  # MLflow's NaN/inf points are not kept
    return metrics


def _json(data: Any) -> Response:
    return Response(msgspec.json.encode(data), media_type="application/json")


# -- tracking ---------------------------------------------------------------------------------
def tracking_router(prefix: str) -> APIRouter:
    router = _router(prefix)

    @router.get("/experiments/get-by-name", summary="MLflow: an experiment by name")
    def get_experiment_by_name(request: Request, services: ServicesDep, _: Reader) -> Response:
        tracking = _tracking(services)
        name = _text(dict(request.query_params), "experiment_name")
        if not tracking.exists(name):
            raise not_found(f"Could not find experiment with name '{name}'")
        return _json({"experiment": shapes.experiment_json(name, tracking.experiments.get(name))})

    @router.get("/experiments/get", summary="MLflow: an experiment by id")
    def get_experiment(request: Request, services: ServicesDep, _: Reader) -> Response:
        tracking = _tracking(services)
        name = tracking.name_of(_text(dict(request.query_params), "experiment_id"))
        return _json({"experiment": shapes.experiment_json(name, tracking.experiments.get(name))})

    @router.post("/experiments/create", summary="MLflow: create an experiment (a case)")
    async def create_experiment(request: Request, services: ServicesDep, _: Writer) -> Response:
        data = await _body(request)
        tracking = _tracking(services)
        name = _text(data, "name")
        if await run_in_threadpool(tracking.exists, name):
            raise MlflowError(
                400, "RESOURCE_ALREADY_EXISTS", f"Experiment '{name}' already exists."
            )
        tracking.remember(name)
        tracking.experiments[name].update(_pairs(data.get("tags"), "tags"))
        return _json({"experiment_id": shapes.experiment_id_of(name)})

    @router.post("/experiments/search", summary="MLflow: list experiments")
    def search_experiments(services: ServicesDep, _: Reader) -> Response:
        tracking = _tracking(services)
        names = tracking.all_names()
        return _json(
            {"experiments": [shapes.experiment_json(n, tracking.experiments.get(n)) for n in names]}
        )

    @router.post("/experiments/set-experiment-tag", summary="MLflow: tag an experiment")
    async def set_experiment_tag(request: Request, services: ServicesDep, _: Writer) -> Response:
        data = await _body(request)
        tracking = _tracking(services)
        name = await run_in_threadpool(tracking.name_of, _text(data, "experiment_id"))
        tracking.remember(name)
        tracking.experiments[name][_text(data, "key")] = _text(data, "value", required=False)
        return _json({})

    @router.post("/runs/create", summary="MLflow: start a run (an execution, running)")
    async def create_run(request: Request, services: ServicesDep, principal: Writer) -> Response:
        data = await _body(request)
        tracking = _tracking(services)
        experiment = str(data.get("experiment_id") or shapes.DEFAULT_ID)

        def create() -> dict[str, Any]:
            name = tracking.name_of(experiment)
            tracking.remember(name)
            run_id = uuid.uuid4().hex
            tags = _pairs(data.get("tags"), "tags")
            run_name = str(data.get("run_name") or tags.get("mlflow.runName") or run_id[:8])
            tags["mlflow.runName"] = run_name
            parent = tags.get(mlflow_map.PARENT_TAG)
            siblings = set()
            if parent:
                try:
                    if tracking.case_of(parent) == mlflow_map.case_name(name):
                        siblings.add(parent)
                except MlflowError:
                    pass
            experiment_id = shapes.experiment_id_of(name)
            run = mlflow_map.RunData(
                run_id=run_id,
                experiment_id=experiment_id,
                experiment_name=name,
                shown="api/2.0/mlflow",
                status=Status.RUNNING,
                start_ms=int(data["start_time"]) if data.get("start_time") else None,
                user_id=str(data.get("user_id") or "") or None,
                meta={
                    "run_name": run_name,
                    "artifact_uri": f"mlflow-artifacts:/{experiment_id}/{run_id}/{ARTIFACTS}",
                },
                tags=tags,
            )
            record = mlflow_map.to_record(run, siblings)
            tracking.record(request, principal, record)
            return {"run": shapes.run_json(record, record.tags)}

        return _json(await run_in_threadpool(create))

    @router.get("/runs/get", summary="MLflow: one run")
    def get_run(request: Request, services: ServicesDep, _: Reader) -> Response:
        execution = _tracking(services).execution(_run_id(dict(request.query_params)))
        return _json({"run": shapes.run_json(execution.record, execution.tags)})

    def writer(
        build: Callable[[Tracking, dict[str, Any]], ExecutionRecord],
        answer: Callable[[Tracking, str], Any] | None = None,
    ) -> Callable[..., Coroutine[Any, Any, Response]]:
        async def route(request: Request, services: ServicesDep, principal: Writer) -> Response:
            data = await _body(request)
            tracking = _tracking(services)

            def write() -> Any:
                record = build(tracking, data)
                tracking.record(request, principal, record)
                return answer(tracking, record.execution_id) if answer else {}

            return _json(await run_in_threadpool(write))

        return route

    def update(tracking: Tracking, data: dict[str, Any]) -> ExecutionRecord:
        run_id = _run_id(data)
        fields: dict[str, Any] = {}
        if data.get("status"):
            status = shapes.LEDGER_STATUS.get(str(data["status"]).upper())
            if status is None:
                raise invalid(f"unknown run status {data['status']!r}")
            fields["status"] = status
            if status in (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED):
                fields["ended"] = shapes.when(data.get("end_time"))
        if data.get("run_name"):
            fields["tags"] = {"mlflow.runName": str(data["run_name"])}
        return tracking.snapshot(run_id, **fields)

    def run_info(tracking: Tracking, run_id: str) -> dict[str, Any]:
        execution = tracking.execution(run_id)
        return {"run_info": shapes.run_json(execution.record, execution.tags)["info"]}

    def lifecycle(stage: str) -> Callable[[Tracking, dict[str, Any]], ExecutionRecord]:
        def build(tracking: Tracking, data: dict[str, Any]) -> ExecutionRecord:
            return tracking.snapshot(_run_id(data), tags={shapes.LIFECYCLE_TAG: stage})

        return build

    def metric(tracking: Tracking, data: dict[str, Any]) -> ExecutionRecord:
        metrics = _metric_points([{k: data.get(k) for k in ("key", "value", "timestamp", "step")}])
        return tracking.snapshot(_run_id(data), metrics=metrics)

    def param(tracking: Tracking, data: dict[str, Any]) -> ExecutionRecord:
        value = _text(data, "value", required=False)
        return tracking.snapshot(_run_id(data), params={_text(data, "key"): value})

    def tag(tracking: Tracking, data: dict[str, Any]) -> ExecutionRecord:
        value = _text(data, "value", required=False)
        return tracking.snapshot(_run_id(data), tags={_text(data, "key"): value})

    def batch(tracking: Tracking, data: dict[str, Any]) -> ExecutionRecord:
        return tracking.snapshot(
            _run_id(data),
            metrics=_metric_points(data.get("metrics")),
            params=_pairs(data.get("params"), "params"),
            tags=_pairs(data.get("tags"), "tags"),
        )

    def inputs(tracking: Tracking, data: dict[str, Any]) -> ExecutionRecord:
        refs = []
        for item in data.get("datasets") or []:
            dataset = item.get("dataset") if isinstance(item, dict) else None
            if not isinstance(dataset, dict) or not dataset.get("name"):
                raise invalid("each dataset input needs a dataset with a name")
            uri = f"mlflow-dataset:{dataset['name']}@{dataset.get('digest') or ''}"
            refs.append(FileRef(uri=uri, role="input"))
        return tracking.snapshot(_run_id(data), inputs=refs)

    for path, build, answer, summary in (
        ("/runs/update", update, run_info, "end a run: FINISHED, FAILED or KILLED"),
        ("/runs/delete", lifecycle("deleted"), None, "mark a run deleted (kept)"),
        ("/runs/restore", lifecycle("active"), None, "mark a deleted run active"),
        ("/runs/log-metric", metric, None, "log a metric point"),
        ("/runs/log-parameter", param, None, "log a param"),
        ("/runs/set-tag", tag, None, "set a tag"),
        ("/runs/log-batch", batch, None, "log metrics, params and tags: one ledger write"),
        ("/runs/log-inputs", inputs, None, "log dataset inputs"),
    ):
        router.add_api_route(
            path, writer(build, answer), methods=["POST"], summary=f"MLflow: {summary}"
        )

    @router.post("/runs/delete-tag", summary="MLflow: remove a tag (an annotation)")
    async def delete_tag(request: Request, services: ServicesDep, principal: Writer) -> Response:
        data = await _body(request)
        tracking = _tracking(services)

        def remove() -> None:
            run_id = _run_id(data)
            case = tracking.case_of(run_id)
            with writing(services, principal, request):
                tracking.ledger.annotate(
                    f"{NAMESPACE}/{case}/{run_id}", remove=[_text(data, "key")]
                )

        await run_in_threadpool(remove)
        return _json({})

    @router.get("/metrics/get-history", summary="MLflow: every point of a metric")
    def get_metric_history(request: Request, services: ServicesDep, _: Reader) -> Response:
        query = dict(request.query_params)
        key = _text(query, "metric_key")
        record = _tracking(services).execution(_run_id(query)).record
        points = record.metrics.get(key, [])
        return _json({"metrics": [shapes.metric_json(key, p) for p in points]})

    @router.post("/runs/search", summary="MLflow: search runs with a filter string")
    async def search_runs(request: Request, services: ServicesDep, _: Reader) -> Response:
        data = await _body(request)
        tracking = _tracking(services)
        return _json(await run_in_threadpool(_search, tracking, data))

    @router.api_route(
        "/{rest:path}",
        methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
        include_in_schema=False,
    )
    def not_kept(rest: str) -> Response:
        raise _not_kept(rest)

    return router


def _not_kept(rest: str) -> MlflowError:
    family = rest.strip("/").split("/")[0]
    feature = NOT_KEPT.get(family)
    if feature is not None:
        return MlflowError(
            404,
            "FEATURE_DISABLED",
            f"provledger keeps experiments, runs and artifacts; {feature} is not kept",
        )
    return MlflowError(
        404, "ENDPOINT_NOT_FOUND", f"provledger does not answer the MLflow endpoint {rest!r}"
    )


def _search(tracking: Tracking, data: dict[str, Any]) -> dict[str, Any]:
    ids = data.get("experiment_ids") or []
    if not isinstance(ids, list) or not ids:
        raise invalid("Missing value for required parameter 'experiment_ids'")
    cases = sorted({mlflow_map.case_name(tracking.name_of(str(i))) for i in ids})
    conditions = [f"namespace = {NAMESPACE}"]
    conditions.append(
        "case in (" + ", ".join("'" + c.replace("'", "''") + "'" for c in cases) + ")"
    )
    translated, run_ids = shapes.translate_filter(data.get("filter"))
    if translated:
        conditions.append(f"({translated})")
    view = str(data.get("run_view_type") or "ACTIVE_ONLY").upper()
    deleted = f"tags.`{shapes.LIFECYCLE_TAG}` = deleted"
    if view in ("ACTIVE_ONLY", "1"):
        conditions.append(f"not {deleted}")
    elif view in ("DELETED_ONLY", "2"):
        conditions.append(deleted)
    try:
        expr = parse(" and ".join(conditions))
        order_by = shapes.translate_order(list(data.get("order_by") or []))
        order = (parse_field(order_by[0]), order_by[1]) if order_by else None
    except QueryError as e:
        raise invalid(f"invalid filter {data.get('filter')!r}: {e}") from e
    try:
        limit = min(int(data.get("max_results") or MAX_RESULTS), 50_000)
    except (TypeError, ValueError) as e:
        raise invalid(f"max_results: {e}") from e
    tracking.ledger.catch_up()
    page = tracking.ledger.queries.list_executions(
        sort="-started",
        limit=limit,
        cursor=data.get("page_token") or None,
        query=expr,
        order=order,
    )
    runs = []
    for row in page.items:
        if run_ids and row["execution_id"] not in run_ids:
            continue
        execution = tracking.ledger.events.get(UUID(row["id"]))
        if isinstance(execution, Execution):
            runs.append(shapes.run_json(execution.record, execution.tags))
    out: dict[str, Any] = {"runs": runs}
    if page.next_cursor:
        out["next_page_token"] = page.next_cursor
    return out


def routers() -> list[APIRouter]:
    """Everything to include in the app: both prefixes MLflow's clients and UI use."""
    from .mlflow_artifacts import artifacts_router

    out = []
    for api in ("/api", "/ajax-api"):
        out.append(tracking_router(f"{api}/2.0/mlflow"))
        out.append(artifacts_router(f"{api}/2.0/mlflow-artifacts"))
        out.append(tracking_router(f"{api}/3.0/mlflow"))
    return out
