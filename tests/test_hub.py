"""The hub's rules: each role may do only its own part, requests are signed and fresh, the
hub holds ciphertext only, and a task runs only in an approved, unexpired study."""

from __future__ import annotations

import base64
import datetime as dt
import json

import pytest
from sqlalchemy import create_engine, inspect, text

from federated import CROSSTAB, URL, approve, completed, populated, public_study, release
from tessera.audit import Entry, compare, read
from tessera.client import HubError
from tessera.crypto.requests import sign_request
from tessera.crypto.sealed import unseal
from tessera.hub.database import Base
from tessera.station.policy import Policy, refusal


@pytest.fixture
def parties(tmp_path):
    return populated(tmp_path)


def refused(call, status: int, match: str) -> None:
    with pytest.raises(HubError) as caught:
        call()
    assert caught.value.status == status and match in caught.value.reason, caught.value


def test_only_stewards_of_the_study_decide(parties):
    study = parties["study"]
    refused(lambda: parties["researcher"].approve(study), 403, "is not a steward")
    refused(lambda: parties["registry"].approve(study), 403, "is not a steward")
    outsider = parties["federation"].join("steward-x", "steward", "Elsewhere")
    refused(lambda: outsider.approve(study), 403, "decides for no station of the study")
    parties["steward-registry"].approve(study)
    refused(lambda: parties["steward-registry"].approve(study), 403, "already decided")


def test_only_researchers_propose_and_only_the_operator_invites(parties):
    steward = parties["steward-gp"]
    refused(
        lambda: steward.propose("t", "DUO:0000007", {"registry": [], "gp": []}, ["crosstab"]),
        403,
        "is not a researcher",
    )
    refused(lambda: parties["researcher"].invite("eve", "station", "E"), 403, "only the operator")
    with pytest.raises(ValueError, match="unknown purpose"):  # the SDK checks first
        parties["researcher"].propose("t", "DUO:9", {"registry": [], "gp": []}, ["crosstab"])
    bad = {
        "title": "t",
        "purpose": "DUO:9",
        "stations": {"registry": [], "gp": []},
        "analyses": ["crosstab"],
        "recipients": ["researcher"],
        "expires": "2030-01-01",
    }
    refused(lambda: parties["researcher"].hub.write("study", bad), 403, "unknown purpose")


def test_an_unapproved_or_refused_study_runs_nothing(parties):
    researcher, study = parties["researcher"], parties["study"]
    refused(lambda: researcher.submit(study, **CROSSTAB), 403, "the study is proposed")
    parties["steward-registry"].approve(study)
    parties["steward-gp"].refuse(study, "not our data-use agreement")
    parties["steward-helper"].approve(study)
    refused(lambda: researcher.submit(study, **CROSSTAB), 403, "the study is refused")


def test_an_expired_study_runs_nothing(parties):
    researcher = parties["researcher"]
    yesterday = dt.date.today() - dt.timedelta(days=1)
    study = researcher.propose(
        "old",
        "DUO:0000007",
        {"registry": ["registry"], "gp": ["gp"], "helper": []},
        ["crosstab"],
        expires=yesterday,
    )
    for name in ("registry", "gp", "helper"):
        parties[f"steward-{name}"].approve(study)
    refused(lambda: researcher.submit(study, **CROSSTAB), 403, "the study is expired")


def test_results_go_only_to_named_recipients(parties):
    approve(parties)
    steward = parties["steward-gp"]
    refused(lambda: steward.submit(parties["study"], **CROSSTAB), 403, "is not a researcher")
    other = parties["federation"].join("mallory", "researcher", "Elsewhere")
    refused(lambda: other.submit(parties["study"], **CROSSTAB), 403, "neither proposer")
    refused(
        lambda: parties["researcher"].submit(parties["study"], recipients=["mallory"], **CROSSTAB),
        403,
        "only to recipients",
    )


def test_the_hub_stores_ciphertext_and_a_station_sees_only_its_own_tasks(parties):
    approve(parties)
    federation = parties["federation"]
    survey = federation.join("survey", "station", "Survey")
    task = parties["researcher"].submit(parties["study"], **CROSSTAB)
    work = parties["gp"].hub.get("/api/work")
    assert [item["task"] for item in work["decide"]] == [task]
    assert survey.hub.get("/api/work") == {"decide": [], "run": []}
    refused(lambda: survey.status(task), 403, "has no part in task")
    refused(lambda: parties["steward-gp"].status(task), 403, "has no part in task")
    sealed = base64.b64decode(work["decide"][0]["parameters"])
    assert b"stage" not in sealed and b"crosstab" not in sealed
    opened = unseal(
        sealed,
        parties["gp"].identity,
        parties["researcher"].identity.public,
        f"task {task} parameters for gp",
    )
    assert json.loads(opened)["options"]["rows"] == "stage"
    with pytest.raises(ValueError):  # another station cannot open gp's copy
        unseal(
            sealed,
            parties["registry"].identity,
            parties["researcher"].identity.public,
            f"task {task} parameters for gp",
        )


def test_tampered_stale_replayed_and_unsigned_requests_are_refused(parties):
    http, me = parties["federation"].http, parties["researcher"].identity
    body = json.dumps({"entry": "{}", "attachment": {}}).encode()
    headers = sign_request(me, "POST", "/api/ledger", body)
    changed = http.post("/api/ledger", content=body.replace(b"{}", b"[]", 1), headers=headers)
    assert changed.status_code == 401 and "signature" in changed.json()["detail"]
    stale = sign_request(me, "POST", "/api/ledger", body, now=0)
    assert http.post("/api/ledger", content=body, headers=stale).status_code == 401
    first = http.post("/api/ledger", content=body, headers=headers)
    assert first.status_code == 422  # accepted as signed; the entry itself is malformed
    again = http.post("/api/ledger", content=body, headers=headers)
    assert again.status_code == 401 and "replay" in again.json()["detail"]
    assert http.post("/api/ledger", content=body).status_code == 401
    assert http.get("/api/studies").status_code == 401


def test_enrolment_tokens_are_single_use_and_bind_the_role(parties, tmp_path):
    from tessera.protocol.enrolment import Invitation, enrol

    federation = parties["federation"]
    token = federation.operator.invite("survey", "station", "Survey")
    enrol(URL, token, tmp_path / "a", http=federation.http)
    refused(lambda: enrol(URL, token, tmp_path / "b", http=federation.http), 403, "invitation")
    forged = Invitation("auditor-x", "steward", "Survey", "guess").token()
    refused(lambda: enrol(URL, forged, tmp_path / "c", http=federation.http), 403, "invitation")
    assert "token" not in str(federation.hub.lines()).replace('"token":', "").replace(
        "token_hash", ""
    )


def test_id_tokens_let_users_read_but_not_write(parties):
    http = parties["federation"].http
    token = parties["researcher"].login()
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert claims["sub"] == "researcher" and claims["aud"] == "tessera"
    assert claims["exp"] - claims["iat"] <= 900 and claims["role"] == "researcher"
    bearer = {"Authorization": f"Bearer {token}"}
    assert http.get("/api/studies", headers=bearer).json()[0]["id"] == parties["study"]
    assert http.post("/api/ledger", json={"entry": "{}"}, headers=bearer).status_code == 401
    assert http.get("/api/studies", headers={"Authorization": "Bearer x.y.z"}).status_code == 401


def test_a_task_runs_when_all_accept_and_fails_cleanly_without_partial_results(parties):
    approve(parties)
    researcher, stations = parties["researcher"], ("registry", "gp", "helper")
    task = researcher.submit(parties["study"], **CROSSTAB)
    for name in stations:
        assert parties[name].status(task)["status"] == "pending"
        parties[name].hub.write("decision", {"task": task, "accept": True, "reason": ""})
    run = parties["gp"].hub.get("/api/work")["run"]
    assert run[0]["task"] == task and set(run[0]["session"]["peers"]) == set(stations)
    for name in stations[:2]:
        release(parties, name, task)
    assert "output" not in researcher.status(task)
    parties["helper"].hub.write("failure", {"task": task, "reason": "the MPC party stopped"})
    state = researcher.status(task)
    assert state["status"] == "failed" and "helper failed" in state["reason"]
    assert "output" not in state
    hub = parties["federation"].hub
    with hub.session() as db:
        from tessera.hub.database import PartRow

        assert all(part.output is None for part in db.query(PartRow).all())


def test_outputs_reach_the_recipient_once_every_station_released(parties):
    approve(parties)
    task = parties["researcher"].submit(parties["study"], **CROSSTAB)
    for name in ("registry", "gp", "helper"):
        parties[name].hub.write("decision", {"task": task, "accept": True, "reason": ""})
    for name in ("registry", "gp", "helper"):
        release(parties, name, task)
    state = parties["researcher"].status(task)
    assert state["status"] == "done" and set(state["output"]) == {"registry", "gp", "helper"}
    assert "output" not in parties["registry"].status(task)  # a station is no recipient
    refused(lambda: release(parties, "gp", task), 403, "nothing to release")


def test_a_refusing_station_fails_the_task_with_its_reason(parties):
    approve(parties)
    task = parties["researcher"].submit(parties["study"], **CROSSTAB)
    parties["gp"].hub.write(
        "decision", {"task": task, "accept": False, "reason": "min cell 20 here"}
    )
    state = parties["researcher"].status(task)
    assert state["status"] == "failed" and state["reason"] == "gp refused: min cell 20 here"


def test_a_station_checks_the_task_itself(parties):
    """A station decides by its own ledger copy and policy (`tessera.station.policy`)."""
    approve(parties)
    task = parties["researcher"].submit(parties["study"], **CROSSTAB)
    gp = parties["gp"]
    gp.sync()
    item = gp.hub.get("/api/work")["decide"][0]
    parameters = json.loads(
        unseal(
            base64.b64decode(item["parameters"]),
            gp.identity,
            parties["researcher"].identity.public,
            f"task {task} parameters for gp",
        )
    )
    schemas = {"gp": ["pseudonym", "smoking", "copd"]}
    assert refusal("gp", parameters, gp.federation, Policy(), schemas) is None
    strict = Policy(min_cell=20)
    assert "must be suppressed" in refusal("gp", parameters, gp.federation, strict, schemas)
    narrow = Policy(analyses=("cox",))
    assert "does not allow crosstab" in refusal("gp", parameters, gp.federation, narrow, schemas)
    changed = {"gp": ["pseudonym", "smoking"]}
    assert "has changed" in refusal("gp", parameters, gp.federation, Policy(), changed)
    altered = {**parameters, "options": {**parameters["options"], "min_cell": 50}}
    assert "differ from those the ledger" in refusal(
        "gp", altered, gp.federation, Policy(), schemas
    )


def test_every_copy_of_the_ledger_agrees_and_verifies(parties, tmp_path):
    approve(parties)
    lines = parties["federation"].hub.lines()
    copy = tmp_path / "copy.jsonl"
    copy.write_text("".join(line + "\n" for line in lines))
    compare(read(copy), [Entry.from_line(line) for line in lines])
    from tessera.governance.studies import Federation

    state = Federation.replay(read(copy))
    assert state.status(parties["study"]) == "approved"


@pytest.mark.postgres
def test_the_hub_on_postgresql(postgres_url, tmp_path):
    """The same flow on a real PostgreSQL server; the migrations give the models' schema."""
    with create_engine(postgres_url, isolation_level="AUTOCOMMIT").connect() as server:
        server.execute(text("CREATE DATABASE hub"))  # its own database: others share the cluster
    url = postgres_url.rsplit("/", 1)[0] + "/hub"
    parties = populated(tmp_path, url)
    test_outputs_reach_the_recipient_once_every_station_released(parties)
    tables = inspect(create_engine(url)).get_table_names()
    assert set(Base.metadata.tables) <= set(tables) and "alembic_version" in tables


def test_audit_verify_applies_the_governance_rules(parties, tmp_path):
    """A well-signed, well-chained task entry in an unapproved study is named by the
    auditor's `tessera audit verify`, as the hub and the stations refuse it."""
    from typer.testing import CliRunner

    from tessera.audit import sign_entry
    from tessera.cli import app

    lines = parties["federation"].hub.lines()
    last = Entry.from_line(lines[-1])
    forged = sign_entry(
        parties["researcher"].identity,
        len(lines),
        last.digest(),
        "task",
        {
            "task": "t1",
            "study": parties["study"],
            "stations": ["registry", "gp", "helper"],
            "recipients": ["researcher"],
        },
    )
    path = tmp_path / "ledger.jsonl"
    path.write_text("".join(line + "\n" for line in [*lines, forged.line()]))
    result = CliRunner().invoke(app, ["audit", "verify", "--ledger", str(path)])
    assert result.exit_code == 1
    assert f"entry {len(lines)}: the study is proposed" in result.output


def test_a_station_configuration_keeps_its_whole_policy(tmp_path):
    from tessera.station.config import StationConfig

    policy = Policy(analyses=("cox",), min_cell=20, studies=("s1",), recipients=("researcher",))
    path = StationConfig(
        directory=tmp_path, hub=URL, address="127.0.0.1:9100", policy=policy
    ).write()
    assert StationConfig.load(path).policy == policy


def test_a_station_configuration_names_files_and_hospital_sources(tmp_path):
    from tessera.station.config import StationConfig

    (tmp_path / "station.yaml").write_text(
        f"hub: {URL}\naddress: '127.0.0.1:9100'\ndatasets:\n  gp: gp.parquet\n"
        "  registry: {format: obds, source: exports/, table: registry}\n"
        "  cdm: {format: omop, source: 'postgresql+psycopg://r@db/x', schema: cdm}\n"
    )
    config = StationConfig.load(tmp_path / "station.yaml")
    assert config.datasets["gp"].source == str(tmp_path / "gp.parquet")
    assert config.datasets["gp"].format is None
    assert config.datasets["registry"].source == str(tmp_path / "exports")
    assert config.datasets["cdm"].schema_ == "cdm"
    again = StationConfig.load(config.write())
    assert again.datasets == config.datasets
    (tmp_path / "station.yaml").write_text(
        f"hub: {URL}\naddress: x:1\ndatasets:\n  r: {{format: csv, source: a}}\n"
    )
    with pytest.raises(ValueError, match=r"datasets\.r\.format"):
        StationConfig.load(tmp_path / "station.yaml")


# -- public statistics (`publish` entries) --

TABLE = [["I", "no", 12], ["I", "yes", None], ["II", "no", 30], ["II", "yes", 25]]


def opened(parties: dict, monkeypatch) -> None:
    """The researcher's result, as if opened from real shares (no MPC runs in these tests)."""
    from tessera.analyses.results import CrossTableResult

    result = CrossTableResult("stage", "smoking", TABLE)
    monkeypatch.setattr(parties["researcher"], "result", lambda task: result)


def publish_body(parties: dict, task: str, **changes) -> dict:
    federation = parties["researcher"].sync()
    return {
        "task": task,
        "title": "Smoking by stage",
        "kind": "crosstab",
        "epsilon": None,
        "released": federation.released_on(task),
        "result": {"rows": "stage", "cols": "smoking", "counts": TABLE},
    } | changes


def test_a_public_studys_recipient_publishes_and_anyone_reads_it(parties, monkeypatch):
    from fastapi.testclient import TestClient

    from tessera.governance.studies import Federation, Study

    study = public_study(parties)
    assert study != parties["study"]  # `public` is part of what the stewards approved
    task = completed(parties, study)
    opened(parties, monkeypatch)
    body = parties["researcher"].publish(task, "Smoking by stage")
    assert body["kind"] == "crosstab" and body["result"]["counts"] == TABLE
    entries = [Entry.from_line(line) for line in parties["federation"].hub.lines()]
    today = [e for e in entries if e.kind == "release"][-1].time[:10]  # UTC, as entries are
    assert body["released"] == today and body["epsilon"] is None

    anyone = TestClient(parties["federation"].app)  # no token, no signature, no cookie
    (listed,) = anyone.get("/api/public").json()
    assert listed["task"] == task and listed["study"] == study
    assert listed["study_title"] == "Incidence by stage" and listed["title"] == "Smoking by stage"
    assert listed["epsilon"] is None and listed["released"] == today
    assert listed["publisher"] == "researcher" and listed["result"] == body["result"]
    assert anyone.get(f"/api/public/{task}").json() == listed
    missing = anyone.get("/api/public/nope")
    assert missing.status_code == 404 and "nothing was published" in missing.json()["detail"]
    page = anyone.get("/statistics")
    assert page.status_code == 200 and "Smoking by stage" in page.text and "<svg" in page.text

    replayed = Federation.replay(entries)  # as `tessera audit verify` and every station do
    assert replayed.publications[task]["result"] == body["result"]
    assert replayed.studies[study].study.public
    old = replayed.studies[parties["study"]].study
    assert "public" not in old.body() and Study.from_body(old.body()).id == parties["study"]


def test_only_a_recipient_publishes(parties):
    study = public_study(parties)
    task = completed(parties, study)
    mallory = parties["federation"].join("mallory", "researcher", "Elsewhere")
    for who in (mallory, parties["gp"], parties["steward-gp"]):
        refused(
            lambda who=who: who.hub.write("publish", publish_body(parties, task)),
            403,
            "is not a recipient of the task",
        )


def test_a_study_not_approved_as_public_publishes_nothing(parties, monkeypatch):
    approve(parties)
    task = completed(parties, parties["study"])
    opened(parties, monkeypatch)
    refused(lambda: parties["researcher"].publish(task, "t"), 403, "the study is not public")
    anyone = parties["federation"].http
    assert anyone.get("/api/public").json() == []


def test_only_a_complete_release_is_published_and_only_once(parties, monkeypatch):
    study = public_study(parties)
    task = completed(parties, study, releases=2)
    researcher = parties["researcher"]
    refused(
        lambda: researcher.hub.write("publish", publish_body(parties, task)),
        403,
        "the task is ready: only a complete release",
    )
    release(parties, "helper", task)
    opened(parties, monkeypatch)
    researcher.publish(task, "Smoking by stage")
    refused(lambda: researcher.publish(task, "again"), 403, "already published")


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"released": "2001-01-01"}, "the task's release is dated"),
        ({"title": " "}, "needs a title"),
        ({"kind": "cox"}, "publications are of kind"),
        ({"epsilon": -1}, "epsilon is a positive number"),
        ({"epsilon": True}, "epsilon is a positive number"),
        ({"result": {"rows": "stage", "cols": "smoking", "counts": [["I", 3]]}}, "counts are rows"),
        ({"kind": "kaplan-meier"}, "Kaplan-Meier curves come as groups"),
    ],
)
def test_a_publication_must_be_well_formed(parties, changes, match):
    task = completed(parties, public_study(parties))
    body = publish_body(parties, task, **changes)
    refused(lambda: parties["researcher"].hub.write("publish", body), 403, match)


def test_a_study_is_public_only_by_a_boolean():
    from tessera.governance.studies import Study

    body = Study.from_body(publish_study_body()).body()
    assert "public" not in body
    with pytest.raises(ValueError, match="public is true or false"):
        Study.from_body({**body, "public": "yes"})
    assert Study.from_body({**body, "public": False}).body() == body
    assert Study.from_body({**body, "public": True}).body()["public"] is True


def publish_study_body() -> dict:
    return {
        "title": "t",
        "purpose": "DUO:0000007",
        "stations": {"registry": [], "gp": []},
        "analyses": ["crosstab"],
        "recipients": ["researcher"],
        "expires": "2030-01-01",
    }
