"""The federation's state as the API and the pages show it: plain records built from the
replayed ledger, shared by the JSON routes and the HTML pages so both say the same thing."""

from __future__ import annotations

from tessera.audit.ledger import Entry
from tessera.governance.studies import PURPOSES, Federation, now


def study_records(federation: Federation) -> list[dict]:
    """The studies as the API and the pages show them."""
    moment = now()
    records = []
    for study_id, state in federation.studies.items():
        study = state.study
        records.append(
            {
                "id": study_id,
                "title": study.title,
                "purpose": study.purpose,
                "purpose_label": PURPOSES[study.purpose],
                "proposer": state.proposer,
                "stations": {s: list(d) for s, d in study.stations.items()},
                "analyses": list(study.analyses),
                "recipients": list(study.recipients),
                "expires": study.expires,
                "public": study.public,
                "status": federation.status(study_id, moment),
                "organisations": federation.organisations(study),
                "decided": sorted(state.decisions),
                "approvals": [
                    {"organisation": org, "decision": d, "steward": who, "reason": why, "time": t}
                    for org, (d, who, why, t) in state.decisions.items()
                ],
            }
        )
    return records


def public_records(federation: Federation) -> list[dict]:
    """The publications as `GET /api/public` and the statistics page show them, in ledger
    order, each with its study's title."""
    publications = list(federation.publications.values())  # one C call: safe beside a writer
    return [
        {
            "task": p["task"],
            "study": p["study"],
            "study_title": federation.studies[p["study"]].study.title,
            "title": p["title"],
            "kind": p["kind"],
            "epsilon": p["epsilon"],
            "released": p["released"],
            "publisher": p["publisher"],
            "published": p["published"],
            "entry": p["entry"],
            "result": p["result"],
        }
        for p in publications
    ]


def summary(entry: Entry) -> str:
    """One line per ledger entry for the audit page: what happened, not any content."""
    body = entry.body
    keys = ("party", "role", "organisation", "study", "title", "task", "accept", "reason")
    return ", ".join(f"{k}={body[k]}" for k in keys if k in body)
