"""Registry-spanning queries (issue "Registry-spanning queries", speed section), side by side
with python-paillier and TNO's distributed Paillier on the same workload.

Targets: distributed key generation for 10 stations in <= 5 s; a cross-table over 10
registries x 100,000 records in <= 2 s end to end on top of the local aggregation.

Workload: counts by stage x sex x diagnosis_year (4 x 4 x 12 = 192 cells: stage and sex from
the schema's code lists, years 2012..2023 given, as noise requires) among adenocarcinomas and
squamous cell carcinomas, at 10 registries of 100,000 records each. The records: one NSCLC
cohort of 100,000 patients split into 10 regional registries (`tessera.synth`), each region
resampled with replacement to 100,000 rows with a seed of its own, because generating
1,000,000 patients takes ~80 s (TESSERA_BENCH_HORIZONTAL_FULL=1 generates them instead and
uses the regions as they come, ~100,000 each).

Everything of Tessera's runs in this one process: the key generation and the whole query as
local mode runs them (`tessera.protocol.local`: a thread per registry over an in-memory board),
and the protocol step by step with the very functions its parties call
(`tessera.protocol.pooled`, `tessera.crypto.threshold`), so that each step is timed. In a
federation the registries work in parallel on their own machines, so two figures are
given: "one process" adds up every registry's work; "critical path" takes the slowest
registry for the steps they do side by side (encryption, partial decryptions, key-switch
shares) and adds the steps that are sequential (the hub's sum, the participants' mixes, which
go one after another but pipelined chunk by chunk, the researcher's decryption). Network time
is in neither. TESSERA_BENCH_HORIZONTAL_ONLY=tessera leaves out the other systems (~10 min).

References on the same vectors: python-paillier (`phe`, gmpy2) and TNO's single-key Paillier
(`tno.mpc.encryption_schemes.paillier`), both with one researcher key: not threshold. TNO's
`tno.mpc.protocols.distributed_keygen` generates a Paillier key among 3 parties without a
dealer and decrypts jointly; it pins Paillier 3.x, so it runs in a venv of its own under
benchmarks/.venvs/, as 3 processes on localhost (benchmarks/horizontal/tno_dkg_party.py). Its
key generation is slow and its time random, so it runs 3 times at 512 bits by default
(insecure: for timing only); TESSERA_BENCH_TNO_1024=1 adds one run at 1024 bits (~6 min here).
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping
from pathlib import Path
from statistics import median

import numpy as np
import pandas as pd

from benchmarks.tools import free_ports, last_line, start_party, stop_parties, timed, venv
from tessera.analyses.grid import count_cells, domain, selected
from tessera.analyses.specs import Released
from tessera.crypto.group import base
from tessera.crypto.threshold import (
    DiscreteLog,
    KeyPair,
    KeyShare,
    combine,
    deal,
    mix,
    partial_decrypt,
    public_key,
    switch_shares,
)
from tessera.privacy.noise import NO_NOISE, Noise
from tessera.protocol import messages, pooled
from tessera.protocol.board import MemoryStore, Threads, add_up
from tessera.protocol.local import RECIPIENT, pool
from tessera.protocol.pooled import PooledTask, RegistryParty, majority
from tessera.synth.cohort import generate

HERE = Path(__file__).parent
DRIVERS = HERE / "horizontal"

REGISTRIES = 10
RECORDS = 100_000  # per registry
PATIENTS = 100_000  # generated, then each region resampled to RECORDS
SEED = 2026
BY = ("stage", "sex", "diagnosis_year")
LEVELS = {"diagnosis_year": [str(y) for y in range(2012, 2024)]}  # the synthetic years
WHERE = 'morphology in ("8140/3", "8070/3")'  # adenocarcinoma, squamous cell carcinoma
EPSILON, MIN_CELL = 1.0, 10
THRESHOLD = 6  # of 10: the default majority
DKG_RUNS = 5
PROTOCOL_RUNS = 3
PHE_BITS = (2048, 3072)
TNO_BITS = 512
TNO_PARTIES = 3
TNO_TIMEOUT = {512: 300, 1024: 1800}  # seconds for one 3-process run
TNO_RUNS = {512: 3, 1024: 1}  # the key generation's time varies tenfold from run to run

DKG_TARGET, QUERY_TARGET = 5.0, 2.0
KEY_STRENGTH = {  # NIST SP 800-57 part 1: bits of security of a key or group of this size
    "ed25519": "~128-bit security (Curve25519)",
    512: "INSECURE: a 512-bit modulus was factored in 1999; for timing only",
    1024: "below today's minimum (~80-bit security; NIST disallowed it after 2013)",
    2048: "~112-bit security",
    3072: "~128-bit security, as Ed25519",
}
COLUMNS = (
    "system",
    "task",
    "step",
    "one process (s)",
    "critical path (s)",
    "target (s)",
    "notes",
)


def run() -> list[dict]:
    load = os.getloadavg()
    rows, frames = _data()
    vectors, local = _local_aggregation(frames)
    rows += local
    rows += _tessera_keys()
    rows += _tessera_query(frames, vectors)
    if os.environ.get("TESSERA_BENCH_HORIZONTAL_ONLY") != "tessera":  # the others take ~10 min
        for bits in PHE_BITS:
            rows += _paillier_single("phe", bits, vectors)
        rows += _paillier_single("tno", 2048, vectors)
        rows += _tno_distributed(vectors)
    after = os.getloadavg()
    for row in rows:
        if row["step"] == "total" or row["system"] == "data":
            row["notes"] += (
                f"; host load (1-min average) {load[0]:.1f} at the start of the module, "
                f"{after[0]:.1f} at its end"
            )
    return rows


# Data and local aggregation


def _data() -> tuple[list[dict], dict[str, pd.DataFrame]]:
    full = os.environ.get("TESSERA_BENCH_HORIZONTAL_FULL") == "1"
    patients = REGISTRIES * RECORDS if full else PATIENTS
    cohort, generated = timed(lambda: generate("nsclc", patients, seed=SEED, registries=REGISTRIES))
    regions = cohort.registries
    if full:
        frames, resampled, how = regions, 0.0, "the regions as generated"
    else:
        frames, resampled = timed(
            lambda: {
                name: frame.sample(n=RECORDS, replace=True, random_state=SEED + k).reset_index(
                    drop=True
                )
                for k, (name, frame) in enumerate(regions.items(), start=1)
            }
        )
        sizes = ", ".join(f"{len(f):,}" for f in regions.values())
        how = (
            f"each region ({sizes} patients) resampled with replacement to {RECORDS:,} rows, "
            f"seed {SEED} + k for registry k"
        )
    records = sum(len(f) for f in frames.values())
    row = _row(
        "data",
        f"{REGISTRIES} registries, {records:,} records",
        "generate, split into regions",
        round(generated + resampled, 1),
        "-",
        "-",
        f"tessera.synth NSCLC cohort of {patients:,} patients in {REGISTRIES} regions "
        f"({generated:.1f} s), {how} ({resampled:.1f} s); not part of any query",
    )
    return [row], frames


def _levels() -> dict[str, list[str]]:
    return domain(BY, {}, LEVELS, Noise(EPSILON))  # public levels only: noise is on


def _local_aggregation(frames) -> tuple[dict[str, np.ndarray], list[dict]]:
    """(a) Each registry's own cross-table in pandas: its `--where` filter and `count_cells`."""
    levels = _levels()
    vectors, seconds, kept = {}, [], 0
    for name, frame in frames.items():
        started = time.perf_counter()
        rows = selected(frame, WHERE)
        vectors[name] = count_cells(rows, levels)
        seconds.append(time.perf_counter() - started)
        kept += len(rows)
    cells = math.prod(len(v) for v in levels.values())
    row = _row(
        "pandas",
        "cross-table, local aggregation",
        "filter + count per registry",
        round(sum(seconds), 2),
        round(max(seconds), 2),
        "-",
        f"{' x '.join(BY)} = {cells} cells where {WHERE}; {kept:,} of "
        f"{sum(len(f) for f in frames.values()):,} records selected, "
        f"{int(sum(v.sum() for v in vectors.values())):,} counted; per registry "
        f"{min(seconds):.2f}-{max(seconds):.2f} s",
    )
    return vectors, [row]


# Tessera


def _tessera_keys() -> list[dict]:
    """Pedersen DKG for 10 stations, t = 6: `RegistryParty.generate_key` as local mode runs
    it, and its steps (`deal`, `combine`) one by one."""
    world = tuple(f"registry_{k}" for k in range(1, REGISTRIES + 1))
    task = _task(world, _options(0), NO_NOISE, KeyPair.generate().public)
    indices = list(range(1, REGISTRIES + 1))
    whole, path, dealing, joining = [], [], [], []
    for _ in range(DKG_RUNS):
        whole.append(timed(lambda: _parties(task))[1])
        dealt, deal_s = [], []
        for index in indices:
            out, seconds = timed(lambda i=index: deal(i, THRESHOLD, indices))
            dealt.append(out)
            deal_s.append(seconds)
        dealings = [d for d, _ in dealt]
        keys, join_s = [], []
        for index in indices:
            shares = {d.dealer: s[index] for d, s in dealt}
            key, seconds = timed(lambda i=index, s=shares, d=dealings: combine(i, d, s))
            keys.append(key)
            join_s.append(seconds)
        assert all(k.public == public_key(dealings) for k in keys)
        dealing.append(max(deal_s))
        joining.append(max(join_s))
        path.append(max(deal_s) + max(join_s))
    return [
        _row(
            "Tessera (threshold ElGamal, Ed25519)",
            f"key generation, {REGISTRIES} stations, t = {THRESHOLD}",
            "total",
            round(median(whole), 3),
            round(median(path), 3),
            DKG_TARGET,
            f"median of {DKG_RUNS} runs of RegistryParty.generate_key, a thread per registry "
            f"over a MemoryStore (taking turns, as local mode runs it), all in this process "
            f"(runs: {', '.join(f'{s:.3f}' for s in whole)} s); critical path: slowest dealer "
            f"(deal, median {median(dealing) * 1e3:.1f} ms) + slowest registry checking the "
            f"{REGISTRIES} shares dealt to it against the commitments and combining them "
            f"(combine, {median(joining) * 1e3:.0f} ms); 2 message rounds: the dealings "
            f"(commitments, broadcast), the shares (one sealed message per pair); "
            f"{KEY_STRENGTH['ed25519']}",
        )
    ]


def _tessera_query(frames, vectors) -> list[dict]:
    """(b) The protocol on top of the local aggregation, step by step, then as a whole."""
    assert majority(REGISTRIES) == THRESHOLD
    researcher, paired = timed(KeyPair.generate)
    keying = _task(tuple(vectors), _options(MIN_CELL), Noise(EPSILON), researcher.public)
    parties, keyed = timed(lambda: _parties(keying))
    keys = {name: party.key for name, party in parties.items()}
    _, table = timed(lambda: DiscreteLog().solve(base(1), 1))  # once per process
    truth = sum(vectors.values())
    rows = []
    for noise, min_cell in ((NO_NOISE, 0), (Noise(EPSILON), MIN_CELL)):
        setting = (
            "no noise, no suppression"
            if min_cell == 0
            else f"epsilon = {EPSILON:g}, min_cell = {min_cell}"
        )
        runs = [
            _protocol(parties, researcher, vectors, noise, min_cell) for _ in range(PROTOCOL_RUNS)
        ]
        task = f"cross-table, {REGISTRIES} x {RECORDS:,} records, {setting}"
        for step in runs[0]["steps"]:
            one = median(r["steps"][step][0] for r in runs)
            path = median(r["steps"][step][1] for r in runs)
            note = runs[0]["notes"].get(step, "")
            if step == "decryption (researcher)":
                note += (
                    f"; plus {table:.2f} s once per process to build the discrete-log table, "
                    "not included"
                )
            rows.append(
                _row(
                    "Tessera (threshold ElGamal, Ed25519)",
                    task,
                    step,
                    round(one, 3),
                    round(path, 3),
                    "-",
                    note,
                )
            )
        aggregate = _task(tuple(vectors), _options(min_cell), noise, researcher.public)
        board, whole = timed(lambda t=aggregate: _on_board(t, keys, vectors, researcher.secret))
        released = runs[-1]["released"]
        if min_cell == 0:
            correct = bool(np.array_equal(released.values, truth))
            same = bool(np.array_equal(board.values, truth))
            check = f"released sums equal the plain sums: {correct} (over the board: {same})"
        else:
            shown = ~released.suppressed
            error = np.abs(released.values[shown] - truth[shown])
            hidden = released.suppressed
            check = (
                f"{int(hidden.sum())} of {truth.size} cells suppressed, "
                f"{int((hidden & (truth == 0)).sum())} of them truly zero (the sums of all "
                f"cells: {int(((truth > 0) & (truth < min_cell)).sum())} truly "
                f"1..{min_cell - 1}, {int((truth == 0).sum())} zero); released cells off by "
                f"the noise, at most {error.max():.0f}; over the board "
                f"{int(board.suppressed.sum())} suppressed"
            )
        options = {"by": list(BY), "where": WHERE, "min_cell": min_cell, "levels": LEVELS}
        counted, end_to_end = timed(lambda n=noise, o=options: pool("counts", frames, o, n))
        rows.append(
            _row(
                "Tessera (threshold ElGamal, Ed25519)",
                task,
                "total",
                round(median(r["one"] for r in runs), 3),
                round(median(r["path"] for r in runs), 3),
                QUERY_TARGET,
                f"median of {PROTOCOL_RUNS} runs, {truth.size} cells, t = {THRESHOLD} "
                f"participants; {check}; the same over a MemoryStore (each registry's "
                f"RegistryParty.aggregate in a thread, then read_release; keys given): "
                f"{whole:.2f} s; protocol.local.pool('counts', ...) (the key generation, the "
                f"local aggregation of all {REGISTRIES} registries in this process, the "
                f"protocol over a MemoryStore): {end_to_end:.2f} s ({len(counted.cells)} "
                f"cells); the key generation (generate_key over a MemoryStore, "
                f"{keyed:.2f} s) and the researcher's key pair ({paired * 1e6:.0f} µs) not "
                "included but in pool's",
            )
        )
    return rows


def _protocol(
    parties: Mapping[str, RegistryParty], researcher: KeyPair, vectors, noise: Noise, min_cell: int
) -> dict:
    """One aggregate of the pooled protocol, step by step with the functions its parties
    call (`RegistryParty.encrypt`, the board's `add_up`, `mix`, `partial_decrypt`,
    `switch_shares`, `pooled.tests_for`, `chunks`, `withheld`, `read`), each step timed as
    (one process, critical path)."""
    registries = list(parties.values())
    participants = [parties[name] for name in registries[0].task.participants]
    indices = registries[0]._indices
    shape = next(iter(vectors.values())).shape
    steps: dict[str, tuple[float, float]] = {}
    notes: dict[str, str] = {}

    def parallel(name: str, work: list[Callable]) -> list:
        results, seconds = zip(*(timed(w) for w in work), strict=True)
        steps[name] = (sum(seconds), max(seconds))
        return list(results)

    def sequential(name: str, work: Callable):
        result, seconds = timed(work)
        steps[name] = (seconds, seconds)
        return result

    contributions = parallel(
        "encryption (each registry)",
        [lambda r=r: r.encrypt(vectors[r.name], noise) for r in registries],
    )
    cells = len(contributions[0])
    notes["encryption (each registry)"] = (
        f"{cells} ciphertexts per registry, its noise share added first"
        if noise.scale
        else f"{cells} ciphertexts per registry"
    )
    sums = sequential("sum (hub)", lambda: add_up(contributions))
    if min_cell > 1:
        tests = sequential("suppression: test inputs", lambda: pooled.tests_for(sums, min_cell))
        count = sum(len(item) for item in tests)
        notes["suppression: test inputs"] = (
            f"Enc(n - v) for v = 1..{min_cell - 1} and v = 0: {count} ciphertexts"
        )
        parts = [tests[part] for part in pooled.chunks(tests)]
        times = []  # times[j][c]: participant j mixing chunk c
        for registry in participants:  # in turn, a chunk at a time, as the stations do
            timings = [timed(lambda r=registry, c=chunk: mix(r.key.public, c)) for chunk in parts]
            parts = [mixed for mixed, _ in timings]
            times.append([seconds for _, seconds in timings])
        mixed = [item for chunk in parts for item in chunk]
        mix_s = [sum(row) for row in times]
        steps["suppression: mixes"] = (sum(mix_s), _pipeline(times))
        notes["suppression: mixes"] = (
            f"{len(participants)} participants in turn, pipelined over {len(parts)} chunks: "
            f"shuffle, blind and re-randomise {count} ciphertexts each, "
            f"{min(mix_s):.2f}-{max(mix_s):.2f} s per participant"
        )
        flat = [ct for item in mixed for ct in item]
        partials = parallel(
            "suppression: partial decryptions",
            [
                lambda r=r: [partial_decrypt(r.key, indices, ct) for ct in flat]
                for r in participants
            ],
        )
        notes["suppression: partial decryptions"] = f"{count} per participant"
        mask = sequential(
            "suppression: pattern and complements",
            lambda: pooled.withheld(mixed, partials, shape),
        )
        notes["suppression: pattern and complements"] = (
            "combine the partial decryptions, find the small and zero cells, choose "
            "complementary cells"
        )
    else:
        mask = np.zeros(shape, dtype=bool)
    released = [i for i, hidden in enumerate(mask.ravel()) if not hidden]
    chosen = [sums[i] for i in released]
    shares = parallel(
        "key switch (each participant)",
        [
            lambda r=r: switch_shares(r.key, indices, chosen, researcher.public)
            for r in participants
        ],
    )
    notes["key switch (each participant)"] = (
        f"{len(chosen)} released cells, {len(participants)} participants"
    )
    values = sequential(
        "decryption (researcher)",
        lambda: pooled.read(chosen, shares, researcher.secret),
    )
    notes["decryption (researcher)"] = "combine the key-switch shares, discrete logarithms"
    out = np.full(len(sums), np.nan)
    out[released] = values
    return {
        "steps": steps,
        "notes": notes,
        "one": sum(one for one, _ in steps.values()),
        "path": sum(path for _, path in steps.values()),
        "released": Released(out.reshape(shape), mask),
    }


def _options(min_cell: int) -> dict:
    """The counts' options as `tessera.analyses.counts` resolves them (public levels)."""
    return {"by": list(BY), "where": WHERE, "levels": _levels(), "min_cell": min_cell}


def _task(world: tuple[str, ...], options: dict, noise: Noise, target) -> PooledTask:
    return PooledTask("counts", options, world, THRESHOLD, noise.epsilon, target, RECIPIENT)


def _parties(task: PooledTask) -> dict[str, RegistryParty]:
    """The registries' parties with their key shares: `generate_key` over a `MemoryStore`."""
    store = MemoryStore(task.world)
    parties = {name: RegistryParty(store.view(name), task) for name in task.world}
    Threads(store, {name: party.generate_key for name, party in parties.items()}).join()
    return parties


def _on_board(task: PooledTask, keys: Mapping[str, KeyShare], vectors, secret: int) -> Released:
    """One aggregate over a fresh `MemoryStore` with these key shares: each registry's
    `RegistryParty.aggregate` in a thread, then the recipient's `read_release`."""
    store = MemoryStore(task.world)
    parties = {name: RegistryParty(store.view(name), task) for name in task.world}
    for name, party in parties.items():
        party.key = keys[name]
    work = {name: lambda p=p: p.aggregate(vectors[p.name]) for name, p in parties.items()}
    outputs = Threads(store, work).join()
    sums = store.gather(messages.SUM, 1)[messages.HUB]
    return pooled.read_release(task, sums, outputs, secret)


def _pipeline(times: list[list[float]]) -> float:
    """When the last participant finishes the last chunk, if participant j starts chunk c
    once it has chunk c from j − 1 and has finished its own chunk c − 1."""
    finish = [0.0] * len(times[0])
    for row in times:
        ready = 0.0
        for c, seconds in enumerate(row):
            ready = max(ready, finish[c]) + seconds
            finish[c] = ready
    return finish[-1]


# Paillier with one researcher key


def _paillier_single(library: str, bits: int, vectors) -> list[dict]:
    if library == "phe":
        from phe import paillier

        system = "python-paillier (phe 1.5, gmpy2), one key"
        (public, secret), keygen = timed(lambda: paillier.generate_paillier_keypair(n_length=bits))
        encrypt, decrypt, close = public.encrypt, secret.decrypt, None
    else:
        from tno.mpc.encryption_schemes.paillier import Paillier

        warnings.filterwarnings("ignore", module=r"tno\.mpc")  # fresh-ciphertext advice
        system = "TNO Paillier (tno.mpc.encryption_schemes.paillier), one key"
        scheme, keygen = timed(lambda: Paillier.from_security_parameter(bits, precision=0))
        encrypt, decrypt, close = scheme.encrypt, scheme.decrypt, scheme.shut_down
    try:
        task = f"cross-table, {REGISTRIES} x {RECORDS:,} records, {bits}-bit key"
        encrypted, seconds = [], []
        for vector in vectors.values():
            cts, s = timed(lambda v=vector: [encrypt(int(x)) for x in v.ravel()])
            encrypted.append(cts)
            seconds.append(s)

        def add() -> list:
            sums = list(encrypted[0])
            for cts in encrypted[1:]:
                sums = [a + b for a, b in zip(sums, cts, strict=True)]
            return sums

        sums, added = timed(add)
        plain, decrypted = timed(lambda: [int(decrypt(c)) for c in sums])
    finally:
        if close:
            close()
    truth = sum(vectors.values()).ravel().tolist()
    cells = len(truth)
    one = sum(seconds) + added + decrypted
    path = max(seconds) + added + decrypted
    steps = [
        ("key pair (researcher)", keygen, keygen, "once per researcher, not per query"),
        ("encryption (each registry)", sum(seconds), max(seconds),
         f"{cells} ciphertexts per registry"),
        ("sum (hub)", added, added, ""),
        ("decryption (researcher)", decrypted, decrypted, f"{cells} cells"),
    ]  # fmt: skip
    rows = [
        _row(system, task, step, round(summed, 3), round(slowest, 3), "-", note)
        for step, summed, slowest, note in steps
    ]
    return [
        *rows,
        _row(
            system,
            task,
            "total",
            round(one, 3),
            round(path, 3),
            QUERY_TARGET,
            f"{KEY_STRENGTH[bits]}; sums correct: {plain == truth}; NOT threshold: the "
            "researcher's key decrypts every registry's own vector too, so each registry must "
            "trust that its ciphertexts reach only the hub, and there is no suppression "
            "before decryption (noise shares could be added at no extra cost)",
        ),
    ]


# TNO distributed Paillier


def _tno_distributed(vectors) -> list[dict]:
    system = f"TNO distributed Paillier ({TNO_PARTIES} processes)"
    sizes = [TNO_BITS] + ([1024] if os.environ.get("TESSERA_BENCH_TNO_1024") == "1" else [])
    try:
        python = venv("distributed-keygen", DRIVERS)
    except RuntimeError as error:
        return [_row(system, "key generation", "total", "failed", "failed", DKG_TARGET, str(error))]
    rows = []
    for bits in sizes:
        task = f"key generation, {TNO_PARTIES} parties, t = 1, {bits}-bit modulus"
        runs, failures = [], []
        for _ in range(TNO_RUNS.get(bits, 1)):
            try:
                runs.append(_tno_run(python, bits, vectors))
            except RuntimeError as error:
                failures.append(str(error))
        if not runs:
            rows.append(
                _row(system, task, "total", "failed", "failed", DKG_TARGET, "; ".join(failures))
            )
            continue
        keygen = [max(r["keygen_s"] for r in results) for _, results in runs]
        first = runs[0][1][0]
        each = ", ".join(
            f"{k:.1f} s ({results[0]['messages_keygen'] / (TNO_PARTIES - 1):.0f} rounds, "
            f"{results[0]['modulus_bits']}-bit N, load {results[0]['load_before']:.1f})"
            for k, (_, results) in zip(keygen, runs, strict=True)
        )
        versions = ", ".join(f"{k} {v}" for k, v in first["versions"].items())
        rows.append(
            _row(
                system,
                task,
                "total",
                round(median(keygen), 1),
                round(median(keygen), 1),
                DKG_TARGET,
                f"{KEY_STRENGTH[bits]}; median of {len(runs)} runs, the slowest party each: "
                f"{each}; the time is random: candidate primes are drawn in batches until "
                "their product passes a biprimality test; rounds = messages party 0 sent to "
                f"each other party; imports {first['import_s']:.1f} s more"
                + (f"; failed runs: {'; '.join(failures)}" if failures else "")
                + f"; {versions}",
            )
        )
        task = f"cross-table, {REGISTRIES} x {RECORDS:,} records, {bits}-bit key"
        steps = _tno_steps([results for _, results in runs], first["cells"])
        for name, (one, path), note in steps:
            rows.append(_row(system, task, name, round(one, 3), round(path, 3), "-", note))
        correct = all(results[0]["correct"] for _, results in runs)
        rows.append(
            _row(
                system,
                task,
                "total",
                round(sum(s[1][0] for s in steps), 3),
                round(sum(s[1][1] for s in steps), 3),
                QUERY_TARGET,
                f"{KEY_STRENGTH[bits]}; medians of {len(runs)} runs; sums correct: {correct}; "
                "every key holder learns the sums (no key switch to a researcher), all must "
                f"take part ({TNO_PARTIES} of {TNO_PARTIES}); no suppression test",
            )
        )
    return rows


def _tno_steps(runs: list[list[dict]], cells: int) -> list[tuple[str, tuple, str]]:
    """The workload's steps with the medians over the runs of (one process, critical path).
    Party 0 encrypts for every registry, adds and sends; all parties decrypt."""

    def median_of(of: Callable[[list[dict]], tuple[float, float]]) -> tuple[float, float]:
        values = [of(results) for results in runs]
        return median(v[0] for v in values), median(v[1] for v in values)

    def encrypt(results: list[dict]) -> tuple[float, float]:
        seconds = list(results[0]["encrypt_s"].values())
        return sum(seconds), max(seconds)

    def decrypt(results: list[dict]) -> tuple[float, float]:
        slowest = max(r["decrypt_s"] for r in results)
        return slowest, slowest

    return [
        ("encryption (each registry)", median_of(encrypt),
         f"{cells} ciphertexts per registry, in party 0's process"),
        ("sum (hub)", median_of(lambda r: (r[0]["sum_s"],) * 2), "party 0"),
        ("send the sums to the key holders", median_of(lambda r: (r[0]["broadcast_s"],) * 2),
         "party 0 to the other parties over HTTP on localhost"),
        ("joint decryption (all key holders)", median_of(decrypt),
         "each party's partial decryptions, exchanged, combined; slowest party"),
    ]  # fmt: skip


def _tno_run(python: Path, bits: int, vectors) -> tuple[float, list[dict]]:
    """The 3 parties as processes, each in its own process group; wall time and results."""
    timeout = TNO_TIMEOUT[bits]
    with tempfile.TemporaryDirectory(prefix="tno-dkg-") as folder:
        work = Path(folder)
        counts = {name: [int(v) for v in vector.ravel()] for name, vector in vectors.items()}
        (work / "counts.json").write_text(json.dumps(counts))
        base_port = free_ports(TNO_PARTIES, "127.0.0.1")
        processes = []
        started = time.perf_counter()
        try:
            for index in range(TNO_PARTIES):
                command = [
                    str(python), str(DRIVERS / "tno_dkg_party.py"), "--index", str(index),
                    "--parties", str(TNO_PARTIES), "--base-port", str(base_port),
                    "--bits", str(bits), "--counts", str(work / "counts.json"),
                    "--result", str(work / f"{index}.json"),
                ]  # fmt: skip
                processes.append(start_party(command, work / f"party{index}.log"))
            while True:
                done = [(work / f"{i}.json").exists() for i in range(TNO_PARTIES)]
                if all(done):
                    break
                for index, process in enumerate(processes):
                    if process.poll() not in (None, 0) and not done[index]:
                        raise RuntimeError(
                            f"party {index} exited with status {process.returncode}: "
                            + last_line(work, index)
                        )
                if time.perf_counter() - started > timeout:
                    raise RuntimeError(
                        f"no {bits}-bit key within the {timeout}-s time-out (3 processes)"
                    )
                time.sleep(0.2)
            wall = time.perf_counter() - started
            time.sleep(0.5)  # results are written just before the parties shut down
            results = [json.loads((work / f"{i}.json").read_text()) for i in range(TNO_PARTIES)]
        finally:
            stop_parties(processes, grace=5.0)
    return wall, results


# Helpers


def _row(system, task, step, one, path, target, notes) -> dict:
    return dict(zip(COLUMNS, (system, task, step, one, path, target, notes), strict=True))
