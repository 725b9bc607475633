"""The `tessera validate` and `tessera schema` commands a data steward runs."""

from __future__ import annotations

from typer.testing import CliRunner

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
