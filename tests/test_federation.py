"""A whole federation of processes, as `tessera demo` runs it: a hub and four stations on
localhost, MPC among the stations. Results equal lifelines on the pooled data; a copy of
everything the hub keeps reveals no identifier, record value or result; a station that
was away picks up its work; a station killed mid-task fails the task cleanly."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from lifelines import KaplanMeierFitter

from tessera.audit import compare, read
from tessera.client import TaskFailed
from tessera.governance.studies import Federation
from tessera.testing.processes import RESEARCHER, STEWARDS, federation

pytestmark = pytest.mark.slow
KM = {
    "name": "kaplan-meier",
    "datasets": {"registry": "registry", "gp": "gp"},
    "helper": "helper",
    "join": "pseudonym",
    "time": "survival_months",
    "event": "vital_status",
    "by": "stage",
}


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("federation")
    with federation(workdir, 1500, 11, lambda _: None, session_seconds=25.0) as (fed, clients):
        researcher = clients[RESEARCHER]
        study = researcher.propose(
            "Survival by stage",
            "DUO:0000007",
            {"registry": ["registry"], "gp": ["gp"], "survey": ["survey"], "helper": []},
            analyses=["kaplan-meier", "crosstab", "cox"],
        )
        for steward in STEWARDS:
            clients[steward].approve(study)
        yield fed, clients, study


def station_table(fed, name: str) -> pd.DataFrame:
    return pd.read_parquet(fed.workdir / "stations" / name / f"{name}.parquet")


def test_kaplan_meier_through_the_federation_equals_lifelines(running):
    fed, clients, study = running
    result = clients[RESEARCHER].run(study, **KM, progress=False)
    joined = station_table(fed, "registry").merge(
        station_table(fed, "gp")[["pseudonym"]], on="pseudonym"
    )
    for stage, group in joined.groupby("stage"):
        fitter = KaplanMeierFitter().fit(group["survival_months"], group["vital_status"])
        curve = result.curves[stage]
        # times come back in fixed point (within 1e-5; the data's are 1e-4 apart), the step
        # heights from exact counts: read lifelines' curve just after each time
        times = fitter.survival_function_.index.to_numpy()
        np.testing.assert_allclose(curve["time"], times[times > 0], atol=1e-5)
        expected = fitter.survival_function_at_times(curve["time"] + 5e-5).to_numpy()
        np.testing.assert_allclose(curve["survival"], expected, atol=1e-6)
    assert result.logrank is not None and result.logrank[1] < 0.05


def test_a_station_away_picks_up_its_work_when_it_returns(running):
    fed, clients, study = running
    survey = fed.processes["survey"]
    survey.terminate()
    survey.wait(timeout=15)
    researcher = clients[RESEARCHER]
    task = researcher.submit(
        study,
        "crosstab",
        {"registry": "registry", "gp": "gp", "survey": "survey"},
        join="pseudonym",
        rows="stage",
        cols="smoking",
        min_cell=10,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the stations present decide; the survey cannot
        state = researcher.sync().tasks[task]
        if set(state.decisions) >= {"registry", "gp"}:
            break
        time.sleep(0.1)
    assert set(state.decisions) == {"registry", "gp"}
    assert researcher.status(task)["status"] == "pending"
    fed.restart("survey")
    cells = researcher.wait(task, progress=False).cells
    joined = station_table(fed, "registry").merge(station_table(fed, "gp"), on="pseudonym")
    joined = joined[joined["pseudonym"].isin(station_table(fed, "survey")["pseudonym"])]
    expected = joined.groupby(["stage", "smoking"]).size()
    for stage, smoking, n in cells:
        count = int(expected.get((stage, smoking), 0))
        assert n == (count if count >= 10 else None)


def test_every_station_keeps_a_verified_copy_of_the_hubs_ledger(running):
    fed, clients, _ = running
    hub_entries = clients[RESEARCHER].hub.entries()
    Federation.replay(hub_entries)
    kinds = {entry.kind for entry in hub_entries}
    assert {"study", "approve", "task", "decision", "release"} <= kinds
    for name in ("registry", "gp", "survey", "helper"):
        copy = read(fed.workdir / "stations" / name / "ledger.jsonl")
        Federation.replay(copy)
        compare(hub_entries, copy)  # the copy agrees entry by entry (and may lag)
        assert any(entry.kind == "decision" and entry.author == name for entry in copy)


def identifier_values(fed) -> set[str]:
    values: set[str] = set()
    for name in ("registry", "gp", "survey"):
        table = station_table(fed, name)
        for column in (
            "given_name",
            "surname",
            "date_of_birth",
            "postcode",
            "pseudonym",
            "street",
            "morphology",
            "practice_id",
        ):
            if column in table:
                values |= {v for v in table[column].dropna().astype(str) if len(v) >= 5}
    return values


def test_a_copy_of_the_hub_reveals_no_record_and_no_result(running):
    """After an analysis of its own ran through the hub, no identifier, record value or
    released figure is anywhere in the hub's files."""
    fed, clients, study = running
    job = {**KM, "by": "smoking"}
    result = clients[RESEARCHER].run(study, **job, progress=False)
    secrets = identifier_values(fed)
    released = set()
    for curve in result.curves.values():
        released |= {repr(float(s)) for s in curve["survival"] if 0 < s < 1}
    released.add(repr(float(result.logrank[0])))
    assert len(released) > 20 and len(secrets) > 1000
    secrets |= released
    files = [p for p in Path(fed.workdir / "hub").rglob("*") if p.is_file()]
    assert any(p.name == "hub.db" for p in files)
    for path in files:
        try:
            content = path.read_bytes()
        except FileNotFoundError:  # SQLite's rollback journal lives only during a write
            continue
        found = [s for s in secrets if in_plaintext(s.encode(), content)]
        assert not found, f"{path.name} holds {len(found)} plaintext values: {found[:3]}"


ENCODED = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=_-")


def in_plaintext(value: bytes, content: bytes) -> bool:
    """Whether `value` occurs in `content` other than inside an encoded blob of 40+ base64
    or hex characters (keys, signatures, ciphertexts), where a five-letter name turns up by
    chance in about one run in a hundred."""
    start = content.find(value)
    while start >= 0:
        left, right = start, start + len(value)
        while left > 0 and content[left - 1] in ENCODED:
            left -= 1
        while right < len(content) and content[right] in ENCODED:
            right += 1
        if right - left < 40:
            return True
        start = content.find(value, start + 1)
    return False


def test_a_station_killed_mid_task_fails_the_task_cleanly(running):
    fed, clients, study = running
    researcher = clients[RESEARCHER]
    task = researcher.submit(
        study,
        "cox",
        {"registry": "registry", "gp": "gp"},
        helper="helper",
        join="pseudonym",
        time="survival_months",
        event="vital_status",
        covariates=["age_at_diagnosis", "copd"],
    )
    deadline = time.monotonic() + 60
    while researcher.status(task)["status"] != "ready" and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(2.0)  # inside the MPC session
    os.killpg(fed.processes["gp"].pid, signal.SIGKILL)
    fed.processes["gp"].wait(timeout=15)
    with pytest.raises(TaskFailed, match="failed"):
        researcher.wait(task, timeout=120, progress=False)
    state = researcher.status(task)
    assert state["status"] == "failed" and "output" not in state
