"""The wheel must carry every sub-package: pyproject lists them (src/ maps to provledger)."""

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_package_under_src_is_listed_in_pyproject_and_exists() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
    listed = set(config["packages"])
    on_disk = {
        "provledger"
        + ("." + ".".join(d.relative_to(ROOT / "src").parts) if d != ROOT / "src" else "")
        for d in [ROOT / "src", *(p.parent for p in (ROOT / "src").rglob("__init__.py"))]
        if (d / "__init__.py").exists()
    }
    assert listed == on_disk
    assert config["package-dir"] == {"provledger": "src"}
