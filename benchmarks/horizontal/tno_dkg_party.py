"""One party of TNO's distributed Paillier, `tno.mpc.protocols.distributed_keygen`, on the
registry-spanning count workload of benchmarks/bench_horizontal.py.

Runs inside the venv that bench_horizontal.py builds (the tool pins Paillier 3.x, the project
has 4.x) and never imports tessera. One run is `--parties` processes on 127.0.0.1, party i
listening on BASE + i, talking over the tool's HTTP pool:

    python tno_dkg_party.py --index 0 --parties 3 --base-port 40000 --bits 512 \
        --counts counts.json --result 0.json

1. All parties generate a Paillier key together (no dealer; `corruption_threshold` t needs
   parties >= 2t + 1, so 3 parties tolerate 1).
2. Party 0 then plays the registries and the hub: it encrypts each registry's count vector
   under the joint public key (the registries' work, timed per registry) and adds them up.
   It broadcasts the sums to the other parties.
3. All parties decrypt the sums together (every key holder must take part; each learns them).

Each party writes a JSON file: the seconds spent importing, for the key generation, for each
step it took part in, the modulus' size, messages and bytes it sent, the host load before it
started and, from party 0, whether the decrypted sums equal the plain ones.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import time
import warnings
from importlib.metadata import version
from pathlib import Path

STARTED = time.perf_counter()
LOAD = os.getloadavg()[0]


async def party(args: argparse.Namespace) -> dict:
    from tno.mpc.communication import Pool
    from tno.mpc.protocols.distributed_keygen import DistributedPaillier

    imported = time.perf_counter()
    pool = Pool()
    pool.add_http_server(args.base_port + args.index, addr="127.0.0.1")
    for j in range(args.parties):
        if j != args.index:
            pool.add_http_client(f"party{j}", "127.0.0.1", port=args.base_port + j)

    begun = time.perf_counter()
    scheme = await DistributedPaillier.from_security_parameter(
        pool,
        corruption_threshold=args.threshold,
        key_length=args.bits,
        distributed=True,
        precision=0,
    )
    keyed = time.perf_counter()
    messages_keygen = sum(h.msg_send_counter for h in pool.pool_handlers.values())

    result: dict = {"index": args.index, "import_s": imported - STARTED, "keygen_s": keyed - begun}
    if args.index == 0:
        counts: dict[str, list[int]] = json.loads(args.counts.read_text())
        encrypt_s, contributions = {}, []
        for registry, vector in counts.items():
            started = time.perf_counter()
            contributions.append([scheme.encrypt(int(v)) for v in vector])
            encrypt_s[registry] = time.perf_counter() - started
        started = time.perf_counter()
        sums = list(contributions[0])
        for vector in contributions[1:]:
            sums = [a + b for a, b in zip(sums, vector, strict=True)]
        result["encrypt_s"] = encrypt_s
        result["sum_s"] = time.perf_counter() - started
        started = time.perf_counter()
        await pool.broadcast(sums, msg_id="sums")
        result["broadcast_s"] = time.perf_counter() - started
    else:
        sums = await pool.recv("party0", msg_id="sums")
    started = time.perf_counter()
    plain = await scheme.decrypt_sequence(sums)
    result["decrypt_s"] = time.perf_counter() - started
    if args.index == 0:
        expected = [sum(column) for column in zip(*counts.values(), strict=True)]
        result["correct"] = [int(v) for v in plain] == expected
        result["cells"] = len(expected)
    result.update(
        modulus_bits=scheme.public_key.n.bit_length(),
        messages_keygen=messages_keygen,
        messages_sent=sum(h.msg_send_counter for h in pool.pool_handlers.values()),
        bytes_sent=sum(h.total_bytes_sent for h in pool.pool_handlers.values()),
        load_before=LOAD,
        versions={
            name: version(name)
            for name in (
                "tno.mpc.protocols.distributed_keygen",
                "tno.mpc.encryption_schemes.paillier",
                "tno.mpc.communication",
                "gmpy2",
            )
        },
    )
    # The result goes out before the pool closes: a party that closes first may make the
    # others' last sends fail, which must not lose the figures.
    args.result.write_text(json.dumps(result, indent=1) + "\n")
    await asyncio.sleep(1.0)
    with contextlib.suppress(Exception):  # the order in which the parties close is not ours
        await pool.shutdown()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--index", type=int, required=True)
    parser.add_argument("--parties", type=int, default=3)
    parser.add_argument("--threshold", type=int, default=1, help="corruptions tolerated")
    parser.add_argument("--base-port", type=int, required=True)
    parser.add_argument("--bits", type=int, required=True, help="the modulus' length")
    parser.add_argument("--counts", type=Path, required=True, help="{registry: [counts]}")
    parser.add_argument("--result", type=Path, required=True)
    args = parser.parse_args()
    warnings.simplefilter("ignore")  # short-key and fresh-ciphertext warnings, every operation
    asyncio.run(party(args))


if __name__ == "__main__":
    main()
