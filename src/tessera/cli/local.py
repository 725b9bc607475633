"""`tessera local`: record linkage and the analyses of `tessera.analyses.registry` among
separate local party processes, exactly as stations run them. Each command only turns its
options into the analysis's; `tessera.cli.runner` runs them, and `tessera local run` runs
any analysis of the registry by name."""

from __future__ import annotations

from typing import Annotated

import typer

from tessera.analyses.registry import ANALYSES, analysis, names
from tessera.cli import options as parse
from tessera.cli.options import (
    AccuracyOption,
    ClipOption,
    EpsilonOption,
    EventOption,
    FieldsOption,
    Format,
    FormatOption,
    HelperOption,
    HorizonOption,
    HorizontalOption,
    IterationsOption,
    JoinOption,
    LevelsOption,
    LinkOption,
    MinCellOption,
    PartyOption,
    PlotOption,
    RegistryThresholdOption,
    ThresholdOption,
    TimeOption,
    TimeStepOption,
    WhereOption,
    show,
    user_errors,
)
from tessera.cli.runner import analyse
from tessera.errors import InputError

app = typer.Typer()


@app.command("link")
def local_link(
    party: PartyOption,
    fields: FieldsOption = None,
    threshold: ThresholdOption = None,
    reveal_pairs: Annotated[
        bool,
        typer.Option(
            "--reveal-pairs", help="For evaluation only: also print the linked record ids."
        ),
    ] = False,
    format: FormatOption = Format.table,
) -> None:
    """Link the parties' records on their identifiers, privately; print how many matched."""
    from tessera.analyses.link import run_link

    with user_errors():
        paths = parse.parties(party)
        chosen = parse.columns(fields, "--fields") if fields is not None else None
        with parse.err.status("linking the parties' records privately"):
            result = run_link(paths, chosen, threshold, reveal_pairs)
    show(result, format)


@app.command("crosstab")
def local_crosstab(
    party: PartyOption,
    rows: Annotated[str, typer.Option(help="Categorical column for the rows.")],
    cols: Annotated[str, typer.Option(help="Categorical column for the columns.")],
    min_cell: MinCellOption = None,
    where: WhereOption = None,
    helper: HelperOption = False,
    accuracy: AccuracyOption = None,
    join: JoinOption = None,
    link: LinkOption = None,
    fields: FieldsOption = None,
    threshold: ThresholdOption = None,
    format: FormatOption = Format.table,
) -> None:
    """Count patients by two categorical columns that may sit at different parties."""
    with user_errors():
        result = analyse("crosstab", party, {"rows": rows, "cols": cols, "min_cell": min_cell},
                         where=where, helper=helper, accuracy=accuracy, join=join, link=link,
                         fields=fields, threshold=threshold)  # fmt: skip
    show(result, format)


@app.command("describe")
def local_describe(
    party: PartyOption,
    columns: Annotated[str, typer.Option(help="Numeric columns, comma-separated.")],
    min_count: Annotated[
        int | None,
        typer.Option(
            min=0,
            help="Release nothing about a column counted on fewer (default "
            f"{analysis('describe').defaults('joint')['min_count']}).",
        ),
    ] = None,
    where: WhereOption = None,
    helper: HelperOption = False,
    accuracy: AccuracyOption = None,
    join: JoinOption = None,
    link: LinkOption = None,
    fields: FieldsOption = None,
    threshold: ThresholdOption = None,
    plot: PlotOption = None,
    format: FormatOption = Format.table,
) -> None:
    """Count, mean, standard deviation and quartiles of numeric columns (joined patients)."""
    with user_errors():
        options = {"columns": parse.listed(columns, "--columns"), "min_count": min_count}
        result = analyse("describe", party, options, where=where, helper=helper,
                         accuracy=accuracy, join=join, link=link, fields=fields,
                         threshold=threshold)  # fmt: skip
    show(result, format, plot)


@app.command("histogram")
def local_histogram(
    party: PartyOption,
    column: Annotated[str, typer.Option(help="Numeric column.")],
    edges: Annotated[str, typer.Option(help="Bin edges, increasing, comma-separated.")],
    min_cell: MinCellOption = None,
    where: WhereOption = None,
    helper: HelperOption = False,
    accuracy: AccuracyOption = None,
    join: JoinOption = None,
    link: LinkOption = None,
    fields: FieldsOption = None,
    threshold: ThresholdOption = None,
    plot: PlotOption = None,
    format: FormatOption = Format.table,
) -> None:
    """Counts of a numeric column in public bins [lower, upper); the last bin is closed."""
    with user_errors():
        options = {"column": column, "edges": parse.edges(edges), "min_cell": min_cell}
        result = analyse("histogram", party, options, where=where, helper=helper,
                         accuracy=accuracy, join=join, link=link, fields=fields,
                         threshold=threshold)  # fmt: skip
    show(result, format, plot)


@app.command("kaplan-meier")
def local_kaplan_meier(
    party: PartyOption,
    time: TimeOption,
    event: EventOption,
    by: Annotated[str | None, typer.Option(help="Group column; may sit at another party.")] = None,
    where: WhereOption = None,
    helper: HelperOption = False,
    accuracy: AccuracyOption = None,
    plot: PlotOption = None,
    join: JoinOption = None,
    link: LinkOption = None,
    fields: FieldsOption = None,
    threshold: ThresholdOption = None,
    format: FormatOption = Format.table,
    horizontal: HorizontalOption = False,
    time_step: TimeStepOption = None,
    horizon: HorizonOption = None,
    epsilon: EpsilonOption = "inf",
    levels: LevelsOption = None,
    decrypt_threshold: RegistryThresholdOption = None,
) -> None:
    """Kaplan-Meier curves (with Greenwood limits) by group, and the log-rank test."""
    with user_errors():
        options = {"time": time, "event": event, "by": by}
        if horizontal:
            options |= {"step": time_step, "horizon": horizon, "levels": parse.levels(levels)}
        result = analyse("kaplan-meier", party, options, horizontal=horizontal, where=where,
                         helper=helper, accuracy=accuracy, join=join, link=link, fields=fields,
                         threshold=threshold, epsilon=epsilon,
                         decrypt_threshold=decrypt_threshold,
                         pooled_only={"--time-step": time_step, "--horizon": horizon,
                                      "--levels": levels})  # fmt: skip
    show(result, format, plot)


@app.command("logistic")
def local_logistic(
    party: PartyOption,
    target: Annotated[str, typer.Option(help="Binary outcome column (0/1).")],
    features: Annotated[str, typer.Option(help="Numeric feature columns, comma-separated.")],
    l2: Annotated[
        float | None,
        typer.Option(
            min=0.0,
            help="L2 penalty on the coefficients (default "
            f"{analysis('logistic').defaults('joint')['l2']:g}).",
        ),
    ] = None,
    iterations: IterationsOption = None,
    where: WhereOption = None,
    helper: HelperOption = False,
    accuracy: AccuracyOption = None,
    plot: PlotOption = None,
    join: JoinOption = None,
    link: LinkOption = None,
    fields: FieldsOption = None,
    threshold: ThresholdOption = None,
    format: FormatOption = Format.table,
    horizontal: HorizontalOption = False,
    epsilon: EpsilonOption = "inf",
    clip: ClipOption = None,
    decrypt_threshold: RegistryThresholdOption = None,
) -> None:
    """Logistic regression (Newton's method) with standard errors, on the joined patients.

    With --horizontal: on the registries' pooled gradients, round by round."""
    with user_errors():
        options = {"target": target, "features": parse.listed(features, "--features"),
                   "l2": l2, "iterations": iterations}  # fmt: skip
        if horizontal:
            options["clip"] = parse.clip(clip)
        result = analyse("logistic", party, options, horizontal=horizontal, where=where,
                         helper=helper, accuracy=accuracy, join=join, link=link, fields=fields,
                         threshold=threshold, epsilon=epsilon,
                         decrypt_threshold=decrypt_threshold,
                         pooled_only={"--clip": clip})  # fmt: skip
    show(result, format, plot)


@app.command("cox")
def local_cox(
    party: PartyOption,
    time: TimeOption,
    event: EventOption,
    covariates: Annotated[str, typer.Option(help="Numeric covariates, comma-separated.")],
    ties: Annotated[
        str | None,
        typer.Option(help="efron (as lifelines and R; the default) or breslow (--horizontal)."),
    ] = None,
    iterations: IterationsOption = None,
    where: WhereOption = None,
    helper: HelperOption = False,
    accuracy: Annotated[
        str | None,
        typer.Option(
            help="fast or precise; precise keeps small coefficients within 1e-3 (default "
            f"{analysis('cox').accuracy}).",
        ),
    ] = None,
    plot: PlotOption = None,
    join: JoinOption = None,
    link: LinkOption = None,
    fields: FieldsOption = None,
    threshold: ThresholdOption = None,
    format: FormatOption = Format.table,
    horizontal: HorizontalOption = False,
    time_step: TimeStepOption = None,
    horizon: HorizonOption = None,
    epsilon: EpsilonOption = "inf",
    clip: ClipOption = None,
    decrypt_threshold: RegistryThresholdOption = None,
) -> None:
    """Cox proportional hazards with standard errors and log-likelihood.

    With --horizontal: Breslow's ties on the public time bins (--time-step), round by
    round on the registries' pooled risk-set sums."""
    with user_errors():
        options = {"time": time, "event": event,
                   "covariates": parse.listed(covariates, "--covariates"),
                   "iterations": iterations}  # fmt: skip
        if horizontal:
            if ties not in (None, "breslow"):
                raise InputError("--horizontal fits Breslow's ties: leave out --ties")
            options |= {"step": time_step, "horizon": horizon, "clip": parse.clip(clip)}
        else:
            options["ties"] = ties
        result = analyse("cox", party, options, horizontal=horizontal, where=where,
                         helper=helper, accuracy=accuracy, join=join, link=link, fields=fields,
                         threshold=threshold, epsilon=epsilon,
                         decrypt_threshold=decrypt_threshold,
                         pooled_only={"--time-step": time_step, "--horizon": horizon,
                                      "--clip": clip})  # fmt: skip
    show(result, format, plot)


def _catalogue() -> str:
    return "; ".join(f"{n} ({', '.join(a.modes)}): {a.summary}" for n, a in ANALYSES.items())


@app.command(
    "run",
    help="Run any analysis of the registry by name, its options given with --set; joint "
    "(MPC over the parties' columns) unless --horizontal (pooled over registries).\n\n"
    f"Analyses (modes): {_catalogue()}.",
)
def local_run(
    name: Annotated[str, typer.Argument(help=f"The analysis: one of {', '.join(names())}.")],
    party: PartyOption,
    set_: Annotated[
        list[str] | None,
        typer.Option(
            "--set",
            help="KEY=VALUE, an option of the analysis (others take the registry's "
            'defaults); VALUE is read as JSON if it parses (10, true, ["a","b"]), else as '
            "text. E.g. --set by=stage --set min_cell=10.",
        ),
    ] = None,
    horizontal: HorizontalOption = False,
    where: WhereOption = None,
    helper: HelperOption = False,
    accuracy: AccuracyOption = None,
    join: JoinOption = None,
    link: LinkOption = None,
    fields: FieldsOption = None,
    threshold: ThresholdOption = None,
    epsilon: EpsilonOption = "inf",
    decrypt_threshold: RegistryThresholdOption = None,
    plot: PlotOption = None,
    format: FormatOption = Format.table,
) -> None:
    with user_errors():
        options = parse.settings(set_)
        try:
            result = analyse(name, party, options, horizontal=horizontal, where=where,
                             helper=helper, accuracy=accuracy, join=join, link=link,
                             fields=fields, threshold=threshold, epsilon=epsilon,
                             decrypt_threshold=decrypt_threshold)  # fmt: skip
        except KeyError as missing:  # an option the analysis needs and has no default for
            key = missing.args[0] if missing.args else None
            if not isinstance(key, str) or key in options:
                raise
            raise InputError(f"{name} needs the option {key!r}: --set {key}=VALUE") from None
    show(result, format, plot)
