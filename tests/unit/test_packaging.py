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


LAYERS = {  # a layer and the layers it must never import
    "domain": ("application", "projections", "adapters"),
    "projections": ("application", "adapters"),
    "application": ("adapters",),
}


def test_imports_point_down_the_layers_only() -> None:
    import re

    src = Path(__file__).resolve().parents[2] / "src"
    wrong = []
    for layer, forbidden in LAYERS.items():
        for path in (src / layer).rglob("*.py"):
            depth = len(path.relative_to(src).parts) - 1
            up = re.escape("." * (depth + 1))
            pattern = re.compile(
                rf"^\s*from\s+(?:{up}|provledger\.)({'|'.join(forbidden)})\b", re.M
            )
            wrong += [
                f"{path.relative_to(src)}: {m.group(0).strip()}"
                for m in pattern.finditer(path.read_text())
            ]
    assert wrong == []


def test_the_adapters_root_holds_only_the_composition_root_settings_and_presenters() -> None:
    adapters = Path(__file__).resolve().parents[2] / "src" / "adapters"
    loose = sorted(p.name for p in adapters.glob("*.py"))
    assert loose == ["__init__.py", "bootstrap.py", "presenters.py", "settings.py"]
