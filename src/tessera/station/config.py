"""`station.yaml`: the hub, this station's MPC address, its datasets and its policy.

Relative dataset paths are relative to the file's directory, which also holds the
station's identity, TLS files, ledger copy and privacy budget. A mistake in the file is
refused at start with every bad setting named, never half-applied.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tessera.errors import InputError
from tessera.station.policy import Policy, settings_problems


class StationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    directory: Path = Field(exclude=True)  # where the file lives; not written into it
    hub: str
    address: str  # HOST:PORT where the peer stations reach this station's MPC port
    datasets: dict[str, Path] = {}
    policy: Policy = Policy()
    poll_seconds: float = Field(1.0, gt=0)
    session_seconds: float = Field(600.0, gt=0)

    @classmethod
    def load(cls, path: Path) -> StationConfig:
        try:
            values = yaml.safe_load(Path(path).read_text()) or {}
        except yaml.YAMLError as error:
            raise InputError(f"{path}: not valid YAML ({error})") from None
        if not isinstance(values, dict):
            raise InputError(f"{path}: expected settings (hub, address, datasets, policy)")
        directory = Path(path).resolve().parent
        datasets = {str(k): directory / str(v) for k, v in (values.get("datasets") or {}).items()}
        try:
            return cls.model_validate({**values, "directory": directory, "datasets": datasets})
        except ValidationError as error:
            raise InputError(f"{path}: {settings_problems(error)}") from None

    def write(self) -> Path:
        values = self.model_dump(mode="json")
        values["datasets"] = {
            k: str(v.relative_to(self.directory)) if v.is_relative_to(self.directory) else str(v)
            for k, v in self.datasets.items()
        }
        values["policy"] = self.policy.to_mapping()
        path = self.directory / "station.yaml"
        path.write_text(yaml.safe_dump(values, sort_keys=False))
        return path
