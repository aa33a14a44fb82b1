"""Which config fields each importer's deltas compare (see domain.deltas.DeltaPolicy)."""

from __future__ import annotations

from ...domain.deltas import DeltaPolicy

# SimBoard's config snapshot (`SimulationConfigSnapshot`, CONFIG_DELTA_FIELDS): 13 fields, in
# its order, as record paths. `mpilib` is read (spec.resolved.mpilib) but not compared, as in
# SimBoard. Archives carry no simulation type (SimBoard stamps `unknown` on every parsed one),
# so `simulation_type` only differs for records that set it themselves.
E3SM_SIMBOARD_NAMES = {
    "spec.resolved.compset": "compset",
    "spec.resolved.compset_alias": "compset_alias",
    "spec.resolved.grid_name": "grid_name",
    "spec.resolved.grid_resolution": "grid_resolution",
    "spec.resolved.initialization_type": "initialization_type",
    "spec.resolved.compiler": "compiler",
    "code.tag": "git_tag",
    "code.commit": "git_commit_hash",
    "code.branch": "git_branch",
    "code.repository": "git_repository_url",
    "spec.resolved.campaign": "campaign",
    "spec.resolved.experiment_type": "experiment_type",
    "spec.resolved.simulation_type": "simulation_type",
}
E3SM_DELTA_FIELDS = tuple(E3SM_SIMBOARD_NAMES)


def importer_policies() -> dict[str, DeltaPolicy]:
    return {"e3sm": DeltaPolicy(include=E3SM_DELTA_FIELDS, exclude=())}


def display_name(importer: str | None, field: str) -> str:
    """The name a person knows a delta field by (SimBoard's for E3SM); the record path else."""
    if importer == "e3sm":
        return E3SM_SIMBOARD_NAMES.get(field, field)
    return field
