"""The shape of the code (docs/architecture.md), checked: packages import only their own
layer's foundations, the three roles (hub, station, client) never import one another, no
module grows past the size one can read in a sitting, the hub stays free of the heavy
engines, and the analysis registry agrees with the modules it names."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from tessera.analyses import results
from tessera.analyses.fits import Fit
from tessera.analyses.registry import ANALYSES, MODES
from tessera.analyses.specs import Joint, Pooled

SOURCE = Path(__file__).resolve().parents[1] / "src" / "tessera"
# Lower layers first; a package may import its own package and any lower layer's.
LAYERS = (
    {"tessera", "errors"},
    {"schema"},
    {"crypto", "sources", "privacy", "mpc"},
    {"audit", "linkage"},
    {"analyses"},
    {"synth", "governance"},
    {"protocol", "web"},
    {"hub", "station", "client"},  # the roles: they meet in `protocol`, never directly
    {"testing"},
    {"demo"},
    {"cli"},
    {"__main__"},
)
LEVEL = {package: level for level, packages in enumerate(LAYERS) for package in packages}
MAX_LINES = 500


def package_of(path: Path) -> str:
    parts = path.relative_to(SOURCE).with_suffix("").parts
    return "tessera" if parts == ("__init__",) else parts[0]


def imported(path: Path) -> set[str]:
    """The tessera packages a module imports (at any depth of its code, lazy ones too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names = [node.module]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        if isinstance(node, ast.ImportFrom) and node.module == "tessera":
            names = [  # from tessera import client: the package; __version__: the root
                f"tessera.{a.name}" if (SOURCE / a.name).exists() else "tessera" for a in node.names
            ]
        for name in names:
            parts = name.split(".")
            if parts[0] == "tessera":
                found.add(parts[1] if len(parts) > 1 else "tessera")
    return found


MODULES = sorted(p for p in SOURCE.rglob("*.py") if "migrations" not in p.parts)


def test_every_package_has_a_layer():
    assert {package_of(p) for p in MODULES} <= set(LEVEL)


def violations(path: Path, mine: str) -> list[str]:
    """What module `path` of package `mine` imports against the layering."""
    return [
        f"{mine} (layer {LEVEL[mine]}) imports {other} (layer {LEVEL[other]})"
        for other in sorted(imported(path) - {mine})
        if LEVEL[other] >= LEVEL[mine]
    ]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SOURCE)))
def test_a_module_imports_only_lower_layers_and_no_other_role(path: Path):
    wrong = violations(path, package_of(path))
    assert not wrong, f"{path.relative_to(SOURCE)}: {wrong}; see docs/architecture.md"


def test_the_rule_catches_a_role_importing_a_role(tmp_path: Path):
    copy = tmp_path / "daemon.py"
    copy.write_text(
        (SOURCE / "station" / "daemon.py").read_text() + "\nfrom tessera import client\n"
    )
    assert violations(copy, "station") == ["station (layer 7) imports client (layer 7)"]
    assert violations(SOURCE / "station" / "daemon.py", "station") == []


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SOURCE)))
def test_no_module_exceeds_its_size(path: Path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(SOURCE)} has {lines} lines: split it"


def test_the_hub_loads_no_engine():
    """The hub relays and adds up ciphertexts: importing it loads neither the MPC engine
    nor the statistics stack, so it starts fast and its attack surface stays small."""
    code = (
        "import sys, tessera.hub.app; "
        "print(sorted(m for m in ('jax', 'spu', 'scipy', 'opendp', 'pandas', 'sklearn') "
        "if m in sys.modules))"
    )
    loaded = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True).stdout.strip()  # fmt: skip
    assert loaded == "[]"


@pytest.mark.parametrize("name", list(ANALYSES))
def test_the_registry_agrees_with_each_analysis_module(name: str):
    entry = ANALYSES[name]
    assert entry.modes and set(entry.modes) <= set(MODES)
    kinds = {"joint": (Joint,), "pooled": (Pooled, Fit)}
    for mode in entry.modes:
        assert isinstance(entry.implementation(mode), kinds[mode])
    module = __import__(entry.module, fromlist=["_"])
    assert {m for m in MODES if hasattr(module, m.upper())} == set(entry.modes)
    assert isinstance(getattr(results, entry.result), type)
    if entry.small_cells:
        for mode in entry.modes:
            assert entry.options(mode, {})[entry.small_cells] == 10
