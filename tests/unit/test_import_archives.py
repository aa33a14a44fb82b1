"""Uploads are extracted safely: members escaping the directory, links and devices are refused
(and reported), the other members are still read."""

from __future__ import annotations

import io
import stat
import tarfile
import zipfile
from pathlib import Path

import pytest

from provledger.adapters.importers import archives as archives_module
from provledger.adapters.importers.archives import ArchiveError, extract, safe_target
from provledger.adapters.readers.walk import read_items
from tests.support.e3sm_archive import E3smRun

CAP = 1024 * 1024


def _tar_with(path: Path, extra: list[tarfile.TarInfo]) -> Path:
    run = E3smRun()
    with tarfile.open(path, "w:gz") as tar:
        for name, data in run.files().items():
            info = tarfile.TarInfo(f"{run.relative_dir()}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for info in extra:
            tar.addfile(info, io.BytesIO(b"evil") if info.isreg() else None)
    return path


def _member(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.linkname = link
    info.size = 4 if kind == tarfile.REGTYPE else 0
    return info


@pytest.mark.parametrize(
    "name", ["../escape.txt", "/etc/evil", "a/../../escape", "ac.user/../../x"]
)
def test_member_paths_that_escape_the_extraction_dir_are_refused(tmp_path: Path, name: str) -> None:
    assert safe_target(tmp_path, name) is None


def test_ordinary_member_paths_land_inside_the_extraction_dir(tmp_path: Path) -> None:
    assert safe_target(tmp_path, "./a/b/c.txt") == tmp_path / "a" / "b" / "c.txt"


def test_links_devices_and_escaping_tar_members_are_refused_and_the_rest_extracted(
    tmp_path: Path,
) -> None:
    archive = _tar_with(
        tmp_path / "up.tar.gz",
        [
            _member("../escape.txt"),
            _member("link", tarfile.SYMTYPE, "/etc/passwd"),
            _member("hard", tarfile.LNKTYPE, "ac.user"),
            _member("dev", tarfile.CHRTYPE),
            _member("fifo", tarfile.FIFOTYPE),
        ],
    )
    dest = tmp_path / "out"
    dest.mkdir()
    result = extract(archive, dest, CAP)
    reasons = dict(result.refused)
    assert reasons["../escape.txt"] == "refused: path escapes the extraction dir"
    assert reasons["link"] == "refused: symbolic link"
    assert reasons["hard"] == "refused: hard link"
    assert reasons["dev"] == "refused: device"
    assert reasons["fifo"] == "refused: FIFO"
    assert not (tmp_path / "escape.txt").exists()
    assert result.files == len(E3smRun().files())


def test_refused_members_are_per_item_errors_and_the_executions_are_still_read(
    tmp_path: Path,
) -> None:
    archive = _tar_with(tmp_path / "up.tgz", [_member("link", tarfile.SYMTYPE, "/etc/passwd")])
    found = list(read_items([archive], CAP))
    assert [i.error for i in found if i.error] == [f"{archive}!link: refused: symbolic link"]
    assert sum(1 for i in found if i.record) == 1


def test_a_zip_symlink_member_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "up.zip"
    with zipfile.ZipFile(path, "w") as zf:
        info = zipfile.ZipInfo("link")
        info.create_system = 3
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(info, "/etc/passwd")
        zf.writestr("../escape.txt", b"x")
        zf.writestr("ok/file.txt", b"x")
    dest = tmp_path / "out"
    dest.mkdir()
    result = extract(path, dest, CAP)
    assert dict(result.refused) == {
        "link": "refused: symbolic link",
        "../escape.txt": "refused: path escapes the extraction dir",
    }
    assert (dest / "ok" / "file.txt").read_bytes() == b"x"


def test_a_corrupt_archive_is_one_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "broken.tar.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00not really")
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(ArchiveError, match="cannot read archive"):
        extract(path, dest, CAP)
    found = list(read_items([path], CAP))
    assert len(found) == 1
    assert found[0].error is not None
    assert found[0].error.startswith(f"{path}: cannot read archive")


def test_a_truncated_tar_gz_keeps_the_members_before_the_damage(tmp_path: Path) -> None:
    whole = _tar_with(tmp_path / "whole.tar.gz", []).read_bytes()
    cut = tmp_path / "cut.tar.gz"
    cut.write_bytes(whole[: len(whole) * 2 // 3])
    found = list(read_items([cut], CAP))
    assert any(i.error and "corrupt or truncated" in i.error for i in found)


def test_members_are_copied_with_a_byte_cap(tmp_path: Path) -> None:
    path = tmp_path / "big.tar"
    with tarfile.open(path, "w") as tar:
        info = tarfile.TarInfo("big.bin")
        info.size = 5000
        tar.addfile(info, io.BytesIO(b"x" * 5000))
    dest = tmp_path / "out"
    dest.mkdir()
    extract(path, dest, 100)
    assert (dest / "big.bin").stat().st_size == 101


def test_execution_directories_in_an_upload_are_read_in_memory_not_extracted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = _tar_with(tmp_path / "up.tar.gz", [])
    written: list[Path] = []
    real_copy = archives_module._copy
    monkeypatch.setattr(
        archives_module, "_copy", lambda s, t, c: (written.append(t), real_copy(s, t, c))
    )
    [item] = read_items([archive], CAP)
    assert item.record is not None
    assert written == []


def test_an_execution_directory_listed_twice_in_a_tar_is_refused_the_second_time(
    tmp_path: Path,
) -> None:
    first, second = E3smRun(exec_id="1.250101-000000"), E3smRun(exec_id="2.250101-000000")
    with tarfile.open(tmp_path / "mixed.tar", "w") as tar:
        for run in (first, second):
            for name, data in run.files().items():
                info = tarfile.TarInfo(f"{run.relative_dir()}/{name}")
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
        late = tarfile.TarInfo(f"{first.relative_dir()}/late.txt")
        tar.addfile(late, io.BytesIO(b""))
    found = list(read_items([tmp_path / "mixed.tar"], CAP))
    assert sum(1 for i in found if i.record) == 2
    [error] = [i.error for i in found if i.error]
    assert "late.txt: refused: belongs to an execution directory already read" in error


def test_a_huge_member_of_an_uploaded_execution_is_a_per_item_error(tmp_path: Path) -> None:
    run = E3smRun(extra={"e3sm_timing.huge": b"x" * (CAP + 1)}, omit=("e3sm_timing",))
    archive = tmp_path / "up.tar"
    with tarfile.open(archive, "w") as tar:
        for name, data in run.files().items():
            info = tarfile.TarInfo(f"{run.relative_dir()}/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    [item] = read_items([archive], CAP)
    assert item.error is not None
    assert item.error.startswith(f"{archive}!{run.relative_dir()}/e3sm_timing.huge: file is larger")
