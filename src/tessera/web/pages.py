"""The hub's pages as complete HTML documents, rendered on the server from Jinja2 templates.

Proposers, stewards and datasets name things, and a name must never become markup, so the
templates autoescape every value (`tessera.web.templating`). The pages need no JavaScript and
load nothing from elsewhere (one inline <style>), so the Content-Security-Policy forbids
both; the hub never sees results or passwords, so the pages show neither.
"""

from __future__ import annotations

from markupsafe import Markup

from tessera.web.templating import render

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


def hub_page(template: str, title: str, user: str | None, **context: object) -> str:
    """A hub template (one extending hub.html) with the hub's policy and style; `title`,
    `user` and every value in `context` are escaped unless given as Markup."""
    return render(template, title=title, user=user, csp=Markup(CSP), style=Markup(STYLE), **context)


def document(title: str, body: str, csp: str, style: str) -> str:
    """An HTML document: `body` is trusted HTML, `title` is escaped; the policy `csp`
    decides what the page may load (the hub's pages and the report allow nothing external)."""
    return render("base.html", title=title, body=Markup(body), csp=Markup(csp), style=Markup(style))


def layout(title: str, body: str, user: str | None = None) -> str:
    """A complete page around `body` (trusted HTML built here); `title` and `user` are escaped."""
    return hub_page("hub.html", title, user, content=Markup(body))


def login_page(message: str | None = None) -> str:
    """Sign-in by a one-time code from the CLI or SDK: the hub holds public keys, no passwords."""
    return hub_page("login.html", "Sign in", None, message=message)


def studies_page(studies: list[dict], tasks: list[dict], user: str) -> str:
    """Studies and their tasks' progress; results are sealed to recipients, so never shown."""
    return hub_page("studies.html", "Studies", user, studies=studies, tasks=tasks)


def approvals_page(pending: list[dict], decided: list[dict], user: str) -> str:
    """A data steward's queue: what each study asks of their data, and how to sign a decision."""
    return hub_page("approvals.html", "Approvals", user, pending=pending, decided=decided)


def audit_page(entries: list[dict], verdict: str, ok: bool, user: str) -> str:
    """The ledger as the hub holds it, with the hub's own check; auditors should not trust it."""
    return hub_page("audit.html", "Audit ledger", user, entries=entries, verdict=verdict, ok=ok)
