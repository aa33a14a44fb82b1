"""Reuse keys (domain/reuse.py): what makes two executions interchangeable, part by part."""

from __future__ import annotations

import msgspec
import pytest

from provledger.domain.record import CodeVersion, Environment, ExecutionRecord, FileRef, Spec
from provledger.domain.reuse import NotReusable, differences, key_parts, reuse_key

SHA_A, SHA_B = "a" * 64, "b" * 64


def _record(**changes: object) -> ExecutionRecord:
    base = ExecutionRecord(
        execution_id="r1",
        case="sim",
        command=["python", "sim.py"],
        spec=Spec(resolved={"pinned_version": 1, "values": {"seed": 3, "box": {"dt": 0.1}}}),
        inputs=[FileRef("in.txt", SHA_A), FileRef("mesh.h5", SHA_B)],
        code=CodeVersion(commit="c1", dirty=False),
        environment=Environment(platform="Linux-x86_64", packages={"numpy": "2.0", "scipy": "1"}),
        attributes={"reuse_packages": ["numpy"]},
    )
    return msgspec.structs.replace(base, **changes)


def test_the_key_ignores_the_id_case_times_and_undeclared_packages() -> None:
    other = _record(
        execution_id="r2",
        case="other",
        environment=Environment(platform="Linux-x86_64", packages={"numpy": "2.0", "scipy": "9"}),
        inputs=[FileRef("mesh.h5", SHA_B), FileRef("in.txt", SHA_A)],
    )
    assert reuse_key(_record()) == reuse_key(other)
    assert len(reuse_key(_record()) or "") == 64


@pytest.mark.parametrize(
    ("changes", "part", "what"),
    [
        ({"command": ["python", "sim.py", "-v"]}, "command", ""),
        ({"code": CodeVersion(commit="c2", dirty=False)}, "code", "commit"),
        (
            {"code": CodeVersion(commit="c1", dirty=True, diff_sha256=SHA_A)},
            "code",
            "uncommitted diff",
        ),
        (
            {
                "spec": Spec(
                    resolved={"pinned_version": 1, "values": {"seed": 3, "box": {"dt": 0.2}}}
                )
            },
            "config",
            "box.dt",
        ),
        ({"inputs": [FileRef("in.txt", SHA_B), FileRef("mesh.h5", SHA_B)]}, "input", "in.txt"),
        (
            {"environment": Environment(platform="Darwin", packages={"numpy": "2.0"})},
            "environment",
            "platform",
        ),
        (
            {"environment": Environment(platform="Linux-x86_64", packages={"numpy": "2.1"})},
            "environment",
            "package numpy",
        ),
    ],
)
def test_each_part_of_the_key_changes_it_and_is_named(
    changes: dict[str, object], part: str, what: str
) -> None:
    changed = _record(**changes)
    assert reuse_key(changed) != reuse_key(_record())
    found = differences(key_parts(changed), key_parts(_record()))
    assert [(d.part, d.what) for d in found] == [(part, what)]


def test_a_dirty_tree_without_its_diff_hash_has_no_key() -> None:
    dirty = _record(code=CodeVersion(commit="c1", dirty=True))
    assert reuse_key(dirty) is None
    with pytest.raises(NotReusable, match="dirty"):
        key_parts(dirty)


def test_an_input_without_a_sha256_has_no_key() -> None:
    assert reuse_key(_record(inputs=[FileRef("s3://bucket/x")])) is None
