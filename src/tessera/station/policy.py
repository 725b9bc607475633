"""A station's own rules, and its check of every task before it runs anything.

The hub has already checked the ledger, but a station trusts only its own copy: it checks
the study's approval and expiry there, that the sealed parameters are exactly those the
ledger's task entry hashes, and then its local policy.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tessera.audit.ledger import canonical
from tessera.governance.studies import Federation

# The analyses that withhold small cells, and the smallest cell each releases by default
MIN_CELL = {"crosstab": 0, "counts": 10, "histogram": 10}


@dataclass(frozen=True)
class Policy:
    """Which analyses this station allows, the smallest count it releases, and optionally
    the only studies and recipients it serves."""

    analyses: tuple[str, ...] = ("crosstab", "kaplan-meier", "logistic", "cox", "counts")
    min_cell: int = 10
    studies: tuple[str, ...] | None = None
    recipients: tuple[str, ...] | None = None
    epsilon_limit: float = 3.0  # the privacy budget of each dataset in each study (pooled)

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> Policy:
        known = {"analyses", "min_cell", "studies", "recipients", "epsilon_limit"}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown policy settings {unknown}: use {sorted(known)}")

        def names(key: str) -> tuple[str, ...] | None:
            value = values.get(key)
            return None if value is None else tuple(map(str, value))

        return cls(
            names("analyses") or cls.analyses,
            int(values.get("min_cell", 10)),
            names("studies"),
            names("recipients"),
            float(values.get("epsilon_limit", 3.0)),
        )

    def to_mapping(self) -> dict:
        """As `station.yaml` holds it: `from_mapping` gives the same policy back."""
        values: dict = {"analyses": list(self.analyses), "min_cell": self.min_cell,
                        "epsilon_limit": self.epsilon_limit}  # fmt: skip
        for key in ("studies", "recipients"):
            if getattr(self, key) is not None:
                values[key] = list(getattr(self, key))
        return values


def digest(parameters: Mapping[str, object]) -> str:
    """What a task entry records of its parameters (they carry a random nonce, so the
    hash reveals nothing guessable about them)."""
    return hashlib.sha256(canonical(parameters)).hexdigest()


def refusal(
    me: str,
    parameters: Mapping[str, object],
    federation: Federation,
    policy: Policy,
    schemas: Mapping[str, Sequence[str]],
) -> str | None:
    """Why this station refuses the task, or None if it accepts. `schemas`: this
    station's datasets and their columns."""
    task = federation.tasks.get(str(parameters.get("task")))
    if task is None:
        return "the task is not in this station's copy of the ledger"
    if digest(parameters) != task.digest:
        return "the parameters differ from those the ledger records for the task"
    study = federation.studies[task.study]
    status = federation.status(task.study)
    if status != "approved":
        return f"the study is {status}"
    if policy.studies is not None and task.study not in policy.studies:
        return "this station's policy does not serve this study"
    analysis = str(parameters.get("analysis"))
    if analysis not in study.study.analyses:
        return f"the study does not allow {analysis}"
    if analysis not in policy.analyses:
        return f"this station's policy does not allow {analysis}"
    if policy.recipients is not None and not set(task.recipients) <= set(policy.recipients):
        return "a recipient is not one this station's policy allows"
    if list(parameters.get("recipients", [])) != list(task.recipients):
        return "the parameters name other recipients than the ledger"
    if me not in parameters.get("world", []) or list(parameters["world"]) != list(task.stations):
        return "the task's parties differ from the ledger's"
    options = parameters.get("options", {})
    if analysis in MIN_CELL and int(options.get("min_cell", MIN_CELL[analysis])) < policy.min_cell:
        return f"cells below {policy.min_cell} must be suppressed (this station's minimum)"
    if parameters.get("mode", "joint") != task.mode:
        return "the parameters' mode differs from the ledger's"
    if task.mode == "pooled":
        epsilon = float(parameters.get("epsilon", math.inf))
        if not 0 < epsilon < math.inf:
            return "a pooled release must carry differential privacy noise (a finite epsilon)"
        if epsilon > policy.epsilon_limit:
            return f"epsilon {epsilon:g} exceeds this station's budget of {policy.epsilon_limit:g}"
    datasets = parameters.get("datasets", {})
    if me in datasets:
        dataset = str(datasets[me])
        if dataset not in study.study.stations.get(me, ()):
            return f"the study does not cover dataset {dataset!r}"
        if dataset not in schemas:
            return f"this station has no dataset {dataset!r}"
        if list(parameters.get("columns", {}).get(me, [])) != list(schemas[dataset]):
            return f"dataset {dataset!r} has changed since the task was made: resubmit it"
    return None
