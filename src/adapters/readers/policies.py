"""Which config fields each importer's deltas compare (see domain.deltas.DeltaPolicy)."""

from __future__ import annotations

from ...domain.deltas import DeltaPolicy

E3SM_DELTA_FIELDS = (
    "spec.resolved.compset",
    "spec.resolved.compset_alias",
    "spec.resolved.grid_name",
    "spec.resolved.grid_resolution",
    "spec.resolved.initialization_type",
    "spec.resolved.compiler",
    "spec.resolved.mpilib",
    "code.tag",
    "code.commit",
    "code.branch",
    "code.repository",
    "spec.resolved.campaign",
    "spec.resolved.experiment_type",
)


def importer_policies() -> dict[str, DeltaPolicy]:
    return {"e3sm": DeltaPolicy(include=E3SM_DELTA_FIELDS, exclude=())}
