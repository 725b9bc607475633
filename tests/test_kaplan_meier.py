"""The plaintext Kaplan-Meier reference equals lifelines on data with ties and censoring."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifelines import KaplanMeierFitter

from tessera.analyses.kaplan_meier import kaplan_meier, median_survival, survival_at


def lifelines_table(time, event):
    fitter = KaplanMeierFitter().fit(time, event)
    table = fitter.event_table.drop(index=0.0, errors="ignore")
    return fitter, table


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 40), st.booleans()), min_size=1, max_size=200))
def test_equals_lifelines_on_tied_censored_data(rows):
    time = np.array([t for t, _ in rows], dtype=float)
    event = np.array([e for _, e in rows])
    ours = kaplan_meier(time, event)
    fitter, table = lifelines_table(time, event)
    assert ours["time"].tolist() == table.index.tolist()
    assert ours["at_risk"].tolist() == table["at_risk"].tolist()
    assert ours["events"].tolist() == table["observed"].tolist()
    expected = fitter.survival_function_.loc[ours["time"], "KM_estimate"].to_numpy()
    np.testing.assert_allclose(ours["survival"], expected, atol=1e-12)
    assert survival_at(ours, 0.5) == 1.0
    # lifelines forms S as exp(sum(log(...))): where S is exactly 1/2 its rounding decides
    if not np.isclose(ours["survival"], 0.5, rtol=0, atol=1e-9).any():
        assert median_survival(ours) == fitter.median_survival_time_


def test_rejects_bad_input():
    with pytest.raises(ValueError, match="same length"):
        kaplan_meier([1, 2], [1])
    with pytest.raises(ValueError, match="not negative"):
        kaplan_meier([-1.0], [1])
