"""MPC sessions: separate processes, TLS identities, inputs as shares, outputs to one place."""

from __future__ import annotations

import multiprocessing
import os
import stat
import tempfile
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest
from cryptography import x509

from tessera.mpc import Accuracy, SessionFailed, issue_session_certificates, run_local
from tessera.mpc.local import Launch, party_main
from tessera.mpc.session import Party, _decode, _encode

PARTIES = ["registry", "gp", "helper"]
X = np.random.default_rng(0).normal(size=(500, 3))
Y = np.random.default_rng(1).normal(size=(500, 2))


def cross_products(x, y):
    return x.T @ y, jnp.sum(x * x, axis=0)


LAYOUT = [("x", "registry"), ("y", "gp")]


def owned_inputs(me: str) -> tuple[dict[str, np.ndarray], dict]:
    """What each party process loads: its own values only, and a label for the recipient."""
    mine = {"registry": {"x": X}, "gp": {"y": Y}}.get(me, {})
    return mine, {"party": me}


def test_three_processes_compute_the_plaintext_answer():
    before = set(Path(tempfile.gettempdir()).glob("tessera-session-*"))
    (xty, sumsq), metadata = run_local(cross_products, PARTIES, LAYOUT, owned_inputs)
    # keys, certificates and anything else of the session are gone afterwards
    assert set(Path(tempfile.gettempdir()).glob("tessera-session-*")) == before
    assert metadata == {name: {"party": name} for name in PARTIES}
    np.testing.assert_allclose(xty, X.T @ Y, atol=2e-3)
    np.testing.assert_allclose(sumsq, (X * X).sum(axis=0), rtol=1e-4)


def test_a_party_certified_by_another_authority_cannot_join(tmp_path):
    honest = issue_session_certificates("s1", PARTIES, tmp_path / "honest")
    rogue = issue_session_certificates("s1", PARTIES, tmp_path / "rogue")
    members = tuple(Party(n, f"127.0.0.1:{p}") for n, p in zip(PARTIES, _ports(), strict=True))
    context = multiprocessing.get_context("spawn")
    results = context.Queue()
    processes = []
    for name in PARTIES:
        tls = rogue[name] if name == "gp" else honest[name]
        launch = Launch(
            "s1",
            members,
            name,
            tls,
            Accuracy(),
            cross_products,
            tuple(LAYOUT),
            owned_inputs,
            1.0,
            1_000,
        )
        processes.append(context.Process(target=party_main, args=(launch, results)))
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=120) for _ in PARTIES]
    for process in processes:
        process.join(timeout=30)
    assert all(status == "error" for _, status, _ in outcomes), outcomes
    assert all("mutually authenticated TLS" in detail for _, _, detail in outcomes), outcomes


def test_wrong_number_of_parties_is_refused():
    with pytest.raises(ValueError, match="needs 3 parties, got 2: add --helper"):
        run_local(cross_products, PARTIES[:2], LAYOUT, owned_inputs)


def test_a_failing_party_fails_the_session_with_its_reason():
    with pytest.raises(SessionFailed, match="no such file"):
        run_local(cross_products, PARTIES, LAYOUT, _Broken())


class _Broken:
    def __call__(self, me: str) -> tuple[dict, dict]:
        raise FileNotFoundError(f"{me}: no such file")


def test_a_party_process_that_dies_fails_the_session_at_once():
    """As when the engine aborts a process: no answer will come, so do not wait for one."""
    import time

    started = time.monotonic()
    with pytest.raises(SessionFailed, match="party gp stopped unexpectedly \\(exit code 7\\)"):
        run_local(cross_products, PARTIES, LAYOUT, _Dies(), timeout=300)
    assert time.monotonic() - started < 60


class _Dies:
    def __call__(self, me: str) -> tuple[dict, dict]:
        if me == "gp":
            os._exit(7)
        return owned_inputs(me)


def test_session_certificates_keep_keys_private_and_forget_the_ca_key(tmp_path):
    files = issue_session_certificates("s2", PARTIES, tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        ["ca.pem", *(f"{n}.pem" for n in PARTIES), *(f"{n}.key" for n in PARTIES)]
    )
    ca = x509.load_pem_x509_certificate(files["gp"].ca.read_bytes())
    for name, tls in files.items():
        assert stat.S_IMODE(os.stat(tls.private_key).st_mode) == 0o600
        cert = x509.load_pem_x509_certificate(tls.certificate.read_bytes())
        cert.verify_directly_issued_by(ca)
        assert cert.subject.rfc4514_string() == f"CN={name}"


def test_share_messages_round_trip_and_malformed_ones_are_refused():
    from spu import api
    from spu.libspu import Visibility

    io = api.Io(3, Accuracy().runtime_config("t"))
    shares = io.make_shares(X, Visibility.VIS_SECRET)
    decoded = [_decode(_encode(s)) for s in shares]
    np.testing.assert_allclose(io.reconstruct(decoded), X, atol=1e-4)
    assert X.tobytes() not in _encode(shares[0])
    with pytest.raises(ValueError, match="malformed share message"):
        _decode(_encode(shares[0]) + b"x")


def test_accuracy_presets():
    assert Accuracy.preset("precise").field == "FM128"
    with pytest.raises(ValueError, match="unknown accuracy 'exact'"):
        Accuracy.preset("exact")


def _ports() -> list[int]:
    from tessera.mpc.gate import free_ports

    return free_ports(3)


def test_the_engine_writes_nothing_to_stdout_or_the_working_directory(tmp_path):
    """Engine logs would corrupt `--format json` output (seen with 100k-row outputs)."""
    import subprocess
    import sys

    script = (
        "import numpy as np, spu.libspu as L; from spu import api;"
        "from tessera.mpc.session import Accuracy;"
        "io = api.Io(3, Accuracy().runtime_config('t'));"
        "io.make_shares(np.ones((100_000, 3)), L.Visibility.VIS_SECRET)"
    )
    env = {k: v for k, v in os.environ.items() if k != "TESSERA_DEBUG"}
    done = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env,
                          capture_output=True, text=True, check=True)  # fmt: skip
    assert done.stdout == "" and list(tmp_path.iterdir()) == []


class _AbortsOnce:
    """The GP process ends as an engine abort does (status 255), the first time only."""

    def __init__(self, marker: Path):
        self.marker = marker

    def __call__(self, me: str) -> tuple[dict, dict]:
        if me == "gp" and not self.marker.exists():
            self.marker.touch()
            os._exit(255)
        return owned_inputs(me)


def test_a_session_the_engine_aborts_runs_once_more(tmp_path):
    (xty, _), _ = run_local(cross_products, PARTIES, LAYOUT, _AbortsOnce(tmp_path / "aborted"))
    np.testing.assert_allclose(xty, X.T @ Y, atol=2e-3)
    assert (tmp_path / "aborted").exists()
