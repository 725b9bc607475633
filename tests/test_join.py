"""Private alignment on a pseudonym equals a plaintext left join, and shows nobody the data."""

from __future__ import annotations

import numpy as np
import pytest
import spu.utils.simulation as simulation

import inprocess
from tessera.mpc import join
from tessera.mpc.session import Accuracy

WORLD = ("registry", "gp", "helper")


def cohorts(seed: int = 4):
    """The registry's pseudonyms and row numbers; the GP's pseudonyms and two columns of
    numbers with a wide range. 800 patients in common, some pseudonyms missing."""
    rng = np.random.default_rng(seed)
    pool = np.array([f"P{value:09d}" for value in rng.choice(10**9, 3_000, replace=False)],
                    dtype=object)  # fmt: skip
    registry = pool[:1_500].copy()
    registry[[3, 1_400]] = None  # 1_400 would otherwise have matched
    gp = rng.permutation(np.concatenate([pool[700:1_500], pool[2_000:2_600], [None, None]]))
    values = np.stack([rng.normal(0, 1e4, len(gp)), rng.integers(0, 2, len(gp))], axis=1)
    return registry, gp, values


def aligned_inputs(registry, gp, values, world=WORLD, accuracy: Accuracy | None = None):
    """Every party's MPC inputs after the alignment, and the messages each one sent."""
    accuracy = accuracy or Accuracy()
    own = {
        "registry": (registry, {"row": np.arange(len(registry), dtype=float)[:, None]}),
        "gp": (gp, {"values": values}),
    }
    pairs = join.pairings(("registry", "gp"), world)

    def party(name: str, peers) -> dict:
        pseudonyms, columns = own.get(name, (None, {}))
        return join.align(peers, name, pairs, pseudonyms, columns, accuracy.fraction_bits)

    return inprocess.exchange_all(world, party)


@pytest.mark.parametrize("accuracy", [Accuracy(), Accuracy.preset("precise")], ids=str)
def test_alignment_equals_a_left_join(accuracy):
    registry, gp, values = cohorts()
    inputs, _ = aligned_inputs(registry, gp, values, accuracy=accuracy)
    simulator = simulation.Simulator(3, accuracy.runtime_config("test"))
    ring_bits = 128 if accuracy.field == "FM128" else 64
    secure = simulation.sim_jax(simulator, lambda a, u: join.unmasked(a, u, ring_bits))(
        inputs["registry"]["aligned:values"], inputs["helper"]["unmask:values"]
    )
    table, weight = join.left_join("registry", {"registry": registry, "gp": gp},
                                   {"gp": {"values": values}})  # fmt: skip
    rows = inputs["registry"]["col:row"][:, 0].astype(int)  # the registry's random order
    matched = inputs["helper"]["matched:gp"]
    assert weight.sum() == 799 and np.array_equal(matched, weight[rows])
    expected = table["values"][rows]
    held = matched == 1
    np.testing.assert_allclose(secure[held], expected[held], atol=2.0**-accuracy.fraction_bits)
    assert not np.allclose(rows, np.arange(len(rows)))  # the anchor's rows were shuffled


def test_what_each_party_receives():
    registry, gp, values = cohorts()
    inputs, sent = aligned_inputs(registry, gp, values)
    # the GP received one message: the key and the registry's row count; the helper got
    # tags from both, then the GP's mask seed
    assert len(sent["registry"]) == 2 and len(sent["helper"]) == 1 and len(sent["gp"]) == 3
    key_message = join.unpack(sent["registry"][0])
    assert set(key_message) == {"key", "rows"} and key_message["rows"][0] == len(registry)
    # the registry's picks are masked: none of the GP's encoded values appears among them
    encoded = join.to_fixed(values, Accuracy().fraction_bits, "values", "gp")
    picks = inputs["registry"]["aligned:values"].view(np.uint64)
    assert not np.isin(picks, encoded).any()
    # its positions are distinct, whichever rows matched
    positions = join.unpack(sent["helper"][0])["positions"]
    assert len(np.unique(positions)) == len(registry)
    # the helper saw tags, not pseudonyms
    tags = join.unpack(sent["registry"][1])["tags"]
    assert not any(str(p).encode() in tags.tobytes() for p in registry[:50])
    assert "aligned:values" not in inputs["helper"] and inputs["gp"] == {}


def test_three_data_parties_match_for_each_other():
    registry, gp, _ = cohorts()
    survey = np.concatenate([registry[:400], np.array(["S1", "S2"], dtype=object)])
    world = ("registry", "gp", "survey")
    pairs = join.pairings(world, world)
    assert [(p.member, p.matcher) for p in pairs] == [("gp", "survey"), ("survey", "gp")]
    own = {"registry": registry, "gp": gp, "survey": survey}

    def party(name: str, peers) -> dict:
        return join.align(peers, name, pairs, own[name], {}, 18)

    inputs, _ = inprocess.exchange_all(world, party)
    both = inputs["survey"]["matched:gp"] * inputs["gp"]["matched:survey"]
    _, weight = join.left_join("registry", own, {})
    assert both.sum() == weight.sum() == len(set(registry[:400]) & set(gp) - {None})


def test_duplicates_and_out_of_range_values_are_refused():
    registry, gp, values = cohorts()
    with pytest.raises(ValueError, match=r"gp's join column repeats 1 value"):
        aligned_inputs(registry, np.concatenate([gp, gp[:1]]), np.vstack([values, values[:1]]))
    with pytest.raises(ValueError, match=r"'age' at gp has values beyond ±2.09715e\+06"):
        join.to_fixed(np.array([[1e7]]), 40, "age", "gp")


def test_messages_round_trip_and_refuse_objects():
    arrays = {"a": np.arange(3), "b:c": np.zeros((2, 2), np.uint64)}
    back = join.unpack(join.pack(arrays))
    assert set(back) == set(arrays) and all(np.array_equal(back[k], arrays[k]) for k in arrays)
    with pytest.raises(ValueError):
        join.pack({"x": np.array([object()], dtype=object)})
    with pytest.raises(ValueError, match="malformed"):
        join.unpack(join.pack(arrays) + b"x")
