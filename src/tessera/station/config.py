"""`station.yaml`: the hub, this station's MPC address, its datasets and its policy.

A dataset is a canonical CSV or Parquet file, or a source in a hospital format, imported
into the canonical table when the station starts:

    datasets:
      gp: gp.parquet
      registry: {format: obds, source: exports/obds/, table: registry}
      clinic: {format: omop, source: postgresql+psycopg://reader@db/cdm, schema: cdm}

Relative paths are relative to the file's directory, which also holds the station's
identity, TLS files, ledger copy, privacy budget and the imported tables
(`datasets/NAME.parquet`, the station's own data at home). A mistake in the file is
refused at start with every bad setting named, never half-applied.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from tessera.errors import InputError
from tessera.sources.readers import is_url
from tessera.station.policy import Policy, settings_problems


class Dataset(BaseModel):
    """One of the station's tables: a canonical file, or a `format` source to import."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    source: str  # a path, or a database URL (omop)
    format: Literal["fhir", "obds", "omop"] | None = None  # None: canonical CSV/Parquet
    table: str = "registry"  # the canonical table a format source is imported into
    schema_: str | None = Field(None, alias="schema")  # omop: the CDM's database schema

    def located(self, directory: Path) -> Dataset:
        """With a relative path made relative to `directory`."""
        if is_url(self.source) or Path(self.source).is_absolute():
            return self
        return self.model_copy(update={"source": str(directory / self.source)})

    def relative(self, directory: Path) -> str | dict:
        """As `station.yaml` writes it."""
        source = self.source
        if not is_url(source) and Path(source).is_relative_to(directory):
            source = str(Path(source).relative_to(directory))
        if self.format is None:
            return source
        return self.model_dump(by_alias=True, exclude_none=True) | {"source": source}

    def materialise(self, directory: Path, name: str, say=lambda _: None) -> Path:
        """The canonical table's file: the source itself, or the import of a format source
        into `directory/datasets/NAME.parquet`, renewed when the source file is newer."""
        if self.format is None:
            return Path(self.source)
        from tessera.sources import formats

        cache = directory / "datasets" / f"{name}.parquet"
        local = not is_url(self.source)
        if local and cache.exists() and cache.stat().st_mtime >= _newest(Path(self.source)):
            return cache
        options = {"schema": self.schema_} if self.schema_ else {}
        frame, report = formats.read(self.format, self.source, self.table, **options)
        cache.parent.mkdir(mode=0o700, exist_ok=True)
        frame.to_parquet(cache, index=False)
        say(f"dataset {name}: {report.rows:,} rows imported from {self.format}, "
            f"{len(report.refused)} records refused")  # fmt: skip
        return cache


def _newest(path: Path) -> float:
    if path.is_dir():
        return max((p.stat().st_mtime for p in path.rglob("*") if p.is_file()), default=0.0)
    return path.stat().st_mtime


class StationConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    directory: Path = Field(exclude=True)  # where the file lives; not written into it
    hub: str
    address: str  # HOST:PORT where the peer stations reach this station's MPC port
    datasets: dict[str, Dataset] = {}
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
        try:
            config = cls.model_validate({**values, "directory": directory})
        except ValidationError as error:
            raise InputError(f"{path}: {settings_problems(error)}") from None
        located = {k: d.located(directory) for k, d in config.datasets.items()}
        return config.model_copy(update={"datasets": located})

    @field_validator("datasets", mode="before")
    @classmethod
    def _paths(cls, value):
        """A dataset given as a plain path (in code or YAML) is a canonical file."""
        if isinstance(value, dict):
            return {k: {"source": str(v)} if isinstance(v, str | Path) else v
                    for k, v in value.items()}  # fmt: skip
        return value

    def write(self) -> Path:
        values = self.model_dump(mode="json")
        values["datasets"] = {k: d.relative(self.directory) for k, d in self.datasets.items()}
        values["policy"] = self.policy.to_mapping()
        path = self.directory / "station.yaml"
        path.write_text(yaml.safe_dump(values, sort_keys=False))
        return path
