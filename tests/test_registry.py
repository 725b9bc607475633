"""The analysis registry is the one list everyone reads: the example of docs/architecture.md
(an analysis added as its own module plus one registry entry) runs in local mode, may be
named by a study, is allowed by a station's default policy under its cell minimum, and is
reachable from the command line, with nothing else touched."""

from __future__ import annotations

import json
import re
import sys
import types
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from tessera.analyses import registry
from tessera.governance.studies import Study
from tessera.protocol.local import pool
from tessera.station.policy import Policy
from tessera.synth.cohort import generate

DOCS = Path(__file__).resolve().parents[1] / "docs" / "architecture.md"


@pytest.fixture
def above(monkeypatch):
    """The docs' example analysis, added exactly as the docs say."""
    module_code, entry_code = re.findall(r"```python\n(.*?)```", DOCS.read_text(), re.S)[:2]
    assert module_code.startswith("# src/tessera/analyses/above.py")
    module = types.ModuleType("tessera.analyses.above")
    exec(compile(module_code, "above.py", "exec"), module.__dict__)
    monkeypatch.setitem(sys.modules, "tessera.analyses.above", module)
    entry = eval(entry_code.split("\n", 1)[1].strip().rstrip(","), vars(registry))
    monkeypatch.setitem(registry._CATALOGUE, entry.name, entry)
    return entry


@pytest.fixture(scope="module")
def frames() -> dict[str, pd.DataFrame]:
    return dict(generate("nsclc", 1200, seed=4, registries=3).registries)


def test_an_added_analysis_runs_and_equals_pandas(above, frames):
    result = pool("above", frames, {"column": "age_at_diagnosis", "cutoff": 80, "min_cell": 0})
    ages = pd.concat(frames.values())["age_at_diagnosis"]
    assert result.cells == [["> 80", int((ages > 80).sum())]]


def test_an_added_analysis_is_known_to_governance_and_policy(above):
    study = Study("t", "DUO:0000007", {"a": (), "b": ()}, ("above", "counts"), ("r",), "2099-01-01")
    assert "above" in study.analyses and Policy().allows("above")
    assert registry.analysis("above").options("pooled", {})["min_cell"] == 10
    assert "above" in registry.names("pooled") and "above" not in registry.names("joint")


def test_an_added_analysis_is_reachable_from_the_command_line(above, frames, tmp_path):
    from tessera.cli import app

    parties = []
    for name, frame in frames.items():
        frame.to_parquet(tmp_path / f"{name}.parquet")
        parties += ["--party", f"{name}={tmp_path / name}.parquet"]
    arguments = ["local", "run", "above", *parties, "--horizontal", "--epsilon", "inf",
                 "--set", "column=age_at_diagnosis", "--set", "cutoff=80",
                 "--set", "min_cell=0", "--format", "json"]  # fmt: skip
    outcome = CliRunner().invoke(app, arguments)
    assert outcome.exit_code == 0, outcome.output
    ages = pd.concat(frames.values())["age_at_diagnosis"]
    assert json.loads(outcome.stdout)["counts"] == [["> 80", int((ages > 80).sum())]]


def test_an_unknown_analysis_names_the_ones_there_are():
    with pytest.raises(ValueError, match="choose from crosstab, describe"):
        registry.analysis("anova")
    with pytest.raises(ValueError, match="does not run over registries"):
        registry.analysis("crosstab").defaults("pooled")
    assert isinstance(registry.ANALYSES, types.MappingProxyType)  # read-only to its readers
