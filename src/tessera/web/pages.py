"""The hub's pages as complete HTML documents, rendered on the server with the standard library.

Every value from a study, task or ledger entry is escaped with `html.escape`: proposers,
stewards and datasets name things, and a name must never become markup. The pages need no
JavaScript and load nothing from elsewhere (one inline <style>), so the Content-Security-Policy
forbids both; the hub never sees results or passwords, so the pages show neither.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable
from html import escape

CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src 'self' data:; "
    "form-action 'self'; base-uri 'none'"
)

STYLE = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 0; color: #1d232a; background: #fafbfc; }
nav { display: flex; gap: 1.2em; align-items: baseline; padding: .7em 1.5em;
      background: #1f3a5f; color: #fff; }
nav a { color: #fff; text-decoration: none; }
nav a:hover { text-decoration: underline; }
nav .brand { font-weight: 600; margin-right: 1em; }
nav .user { margin-left: auto; opacity: .9; }
main { padding: 1em 1.5em 3em; max-width: 80em; }
table { border-collapse: collapse; margin: .5em 0 1.5em; background: #fff; }
th, td { border: 1px solid #d0d7de; padding: .35em .6em; text-align: left; vertical-align: top; }
th { background: #eef2f6; }
ul.plain { margin: 0; padding-left: 1.1em; }
code, pre { font: 13px/1.4 ui-monospace, monospace; background: #eef2f6; padding: .1em .3em; }
pre { padding: .6em .8em; overflow-x: auto; }
.status { font-weight: 600; }
.status-approved, .status-done, .ok { color: #1a7f37; }
.status-refused, .status-expired, .status-failed, .bad { color: #cf222e; }
.status-proposed, .status-pending, .status-ready { color: #9a6700; }
.scroll { overflow-x: auto; }
.card { background: #fff; border: 1px solid #d0d7de; padding: .2em 1em 1em; margin: 1em 0; }
.empty, .note { color: #57606a; }
.message { background: #fff8c5; border: 1px solid #d4a72c; padding: .5em .8em; }
"""


def _e(value: object) -> str:
    """Escaped text of any value (None shows as an empty string)."""
    return "" if value is None else escape(str(value), quote=True)


def _list(items: Iterable[object]) -> str:
    rows = "".join(f"<li>{_e(item)}</li>" for item in items)
    return f'<ul class="plain">{rows}</ul>' if rows else ""


def _status(status: object) -> str:
    return f'<span class="status status-{_e(status)}">{_e(status)}</span>'


def _purpose(study: dict) -> str:
    return f"<code>{_e(study.get('purpose'))}</code> {_e(study.get('purpose_label'))}"


def _stations(stations: dict[str, list[str]]) -> str:
    return _list(f"{station}: {', '.join(names)}" for station, names in stations.items())


def _approvals(approvals: list[dict]) -> str:
    return _list(
        f"{a.get('steward')} ({a.get('organisation')}): {a.get('decision')}"
        + (f" ({a['reason']})" if a.get("reason") else "")
        + (f", {a['time']}" if a.get("time") else "")
        for a in approvals
    )


def document(title: str, body: str, csp: str, style: str) -> str:
    """An HTML document: `body` is trusted HTML, `title` is escaped; the policy `csp`
    decides what the page may load (the hub's pages and the report allow nothing external)."""
    return f"""<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<title>{_e(title)}</title>
<style>{style}</style>
</head>
<body>
{body}
</body>
</html>
"""


def layout(title: str, body: str, user: str | None = None) -> str:
    """A complete page around `body` (trusted HTML built here); `title` and `user` are escaped."""
    who = (
        f'<span class="user">signed in as <strong>{_e(user)}</strong></span>'
        if user
        else '<a class="user" href="/login">sign in</a>'
    )
    return document(
        f"{title} · Tessera hub",
        f"""<nav>
<span class="brand">Tessera hub</span>
<a href="/studies">Studies</a>
<a href="/approvals">Approvals</a>
<a href="/audit">Audit</a>
<a href="/statistics">Statistics</a>
{who}
</nav>
<main>
<h1>{_e(title)}</h1>
{body}
</main>
""",
        CSP,
        STYLE,
    )


def login_page(message: str | None = None) -> str:
    """Sign-in by a one-time code from the CLI or SDK: the hub holds public keys, no passwords."""
    shown = f'<p class="message" id="message">{_e(message)}</p>' if message else ""
    body = f"""{shown}
<p>You sign in from the command line or the SDK, with your own identity: run
<code>tessera login --as &lt;identity dir&gt;</code> and open the one-time link it prints,
or paste its code below.
The hub never stores passwords; a link works once and only for a short time.</p>
<form action="/login" method="get">
<label for="code">One-time code</label>
<input type="text" id="code" name="code" autocomplete="off" required>
<button type="submit" id="sign-in">Sign in</button>
</form>
"""
    return layout("Sign in", body)


def _study_row(study: dict) -> str:
    return (
        f'<tr id="study-{_e(study["id"])}">'
        f"<td>{_e(study['id'])}</td>"
        f"<td>{_e(study.get('title'))}</td>"
        f"<td>{_purpose(study)}</td>"
        f"<td>{_e(study.get('proposer'))}</td>"
        f"<td>{_stations(study.get('stations', {}))}</td>"
        f"<td>{_list(study.get('analyses', []))}</td>"
        f"<td>{_list(study.get('recipients', []))}</td>"
        f"<td>{_e(study.get('expires'))}</td>"
        f"<td>{_status(study.get('status'))}</td>"
        f"<td>{_approvals(study.get('approvals', []))}</td>"
        "</tr>"
    )


_STUDY_HEAD = (
    "<tr><th>Study</th><th>Title</th><th>Purpose</th><th>Proposer</th>"
    "<th>Stations and datasets</th><th>Analyses</th><th>Recipients</th><th>Expires</th>"
    "<th>Status</th><th>Decisions</th></tr>"
)


def _studies_table(studies: list[dict], empty: str) -> str:
    if not studies:
        return f'<p class="empty">{_e(empty)}</p>'
    rows = "\n".join(_study_row(s) for s in studies)
    return (
        f'<div class="scroll"><table class="studies">\n<thead>{_STUDY_HEAD}</thead>\n'
        f"<tbody>\n{rows}\n</tbody>\n</table></div>"
    )


def studies_page(studies: list[dict], tasks: list[dict], user: str) -> str:
    """Studies and their tasks' progress; results are sealed to recipients, so never shown."""
    task_rows = "\n".join(
        f'<tr id="task-{_e(t["id"])}"><td>{_e(t["id"])}</td><td>{_e(t.get("study"))}</td>'
        f"<td>{_status(t.get('status'))}</td><td>{_e(t.get('reason'))}</td>"
        f"<td>{_e(t.get('created'))}</td></tr>"
        for t in tasks
    )
    tasks_html = (
        '<table class="tasks">\n<thead><tr><th>Task</th><th>Study</th><th>Status</th>'
        f"<th>Reason</th><th>Created</th></tr></thead>\n<tbody>\n{task_rows}\n</tbody>\n</table>"
        if tasks
        else '<p class="empty">No tasks yet.</p>'
    )
    body = f"""<h2>Studies</h2>
{_studies_table(studies, "No studies yet.")}
<h2>Tasks</h2>
<p class="note">Results are end-to-end encrypted to their recipients, so the hub cannot show
them: a researcher opens them with the SDK (<code>Client.result(task)</code>), which can also
write a report with plots.</p>
{tasks_html}
"""
    return layout("Studies", body, user)


def _decide(study: dict) -> str:
    study_id = shlex.quote(str(study["id"]))
    approve = f"tessera study approve {study_id} --as <identity dir>"
    refuse = f'tessera study refuse {study_id} --reason "..." --as <identity dir>'
    return (
        "<p>Decide with your own identity (the hub cannot decide for you):</p>"
        f"<pre>{_e(approve)}\n{_e(refuse)}</pre>"
    )


def _public(study: dict) -> str:
    """A public study's row: approving it approves publishing its releases to anyone."""
    if not study.get("public"):
        return ""
    return (
        '<tr class="public"><th>Public</th><td>yes: approving lets its recipients publish '
        "complete releases on the hub's public statistics page, for anyone to read</td></tr>\n"
    )


def _pending(study: dict) -> str:
    return f"""<section class="card" id="pending-{_e(study["id"])}">
<h3>{_e(study["id"])}: {_e(study.get("title"))}</h3>
<table>
<tr><th>Purpose</th><td>{_purpose(study)}</td></tr>
<tr><th>Proposer</th><td>{_e(study.get("proposer"))}</td></tr>
<tr><th>Stations and datasets</th><td>{_stations(study.get("stations", {}))}</td></tr>
<tr><th>Analyses</th><td>{_list(study.get("analyses", []))}</td></tr>
<tr><th>Recipients</th><td>{_list(study.get("recipients", []))}</td></tr>
<tr><th>Expires</th><td>{_e(study.get("expires"))}</td></tr>
{_public(study)}<tr><th>Decisions so far</th><td>{_approvals(study.get("approvals", []))}</td></tr>
</table>
{_decide(study)}
</section>"""


def approvals_page(pending: list[dict], decided: list[dict], user: str) -> str:
    """A data steward's queue: what each study asks of their data, and how to sign a decision."""
    waiting = (
        "\n".join(_pending(s) for s in pending)
        if pending
        else '<p class="empty" id="no-pending">No studies await your decision.</p>'
    )
    body = f"""<h2>Awaiting your decision</h2>
{waiting}
<h2>Decided</h2>
{_studies_table(decided, "You have decided no studies yet.")}
"""
    return layout("Approvals", body, user)


def audit_page(entries: list[dict], verdict: str, ok: bool, user: str) -> str:
    """The ledger as the hub holds it, with the hub's own check; auditors should not trust it."""
    rows = "\n".join(
        f'<tr id="entry-{_e(e["index"])}"><td>{_e(e["index"])}</td><td>{_e(e.get("time"))}</td>'
        f"<td>{_e(e.get('author'))}</td><td>{_e(e.get('kind'))}</td>"
        f"<td>{_e(e.get('summary'))}</td></tr>"
        for e in entries
    )
    table = (
        '<table class="ledger">\n<thead><tr><th>#</th><th>Time</th><th>Author</th><th>Kind</th>'
        f"<th>Summary</th></tr></thead>\n<tbody>\n{rows}\n</tbody>\n</table>"
        if entries
        else '<p class="empty">The ledger is empty.</p>'
    )
    body = f"""<p id="verdict" class="{"ok" if ok else "bad"}">{_e(verdict)}</p>
<p class="note">This page is the hub's own view. Auditors should verify their own copy of the
ledger against another: <code>tessera audit verify --ledger PATH --against OTHER</code>.</p>
{table}
"""
    return layout("Audit ledger", body, user)
