"""Studies and the rules of who may do what, read from the audit ledger.

Every governance step is a ledger entry signed by its author: a researcher's `study`
proposal, each data steward's `approve` or `refuse`, a `task` submitted in an approved study,
each station's `decision` on it, and each station's `release` (or `failure`). `Federation`
replays the entries and refuses one that breaks a rule, naming it. The hub applies it before
it stores an entry; every station applies it to its own copy before it runs anything; an
auditor applies it with `tessera audit verify`. Nobody has to trust the hub's word.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from tessera.analyses.registry import ANALYSES
from tessera.audit.ledger import OPERATOR, Chain, Entry, LedgerError, Member, canonical
from tessera.governance import publications

# Data Use Ontology purposes a study may name (https://github.com/EBISPOT/DUO).
PURPOSES = {
    "DUO:0000042": "general research use",
    "DUO:0000006": "health or medical or biomedical research",
    "DUO:0000007": "disease specific research",
    "DUO:0000011": "population origins or ancestry research",
    "DUO:0000012": "research specific restrictions",
}
ROLES = ("steward", "researcher", "auditor", "station")
# A task's `mode`: "joint" runs MPC among exactly 3 stations (vertical data); "pooled" adds up
# encrypted aggregates of 2 or more registries with one schema (`tessera.protocol.pooled`).
MODES = ("joint", "pooled")


class GovernanceError(LedgerError):
    """An entry that is well signed but not allowed: the wrong role, an unapproved study..."""


@dataclass(frozen=True)
class Study:
    """A proposal: what for, at which stations and datasets, which analyses, for whom, until
    when. Its id is a hash of its content, so nobody can change a study after approval."""

    title: str
    purpose: str
    stations: Mapping[str, tuple[str, ...]]  # station -> its datasets the study uses
    analyses: tuple[str, ...]
    recipients: tuple[str, ...]
    expires: str  # ISO date; the study ends at the end of that day (UTC)
    public: bool = False  # approving it approves publishing its releases (`publish`)

    def __post_init__(self) -> None:
        if not self.title.strip():
            raise ValueError("a study needs a title")
        if self.purpose not in PURPOSES:
            known = ", ".join(f"{code} ({label})" for code, label in PURPOSES.items())
            raise ValueError(f"unknown purpose {self.purpose!r}: use one of {known}")
        if len(self.stations) < 2:
            raise ValueError("a study needs at least two stations")
        unknown = sorted(set(self.analyses) - set(ANALYSES))
        if unknown or not self.analyses:
            raise ValueError(f"analyses must be among {', '.join(ANALYSES)}; got {unknown or []}")
        if not self.recipients:
            raise ValueError("a study names at least one result recipient")
        try:
            dt.date.fromisoformat(self.expires)
        except ValueError:
            raise ValueError(f"expires {self.expires!r}: write a date as YYYY-MM-DD") from None
        if not isinstance(self.public, bool):
            raise ValueError(f"public is true or false, not {self.public!r}")

    @classmethod
    def from_body(cls, body: Mapping[str, object]) -> Study:
        try:
            stations = {str(s): tuple(map(str, d)) for s, d in dict(body["stations"]).items()}
            return cls(
                str(body["title"]),
                str(body["purpose"]),
                stations,
                tuple(map(str, body["analyses"])),
                tuple(map(str, body["recipients"])),
                str(body["expires"]),
                body.get("public", False),  # type: ignore[arg-type]  # checked in __post_init__
            )
        except (KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"not a study proposal ({error})") from None

    def body(self) -> dict:
        """The proposal as its entry carries it; `public` only when true, so that the ids of
        studies proposed before it existed stay what they were."""
        return {
            "title": self.title,
            "purpose": self.purpose,
            "stations": {s: list(d) for s, d in sorted(self.stations.items())},
            "analyses": list(self.analyses),
            "recipients": list(self.recipients),
            "expires": self.expires,
        } | ({"public": True} if self.public else {})

    @property
    def id(self) -> str:
        return hashlib.sha256(canonical(self.body())).hexdigest()[:16]

    def expired(self, moment: str) -> bool:
        """Whether the study has ended at `moment` (an ISO time, as entries carry)."""
        end = dt.datetime.combine(dt.date.fromisoformat(self.expires), dt.time.max, dt.UTC)
        return dt.datetime.fromisoformat(moment) > end


@dataclass
class StudyState:
    study: Study
    proposer: str
    decisions: dict[str, tuple[str, str, str, str]] = field(default_factory=dict)
    # organisation -> (decision, steward, reason, time)

    def status(self, organisations: Iterable[str], moment: str) -> str:
        """proposed, approved, refused or expired, for the organisations of its stations."""
        if self.study.expired(moment):
            return "expired"
        decided = [self.decisions.get(o, ("",))[0] for o in organisations]
        if "refuse" in decided:
            return "refused"
        return "approved" if all(d == "approve" for d in decided) else "proposed"


@dataclass
class TaskState:
    task: str
    study: str
    researcher: str
    stations: tuple[str, ...]
    recipients: tuple[str, ...]
    digest: str  # SHA-256 of the (salted) parameters the stations receive sealed
    decisions: dict[str, tuple[bool, str]] = field(default_factory=dict)
    released: dict[str, str] = field(default_factory=dict)  # station -> digest of its output
    failures: dict[str, str] = field(default_factory=dict)  # station -> reason
    mode: str = "joint"  # see MODES
    aborted: set[str] = field(default_factory=set)  # stations whose MPC engine crashed

    @property
    def retryable(self) -> bool:
        """Failed only because an MPC engine crashed: the same task again may well run."""
        return (
            self.status == "failed"
            and bool(self.aborted)
            and all(accept for accept, _ in self.decisions.values())
        )

    @property
    def status(self) -> str:
        if self.failures or any(not accept for accept, _ in self.decisions.values()):
            return "failed"
        if len(self.released) == len(self.stations):
            return "done"
        return "ready" if len(self.decisions) == len(self.stations) else "pending"

    @property
    def reason(self) -> str | None:
        refusals = [f"{s} refused: {r}" for s, (ok, r) in self.decisions.items() if not ok]
        failures = [f"{s} failed: {r}" for s, r in self.failures.items()]
        return "; ".join(refusals + failures) or None


class Federation:
    """The ledger's state as governance sees it; `admit` enforces who may write what."""

    def __init__(self, operator: str | None = None):
        self.chain = Chain(operator)
        self.studies: dict[str, StudyState] = {}
        self.tasks: dict[str, TaskState] = {}
        self.entries: list[Entry] = []
        self.publications: dict[str, dict] = {}  # task -> what its `publish` entry published

    @classmethod
    def replay(cls, entries: Iterable[Entry], operator: str | None = None) -> Federation:
        federation = cls(operator)
        for entry in entries:
            federation.admit(entry)
        return federation

    @property
    def members(self) -> dict[str, Member]:
        return self.chain.members

    @property
    def head(self) -> str:
        return self.chain.head

    def role(self, party: str) -> str:
        member = self.members.get(party)
        return member.role if member else ""

    def organisations(self, study: Study) -> list[str]:
        """The organisations whose stewards decide on a study: those of its stations."""
        return sorted({self.members[s].organisation for s in study.stations if s in self.members})

    def status(self, study_id: str, moment: str | None = None) -> str:
        state = self.studies[study_id]
        return state.status(self.organisations(state.study), moment or now())

    def admit(self, entry: Entry) -> None:
        """Check `entry` against the chain's rules and governance's; then record it."""
        self.check(entry)
        self.record(entry)

    def check(self, entry: Entry) -> None:
        """Raise `LedgerError` (or `GovernanceError`) unless `entry` may come next."""
        self.chain.check(entry)  # signature and chain first: they name forgeries as such
        check = getattr(self, f"_check_{entry.kind}", None)
        if check is not None:
            check(self.chain.length, entry)

    def record(self, entry: Entry) -> None:
        """Take in a checked entry."""
        self.chain.admit(entry)
        apply = getattr(self, f"_apply_{entry.kind}", None)
        if apply is not None:
            apply(entry)
        self.entries.append(entry)

    # -- rules: each `_check_KIND` raises GovernanceError; `_apply_KIND` records the entry --

    def _require(self, line: int, entry: Entry, role: str) -> None:
        if self.role(entry.author) != role:
            raise GovernanceError(line, f"{entry.author!r} is not a {role}: cannot {entry.kind}")

    def _study(self, line: int, entry: Entry) -> StudyState:
        state = self.studies.get(str(entry.body.get("study", "")))
        if state is None:
            raise GovernanceError(line, f"{entry.kind} names an unknown study")
        return state

    def _task(self, line: int, entry: Entry) -> TaskState:
        task = self.tasks.get(str(entry.body.get("task", "")))
        if task is None:
            raise GovernanceError(line, f"{entry.kind} names an unknown task")
        if entry.author not in task.stations:
            raise GovernanceError(line, f"{entry.author!r} is not a station of the task")
        return task

    def _check_study(self, line: int, entry: Entry) -> None:
        self._require(line, entry, "researcher")
        try:
            study = Study.from_body(entry.body)
        except ValueError as error:
            raise GovernanceError(line, str(error)) from None
        if study.id in self.studies:
            raise GovernanceError(line, "proposes a study that exists")
        for station in study.stations:
            if self.role(station) != "station":
                raise GovernanceError(line, f"names {station!r}, which is not a station")

    def _apply_study(self, entry: Entry) -> None:
        study = Study.from_body(entry.body)
        self.studies[study.id] = StudyState(study, entry.author)

    def _check_approve(self, line: int, entry: Entry) -> None:
        self._require(line, entry, "steward")
        state = self._study(line, entry)
        organisation = self.members[entry.author].organisation
        if organisation not in self.organisations(state.study):
            raise GovernanceError(line, f"{entry.author!r} decides for no station of the study")
        if organisation in state.decisions:
            raise GovernanceError(line, f"{organisation!r} has already decided on the study")

    def _apply_approve(self, entry: Entry) -> None:
        state = self.studies[str(entry.body["study"])]
        decision = (entry.kind, entry.author, str(entry.body.get("reason", "")), entry.time)
        state.decisions[self.members[entry.author].organisation] = decision

    _check_refuse = _check_approve
    _apply_refuse = _apply_approve

    def _check_task(self, line: int, entry: Entry) -> None:
        self._require(line, entry, "researcher")
        state = self._study(line, entry)
        status = state.status(self.organisations(state.study), entry.time)
        if status != "approved":
            raise GovernanceError(line, f"the study is {status}: no task may run in it")
        body = entry.body
        if str(body.get("task", "")) in self.tasks or not body.get("task"):
            raise GovernanceError(line, "the task has no id or one already used")
        if entry.author not in (state.proposer, *state.study.recipients):
            raise GovernanceError(line, f"{entry.author!r} is neither proposer nor recipient")
        stations, recipients = body.get("stations", []), body.get("recipients", [])
        mode = body.get("mode", "joint")
        if mode not in MODES:
            raise GovernanceError(line, f"a task's mode is one of {', '.join(MODES)}")
        if not set(stations) <= set(state.study.stations) or len(set(stations)) != len(stations):
            raise GovernanceError(line, "a task runs among distinct stations of its study")
        if mode == "joint" and len(stations) != 3:
            raise GovernanceError(line, "a joint task runs among 3 of the study's stations")
        if mode == "pooled" and len(stations) < 2:
            raise GovernanceError(line, "a pooled task adds up 2 or more registries")
        if not recipients or not set(recipients) <= set(state.study.recipients):
            raise GovernanceError(line, "results may go only to recipients the study names")

    def _apply_task(self, entry: Entry) -> None:
        body = entry.body
        self.tasks[str(body["task"])] = TaskState(
            str(body["task"]),
            str(body["study"]),
            entry.author,
            tuple(body["stations"]),
            tuple(body["recipients"]),
            str(body.get("digest", "")),
            mode=str(body.get("mode", "joint")),
        )

    def _check_decision(self, line: int, entry: Entry) -> None:
        task = self._task(line, entry)
        if entry.author in task.decisions:
            raise GovernanceError(line, f"{entry.author!r} has already decided on the task")

    def _apply_decision(self, entry: Entry) -> None:
        task = self.tasks[str(entry.body["task"])]
        accept = entry.body.get("accept") is True
        task.decisions[entry.author] = (accept, str(entry.body.get("reason", "")))

    def _check_release(self, line: int, entry: Entry) -> None:
        task = self._task(line, entry)
        if task.status != "ready" or entry.author in task.released:
            raise GovernanceError(line, f"the task is {task.status}: nothing to release")

    def _apply_release(self, entry: Entry) -> None:
        self.tasks[str(entry.body["task"])].released[entry.author] = str(entry.body["digest"])

    def _check_failure(self, line: int, entry: Entry) -> None:
        self._task(line, entry)

    def _apply_failure(self, entry: Entry) -> None:
        task = self.tasks[str(entry.body["task"])]
        task.failures[entry.author] = str(entry.body.get("reason", ""))
        if entry.body.get("aborted") is True:
            task.aborted.add(entry.author)

    def released_on(self, task: str) -> str | None:
        """The date (ISO, UTC) of the task's last `release` entry: the date a publication
        states, which the ledger itself attests."""
        for entry in reversed(self.entries):
            if entry.kind == "release" and entry.body.get("task") == task:
                return dt.datetime.fromisoformat(entry.time).astimezone(dt.UTC).date().isoformat()
        return None

    def _check_publish(self, line: int, entry: Entry) -> None:
        """Only a recipient holds the result in the clear, so only a recipient can publish
        it; and only where every steward approved a public study, once, when complete."""
        task = self.tasks.get(str(entry.body.get("task", "")))
        if task is None:
            raise GovernanceError(line, "publish names an unknown task")
        if entry.author not in task.recipients:
            raise GovernanceError(line, f"{entry.author!r} is not a recipient of the task")
        if not self.studies[task.study].study.public:
            raise GovernanceError(
                line, "the study is not public: its stewards approved no publication"
            )
        if task.status != "done":
            raise GovernanceError(
                line, f"the task is {task.status}: only a complete release is published"
            )
        if task.task in self.publications:
            raise GovernanceError(line, "the task's release is already published")
        wrong = publications.problem(entry.body, self.released_on(task.task))
        if wrong:
            raise GovernanceError(line, wrong)

    def _apply_publish(self, entry: Entry) -> None:
        body = entry.body
        task = self.tasks[str(body["task"])]
        self.publications[task.task] = {
            "task": task.task,
            "study": task.study,
            **{k: body[k] for k in ("title", "kind", "epsilon", "released", "result")},
            "publisher": entry.author,
            "published": entry.time,
            "entry": entry.index,
        }

    def _check_invite(self, line: int, entry: Entry) -> None:
        role = str(entry.body.get("role", ""))
        if role not in ROLES:
            raise GovernanceError(line, f"invites a party with unknown role {role!r}")
        if entry.body.get("party") in (*self.members, OPERATOR):
            raise GovernanceError(line, f"invites {entry.body.get('party')!r}, who exists")


def output_digest(output: Mapping[str, str]) -> str:
    """What a `release` entry records of a station's sealed outputs (recipient -> base64
    ciphertext): a hash over them, so the ledger pins exactly what was handed out."""
    text = "\n".join(f"{name}:{output[name]}" for name in sorted(output))
    return hashlib.sha256(text.encode()).hexdigest()


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")
