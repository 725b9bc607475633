"""`--where` filters: parsing, clear errors, and each party's local evaluation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tessera.analyses.where import Filter

FRAME = pd.DataFrame({
    "stage": pd.array(["I", "IV", None, "III", "IV"], dtype="string"),
    "age": [50.0, 71.0, 80.0, None, 69.0],
    "copd": [0, 1, 1, 0, None],
    "diagnosed": pd.to_datetime(["2019-05-01", "2021-01-01", None, "2020-06-30", "2022-03-03"]),
})  # fmt: skip


def passed(text: str) -> list[int]:
    condition = Filter.parse(text)
    owners = dict.fromkeys(FRAME.columns, "registry")
    assert set(condition.local(owners)) == set(range(len(condition.comparisons)))
    table = {
        f"where:{i}": np.stack([c.on_frame(FRAME), np.ones(len(FRAME))], axis=1)
        for i, c in enumerate(condition.comparisons)
    }
    return np.flatnonzero(condition.evaluate(table)).tolist()


@pytest.mark.parametrize(
    ("text", "rows"),
    [
        ('stage == "IV"', [1, 4]),
        ('stage in ("III", "IV")', [1, 3, 4]),
        ('stage not in ["I"]', [1, 3, 4]),  # a missing stage is in no list and out of none
        ("age >= 70", [1, 2]),
        ("age < -1 or copd == 1", [1, 2]),
        ('stage == "IV" and not age >= 70', [4]),
        ("copd != 1", [0, 3]),
        ('diagnosed >= "2020-06-30"', [1, 3, 4]),
        ("age > copd", [0, 1, 2]),
    ],
)
def test_filters_select_the_rows_pandas_would(text, rows):
    assert passed(text) == rows


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("stage ==", "is not an expression"),
        ("len(stage) > 2", "cannot use"),
        ("1 < age < 5", "cannot use"),
        ("stage in 'IV'", "needs a list"),
        ("age > 2 * 3", "is not a number or a quoted text"),
        ("stage in (x,)", "is not a number or a quoted text"),
    ],
)
def test_malformed_filters_say_how_to_write_them(text, message):
    with pytest.raises(ValueError, match=message):
        Filter.parse(text)


def test_a_numeric_comparison_on_text_names_the_column_not_its_values():
    with pytest.raises(ValueError, match="'stage'") as error:
        Filter.parse("stage > 3").comparisons[0].on_frame(FRAME)
    assert "IV" not in str(error.value)


def test_comparisons_across_parties_are_left_to_mpc():
    condition = Filter.parse('stage == "IV" and age > copd')
    assert condition.local({"stage": "registry", "age": "registry", "copd": "gp"}) == {
        0: "registry"
    }
    assert condition.columns == ("stage", "age", "copd")
