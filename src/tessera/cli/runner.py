"""The one way `tessera local` runs an analysis: whatever `tessera.analyses.registry` says
of it, so that an analysis added there runs from the command line unchanged.

- joint (the parties hold columns of the same patients): resolve each column to its party
  (`plan_for_files`), run the MPC statistic among one local process per party
  (`run_vertical`) and build the analysis's result object;
- pooled (`--horizontal`: registries with one schema): read each party's file as a
  registry's table and run the pooled protocol among them in this process
  (`tessera.protocol.local.pool`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path

from tessera.analyses.registry import analysis
from tessera.cli.options import epsilon as parse_epsilon
from tessera.cli.options import err, match, parties, refuse


def analyse(
    name: str,
    party: list[str],
    options: Mapping[str, object],
    *,
    horizontal: bool = False,
    where: str | None = None,
    helper: bool = False,
    accuracy: str | None = None,
    join: str | None = None,
    link: str | None = None,
    fields: str | None = None,
    threshold: float | None = None,
    epsilon: str = "inf",
    decrypt_threshold: int | None = None,
    pooled_only: Mapping[str, object] | None = None,
):
    """Run analysis `name` with `options` (None values take the registry's defaults) among
    the `--party` files and return its result object. The options of the other mode must
    not be set (`pooled_only`: a command's own, option -> value); an epsilon other than inf
    is the pooled mode's."""
    joint_only = {"--helper": helper, "--join": join, "--link": link, "--fields": fields,
                  "--threshold": threshold, "--accuracy": accuracy}  # fmt: skip
    if horizontal:
        refuse(joint_only, "do not apply with --horizontal")
        return pooled(name, party, {**options, "where": where}, epsilon, decrypt_threshold)
    noisy = epsilon if math.isfinite(parse_epsilon(epsilon)) else None
    refuse({"--epsilon": noisy, "--decrypt-threshold": decrypt_threshold, **(pooled_only or {})},
           "apply only with --horizontal")  # fmt: skip
    return joint(name, party, options, match(join, link, fields, threshold), helper, accuracy,
                 where)  # fmt: skip


def joint(
    name: str,
    party: list[str],
    options: Mapping[str, object],
    match: Mapping[str, object],
    helper: bool = False,
    accuracy: str | None = None,
    where: str | None = None,
):
    """The analysis in MPC among one local process per party (and a helper), as stations
    run it; `match`: how rows are matched (`--join` or `--link`)."""
    from tessera.analyses.vertical import plan_for_files, run_vertical

    entry = analysis(name)
    implementation = entry.implementation("joint")
    resolved = entry.options("joint", options)
    paths = parties(party)
    plan = plan_for_files(paths, where=where, **match, **implementation.columns(resolved))
    arguments = implementation.arguments(resolved)
    with err.status(f"running the secure {name} among the parties"):
        outputs, labels = run_vertical(plan, paths, implementation.statistic, helper,
                                       accuracy or entry.accuracy, **arguments)  # fmt: skip
    return implementation.result(outputs, labels, resolved)


def pooled(
    name: str,
    party: list[str],
    options: Mapping[str, object],
    epsilon: str = "inf",
    threshold: int | None = None,
):
    """The analysis over registries, each `--party` file one registry's table: a model
    round by round with a progress bar, an aggregate in one round."""
    from rich.progress import Progress

    from tessera.analyses.fits import Fit
    from tessera.privacy.noise import Noise
    from tessera.protocol.local import pool
    from tessera.sources.readers import read_file

    noise = Noise(parse_epsilon(epsilon))
    model = isinstance(analysis(name).implementation("pooled"), Fit)
    frames = {registry: read_file(Path(path)) for registry, path in parties(party).items()}
    if not model:
        with err.status(f"{name} across the registries"):
            return pool(name, frames, options, noise, threshold)
    with Progress(console=err, transient=True) as bar:
        shown = bar.add_task("Newton rounds over the registries", total=None)

        def progress(number: int, rounds: int) -> None:
            bar.update(shown, completed=number, total=rounds)

        return pool(name, frames, options, noise, threshold, progress)
