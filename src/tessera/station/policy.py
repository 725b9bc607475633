"""A station's own rules, and its check of every task before it runs anything.

The hub has already checked the ledger, but a station trusts only its own copy: it checks
the study's approval and expiry there, that the sealed parameters are exactly those the
ledger's task entry hashes, and then its local policy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tessera.analyses.registry import ANALYSES, DEFAULT_MIN_CELL, analysis
from tessera.errors import InputError
from tessera.governance.studies import Federation
from tessera.protocol.tasks import digest


class Policy(BaseModel):
    """Which analyses this station allows (None: every analysis of the catalogue, each under
    its disclosure rule), the smallest count it releases, its privacy budget per dataset
    and study, and optionally the only studies and recipients it serves. `station.yaml`
    holds it under `policy:`."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    analyses: tuple[str, ...] | None = None
    min_cell: int = Field(DEFAULT_MIN_CELL, ge=0)
    studies: tuple[str, ...] | None = None
    recipients: tuple[str, ...] | None = None
    epsilon_limit: float = Field(3.0, gt=0)  # the privacy budget of each dataset in each study

    @field_validator("analyses")
    @classmethod
    def _known(cls, names: tuple[str, ...] | None) -> tuple[str, ...] | None:
        for name in names or ():
            analysis(name)  # an unknown name says which there are
        return names

    def allows(self, name: str) -> bool:
        return self.analyses is None or name in self.analyses

    @classmethod
    def from_mapping(cls, values: Mapping[str, object]) -> Policy:
        """The policy from `station.yaml`, or one error naming each bad setting."""
        try:
            return cls.model_validate(dict(values))
        except ValidationError as error:
            raise InputError(f"policy: {settings_problems(error)}") from None

    def to_mapping(self) -> dict:
        """As `station.yaml` holds it: `from_mapping` gives the same policy back."""
        return self.model_dump(mode="json", exclude_none=True)


def settings_problems(error: ValidationError) -> str:
    """A pydantic error as one line a steward can act on: each setting and what is wrong."""
    problems = []
    for item in error.errors():
        where = ".".join(str(part) for part in item["loc"]) or "settings"
        message = item["msg"]
        if item["type"] == "extra_forbidden":
            message = "unknown setting"
        problems.append(f"{where}: {message.removeprefix('Value error, ')}")
    return "; ".join(problems)


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
    name = str(parameters.get("analysis"))
    if name not in study.study.analyses:
        return f"the study does not allow {name}"
    if not policy.allows(name):
        return f"this station's policy does not allow {name}"
    if policy.recipients is not None and not set(task.recipients) <= set(policy.recipients):
        return "a recipient is not one this station's policy allows"
    if list(parameters.get("recipients", [])) != list(task.recipients):
        return "the parameters name other recipients than the ledger"
    if me not in parameters.get("world", []) or list(parameters["world"]) != list(task.stations):
        return "the task's parties differ from the ledger's"
    rule = ANALYSES[name].small_cells if name in ANALYSES else None
    options = parameters.get("options", {})
    if rule and int(options.get(rule, DEFAULT_MIN_CELL)) < policy.min_cell:
        return f"cells below {policy.min_cell} must be suppressed (this station's minimum)"
    if parameters.get("mode", "joint") != task.mode:
        return "the parameters' mode differs from the ledger's"
    if name in ANALYSES and task.mode not in ANALYSES[name].modes:
        return f"{name} does not run as a {task.mode} task"
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
