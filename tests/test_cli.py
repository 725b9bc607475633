"""The `tessera validate` and `tessera schema` commands a data steward runs, and the
`tessera local` commands' common runner over registries (MPC runs are in test_vertical)."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from typer.testing import CliRunner

from tessera.analyses.registry import names
from tessera.cli import app
from tessera.synth import generate

runner = CliRunner()


def test_validate_accepts_a_canonical_csv_and_lists_every_problem_of_a_bad_one(tmp_path):
    registry = generate("nsclc", 200, seed=3).registry
    good = tmp_path / "registry.csv"
    registry.to_csv(good, index=False)
    result = runner.invoke(app, ["validate", str(good), "--table", "registry"])
    assert result.exit_code == 0, result.output
    assert "ok: 200 rows fit the canonical 'registry' table" in result.output

    bad = registry.drop(columns="survival_months")
    bad.loc[4, "stage"] = "V"
    bad.loc[9, "diagnosis_date"] = "2019-31-12"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    result = runner.invoke(app, ["validate", str(tmp_path / "bad.csv"), "--table", "registry"])
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert "missing column" in result.output and "survival_months" in result.output
    assert "'V' in row 5" in result.output
    assert "'2019-31-12' in row 10" in result.output


def test_schema_shows_a_table_and_refuses_an_unknown_one():
    result = runner.invoke(app, ["schema", "gp"])
    assert (
        result.exit_code == 0 and "## `gp`" in result.output and "charlson_index" in result.output
    )
    assert "## `registry`" not in result.output
    assert runner.invoke(app, ["schema", "gps"]).exit_code == 2


@pytest.fixture(scope="module")
def registries() -> dict[str, pd.DataFrame]:
    """Three regional registries with one schema."""
    return generate("nsclc", 900, seed=5, registries=3).registries


def parties(registries: dict[str, pd.DataFrame], directory) -> list[str]:
    """Each registry's table written to `directory`, as --party options."""
    options = []
    for name, frame in registries.items():
        frame.to_parquet(directory / f"{name}.parquet")
        options += ["--party", f"{name}={directory / name}.parquet"]
    return options


def test_local_run_reaches_any_registry_analysis_by_name(registries, tmp_path):
    pooled = pd.concat(registries.values(), ignore_index=True)
    base = ["local", "run", "counts", *parties(registries, tmp_path), "--horizontal"]
    done = runner.invoke(app, [*base, "--set", 'by=["stage","sex"]', "--set", "min_cell=0",
                               "--format", "json"])  # fmt: skip
    assert done.exit_code == 0, done.output
    answer = json.loads(done.stdout)
    expected = pooled.groupby(["stage", "sex"]).size()
    assert answer["epsilon"] is None
    assert {(s, x): n for s, x, n in answer["counts"] if n} == expected.to_dict()

    listed = runner.invoke(app, ["local", "run", "--help"])
    assert listed.exit_code == 0 and all(name in listed.output for name in names())


def test_a_named_command_and_local_run_run_the_same_analysis(registries, tmp_path):
    files = parties(registries, tmp_path)
    named = runner.invoke(app, ["local", "kaplan-meier", *files, "--horizontal", "--time",
                                "survival_months", "--event", "vital_status", "--by", "stage",
                                "--format", "json"])  # fmt: skip
    generic = runner.invoke(app, ["local", "run", "kaplan-meier", *files, "--horizontal",
                                  "--set", "time=survival_months", "--set", "event=vital_status",
                                  "--set", "by=stage", "--format", "json"])  # fmt: skip
    assert named.exit_code == 0 and generic.exit_code == 0, named.output + generic.output
    assert json.loads(named.stdout) == json.loads(generic.stdout)
    assert set(json.loads(named.stdout)["groups"]) == set(registries["registry_1"]["stage"])


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["run", "nope"], "unknown analysis 'nope': choose from crosstab"),
        (["run", "counts", "--horizontal", "--set", "by"], "--set 'by': write KEY=VALUE"),
        (["run", "kaplan-meier", "--horizontal", "--set", "time=survival_months"],
         "kaplan-meier needs the option 'event': --set event=VALUE"),
        (["run", "crosstab", "--horizontal"], "crosstab does not run over registries"),
        (["run", "counts", "--set", 'by=["stage"]'], "counts does not run over data split"),
        (["run", "counts", "--horizontal", "--join", "pseudonym", "--helper"],
         "--helper, --join do not apply with --horizontal"),
        (["kaplan-meier", "--time", "survival_months", "--event", "vital_status", "--epsilon",
          "1", "--horizon", "60"], "--epsilon, --horizon apply only with --horizontal"),
        (["query", "--by", "stage", "--epsilon", "0"], "must be positive"),
        (["cox", "--horizontal", "--time", "survival_months", "--event", "vital_status",
          "--covariates", "ecog", "--ties", "efron"], "--horizontal fits Breslow's ties"),
    ],
)  # fmt: skip
def test_local_mistakes_are_one_line(registries, tmp_path, arguments, message):
    command, *rest = arguments
    done = runner.invoke(app, ["local", command, *parties(registries, tmp_path), *rest])
    assert done.exit_code == 2, done.output
    assert message in done.output and "Traceback" not in done.output
