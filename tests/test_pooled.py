"""Pooled tasks through the federation: registry stations (each `tessera.station.Station`,
serving in a thread against an in-process hub) generate a key together, add up encrypted
counts with noise, withhold small cells, and key-switch the release to the researcher; each
charges its privacy budget, and refuses, on the ledger, what would exceed it."""

from __future__ import annotations

import datetime as dt
import json
import threading

import numpy as np
import pandas as pd
import pytest

from federated import URL, InProcessHub
from tessera.client import HubError, TaskFailed
from tessera.schema import codes
from tessera.station.config import StationConfig
from tessera.station.daemon import Station
from tessera.station.policy import Policy
from tessera.synth.cohort import generate

REGISTRIES = ("north", "south", "east")
BY = ["stage", "sex"]
LIMIT = 200.0  # each station's budget per dataset and study (the fits spend a lot of it)
STEWARDS: list = []  # the registries' stewards, once the federation runs


@pytest.fixture(scope="module")
def running(tmp_path_factory):
    directory = tmp_path_factory.mktemp("pooled")
    federation = InProcessHub(directory)
    parts = generate("nsclc", 3000, seed=5, registries=3).registries.values()
    frames = dict(zip(REGISTRIES, parts, strict=True))
    north = frames["north"]
    for stage in ("I", "II", "III", "IV"):  # a few small cells, so suppression has work to do
        north.loc[north.index[north["stage"] == stage][:5], "sex"] = "X"
    stations, threads = [], []
    for name, frame in frames.items():
        federation.join(name, "station", f"{name} registry")
        home = directory / "parties" / name
        frame.to_parquet(home / "registry.parquet")
        policy = Policy(epsilon_limit=LIMIT, min_cell=10)
        config = StationConfig(directory=home, hub=URL, address="127.0.0.1:9999",
                               datasets={"registry": home / "registry.parquet"}, policy=policy,
                               poll_seconds=0.2)  # fmt: skip
        station = Station(config, http=federation.http)
        threads.append(threading.Thread(target=station.serve, daemon=True))
        stations.append(station)
    stewards = [federation.join(f"steward-{n}", "steward", f"{n} registry") for n in REGISTRIES]
    STEWARDS[:] = stewards
    researcher = federation.join("researcher", "researcher", "University")
    study = researcher.propose(
        "Incidence by stage",
        "DUO:0000007",
        {name: ["registry"] for name in REGISTRIES},
        ["counts", "kaplan-meier"],
        expires=dt.date.today() + dt.timedelta(days=30),
    )
    for steward in stewards:
        steward.approve(study, "ok")
    for station, thread in zip(stations, threads, strict=True):
        station.publish()  # before any task names its dataset (serve publishes again)
        thread.start()
    yield researcher, study, frames, stations
    for station in stations:
        station.stopping.set()
    for thread in threads:
        thread.join(timeout=10)


def test_pooled_counts_reach_the_researcher_noised_and_suppressed(running):
    researcher, study, frames, _ = running
    datasets = {name: "registry" for name in REGISTRIES}
    task = researcher.query(study, "counts", datasets, epsilon=0.5, by=BY, min_cell=10)
    result = researcher.wait(task, timeout=120, progress=False)
    assert result.epsilon == 0.5 and result.registries == 3
    levels = {"stage": list(codes.STAGE), "sex": list(codes.SEX)}  # the schema's code lists
    truth = pd.concat(frames.values()).groupby(BY).size()
    shown = {(a, b): n for a, b, n in result.cells}
    assert set(shown) == {(a, b) for a in levels["stage"] for b in levels["sex"]}
    errors = []
    for (stage, sex), n in shown.items():
        count = int(truth.get((stage, sex), 0))
        if n is not None and count >= 30:
            errors.append(n - count)
    assert errors and max(abs(e) for e in errors) < 30  # noise of scale 2, not a leak
    # cells of 5 are withheld unless their noise reaches -5 or +5 (each about 8%, all four 4e-5)
    assert any(shown[(stage, "X")] is None for stage in levels["stage"])


def test_the_budget_is_charged_and_an_overdraft_refused_on_the_ledger(running):
    researcher, study, _, stations = running
    datasets = {name: "registry" for name in REGISTRIES}
    before = stations[0].budget.spent("registry", study)  # 0.5 if the first test ran here
    task = researcher.query(study, "counts", datasets, epsilon=0.4, by=["sex"], min_cell=10)
    researcher.wait(task, timeout=120, progress=False)
    spent = stations[0].budget.spent("registry", study)
    assert spent == pytest.approx(before + 0.4)
    overdraft = round(LIMIT - spent + 0.1, 6)
    over = researcher.query(study, "counts", datasets, epsilon=overdraft, by=["sex"],
                            min_cell=10)  # fmt: skip
    with pytest.raises(TaskFailed, match="budget"):
        researcher.wait(over, timeout=60, progress=False)
    ledger = researcher.sync()
    refusals = [e for e in ledger.entries if e.kind == "decision" and e.body["task"] == over]
    assert refusals and all(e.body["accept"] is False for e in refusals)
    assert "budget" in refusals[0].body["reason"]
    assert stations[0].budget.spent("registry", study) == pytest.approx(spent)


def test_the_hub_holds_only_ciphertexts(running):
    """The hub's messages and database hold no count in the clear: every aggregate it has
    is a list of ciphertexts, and the key shares are sealed."""
    researcher, *_ = running
    hub = researcher.hub
    tasks = [t for t in researcher.sync().tasks.values() if t.mode == "pooled"]
    sums = hub.get(f"/api/tasks/{tasks[0].task}/messages/sum")
    assert len(sums) == 1 and set(sums[0]["body"]) == {"ciphertexts"}
    dealings = hub.get(f"/api/tasks/{tasks[0].task}/messages/dealing")
    assert len(dealings) == 3
    for message in dealings:
        assert set(message["body"]["shares"]) == set(REGISTRIES)  # each sealed to its owner


def test_pooled_kaplan_meier_in_a_study_of_its_own(running):
    """A second study has a budget of its own; survival curves by stage come back noised
    (the counts per 6-month bin are large, so the curves stay close to the truth)."""
    researcher, _, frames, _ = running
    study = approved(researcher, "Survival by stage across registries", ["kaplan-meier"])
    datasets = {name: "registry" for name in REGISTRIES}
    task = researcher.query(study, "kaplan-meier", datasets, epsilon=1.0, time="survival_months",
                            event="vital_status", by="stage", step=6.0, horizon=60.0)  # fmt: skip
    result = researcher.wait(task, timeout=120, progress=False)
    pooled = pd.concat(frames.values())
    assert set(result.curves) == set(codes.STAGE)
    curve = result.curves["I"]
    assert curve["at_risk"].iloc[0] == pytest.approx((pooled["stage"] == "I").sum(), abs=40)
    assert result.logrank is not None and result.logrank[1] < 0.05


def approved(researcher, title: str, analyses: list[str]) -> str:
    study = researcher.propose(
        title,
        "DUO:0000007",
        {name: ["registry"] for name in REGISTRIES},
        analyses,
        expires=dt.date.today() + dt.timedelta(days=30),
    )
    for steward in STEWARDS:
        steward.approve(study, "ok")
    return study


def test_pooled_models_are_fitted_in_rounds_the_researcher_asks(running):
    """Logistic and Cox models over the registries: the researcher asks each Newton round,
    the stations answer with noisy encrypted sums at its coefficients. With a large epsilon
    (spread over the rounds) the estimates are close to statsmodels' pooled fits; each
    station charged the epsilon once, and the hub never held a coefficient in the clear."""
    import statsmodels.api as sm

    researcher, _, frames, stations = running
    study = approved(researcher, "Models across registries", ["logistic", "cox"])
    datasets = {name: "registry" for name in REGISTRIES}
    clip = {"age_at_diagnosis": [30, 95], "ecog": [0, 4]}
    task = researcher.query(study, "logistic", datasets, epsilon=60.0, target="vital_status",
                            features=list(clip), clip=clip)  # fmt: skip
    result = researcher.wait(task, timeout=180, progress=False)
    data = pd.concat(frames.values())[["vital_status", *clip]].dropna().astype(float)
    reference = sm.Logit(data["vital_status"], sm.add_constant(data[list(clip)])).fit(disp=0)
    assert result.epsilon == 60.0 and abs(result.n - len(data)) < 30
    for name, value in reference.params.items():
        assert result.coefficients[name] == pytest.approx(value, abs=reference.bse[name])
    assert stations[0].budget.spent("registry", study) == pytest.approx(60.0)
    asks = researcher.hub.get(f"/api/tasks/{task}/messages/round:0")
    assert "beta" not in json.dumps(asks)  # sealed to the stations
    with pytest.raises(HubError, match="only the recipient"):  # a station cannot ask
        stations[0].hub.post(f"/api/tasks/{task}/messages/round:0", {"done": True})

    task = researcher.query(study, "cox", datasets, epsilon=100.0, time="survival_months",
                            event="vital_status", covariates=list(clip), clip=clip, step=6.0,
                            horizon=60.0)  # fmt: skip
    result = researcher.wait(task, timeout=180, progress=False)
    data = pd.concat(frames.values())[["survival_months", "vital_status", *clip]].dropna()
    months = data["survival_months"].to_numpy(float)  # on the grid: up to the next 6 months,
    time = np.minimum(np.ceil(months / 6.0 - 1e-9) * 6.0, 60.0)  # censored at the horizon
    event = (data["vital_status"].to_numpy() > 0.5) & (months <= 60.0)
    cox = sm.PHReg(time, data[list(clip)].astype(float), status=event, ties="breslow").fit()
    for name, value, se in zip(clip, cox.params, cox.bse, strict=True):
        assert result.coefficients[name] == pytest.approx(value, abs=3 * se)  # 40 runs: 1.7
