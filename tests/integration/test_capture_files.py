"""Capture adapters on real files: hashing, config loading, pinning, git state, processes."""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import pytest
import yaml

from provledger.adapters.capture.config import load_config
from provledger.adapters.capture.errors import CaptureError
from provledger.adapters.capture.gitstate import git_state
from provledger.adapters.capture.hashing import directory_entries, file_ref, file_refs, sha256_file
from provledger.adapters.capture.pinning import pin, write_pinned
from provledger.adapters.capture.process import run_process, tail
from tests.support.git import committed_repo, git

FAIR = (
    Path(__file__).resolve().parents[3]
    / "shared/samples/fair-cli/FAIRDataPipeline/pyDataPipeline/tests/ext/write_csv.yaml"
)


def test_file_hashes_match_hashlib(tmp_path: Path) -> None:
    path = tmp_path / "x.bin"
    path.write_bytes(b"abc" * 100_000)
    assert sha256_file(path) == hashlib.sha256(b"abc" * 100_000).hexdigest()
    ref = file_ref(path)
    assert (ref.size, ref.sha256) == (300_000, sha256_file(path))


def test_many_files_hash_in_parallel_to_the_same_digests(tmp_path: Path) -> None:
    paths = []
    for i in range(40):
        p = tmp_path / f"f{i}.txt"
        p.write_text(str(i))
        paths.append(p)
    refs = file_refs(paths)
    assert [r.sha256 for r in refs] == [
        hashlib.sha256(str(i).encode()).hexdigest() for i in range(40)
    ]


def test_a_directory_hash_changes_with_any_file_inside(tmp_path: Path) -> None:
    (tmp_path / "d" / "sub").mkdir(parents=True)
    (tmp_path / "d" / "a.txt").write_text("a")
    (tmp_path / "d" / "sub" / "b.txt").write_text("b")
    before = file_ref(tmp_path / "d")
    assert before.size == 2
    assert set(directory_entries(tmp_path / "d")) == {"a.txt", "sub/b.txt"}
    (tmp_path / "d" / "sub" / "b.txt").write_text("B")
    assert file_ref(tmp_path / "d").sha256 != before.sha256


def test_an_input_that_does_not_exist_is_named(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match=r"no such file or directory: nope\.dat"):
        file_refs([tmp_path / "nope.dat"], uris=["nope.dat"])


def test_a_missing_config_is_named(tmp_path: Path) -> None:
    with pytest.raises(CaptureError, match=r"missing\.toml: config file not found"):
        load_config(tmp_path / "missing.toml")


def test_a_config_that_is_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_bytes(b"x: \xff\xfe\n")
    with pytest.raises(CaptureError, match="not UTF-8"):
        load_config(path)


def test_a_loaded_config_keeps_its_text_and_sha256(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text('a = 1\n[b]\nc = "d"\n')
    loaded = load_config(path)
    assert loaded.text == path.read_text()
    assert loaded.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert loaded.data == {"a": 1, "b": {"c": "d"}}


def test_a_pinned_config_pins_every_file_it_names_and_writes_defaults(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "in.csv").write_text("1,2\n")
    config = tmp_path / "run.yaml"
    config.write_text("read:\n  - path: data/in.csv\nwrite_data_store: data\nname: x\n")
    pinned, refs = pin(
        load_config(config),
        cwd=tmp_path,
        inputs=[],
        outputs=["o.csv"],
        command=["sim"],
        case="run",
        namespace="default",
        code=None,
    )
    assert [(r.uri, r.role) for r in refs] == [
        ("run.yaml", "config"),
        ("data/in.csv", "config:read[0].path"),
    ]
    assert pinned["run"] == {
        "case": "run",
        "namespace": "default",
        "command": ["sim"],
        "shell": False,
        "outputs": ["o.csv"],
    }
    out = tmp_path / "run.working.yaml"
    write_pinned(pinned, out)
    assert yaml.safe_load(out.read_text()) == pinned
    with pytest.raises(CaptureError, match=r"\.yaml, \.yml or \.json"):
        write_pinned(pinned, tmp_path / "x.toml")


@pytest.mark.skipif(not FAIR.is_file(), reason="shared FAIR samples absent")
def test_a_real_fair_working_config_pins(tmp_path: Path) -> None:
    loaded = load_config(FAIR)
    pinned, refs = pin(
        loaded,
        cwd=FAIR.parent,
        inputs=[],
        outputs=[],
        command=[],
        case="fair",
        namespace="default",
        code=None,
    )
    assert (
        pinned["values"]["run_metadata"]["latest_commit"]
        == "221bfe8b52bbfb3b2dbdc23037b7dd94b49aaa70"
    )
    assert refs[0].sha256 == hashlib.sha256(FAIR.read_bytes()).hexdigest()


def test_git_state_reads_commit_branch_dirtiness_and_remote(tmp_path: Path) -> None:
    committed_repo(tmp_path, "f.txt", "1", tag="v1")
    git(tmp_path, "remote", "add", "origin", "https://example.org/r.git")
    state = git_state(tmp_path)
    assert state is not None
    assert (state.branch, state.tag, state.dirty, state.repository) == (
        "trunk",
        "v1",
        False,
        "https://example.org/r.git",
    )
    (tmp_path / "f.txt").write_text("2")
    state = git_state(tmp_path)
    assert state is not None
    assert state.dirty is True


def test_outside_a_repository_there_is_no_git_state(tmp_path: Path) -> None:
    assert git_state(tmp_path) is None


def test_a_process_keeps_its_full_output_and_a_tail(tmp_path: Path) -> None:
    code = "import sys\nfor i in range(200): print(i)\nprint('bad', file=sys.stderr)\nsys.exit(4)"
    result = run_process([sys.executable, "-c", code], tmp_path, tmp_path / "logs", echo=False)
    assert result.exit_code == 4
    assert not result.succeeded
    assert result.stdout_path.read_text().count("\n") == 200
    assert result.stdout_tail[-1] == "199"
    assert len(result.stdout_tail) == 50
    assert result.stderr_tail == ["bad"]
    assert tail(tmp_path / "nothing.log") == []


def test_a_command_that_is_not_found_is_a_failed_result(tmp_path: Path) -> None:
    result = run_process(["no-such-program-xyz"], tmp_path, tmp_path / "logs", echo=False)
    assert (result.exit_code, result.error) == (127, "command not found: no-such-program-xyz")
