"""The compact Slack summary of a report, and posting it to an incoming webhook.

The webhook URL is a secret: it is read from a file, sent only as the request's address, and never
appears in a message, a log line or an exception (``requests`` errors hold the URL, so only their kind
is reported).
"""

from __future__ import annotations

from typing import Any

from slokit.report import text
from slokit.report.model import Report, shown
from slokit.transport import (
    Failure,
    FileProblem,
    RetryPolicy,
    Session,
    Timeouts,
    attempts_text,
    read_small_file,
    request_with_retries,
)

_ICON = {"met": ":white_check_mark:", "at risk": ":warning:", "breached": ":red_circle:", "no data": ":grey_question:"}


class SlackError(RuntimeError):
    """The webhook file is unusable or the post failed; the message never holds the URL."""


def _escaped(value: str) -> str:
    """Slack's own escaping of message text: ``<!channel>`` in a label value stays text, not a mention."""
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def summary(report: Report) -> dict[str, Any]:
    """The message: one header line and one line per SLO (verdict, SLI over the period, budget left); a grouped
    SLO's worst groups, the others counted."""
    p = report.period
    lines = [f"*SLO report {p.title}*: {report.verdict} ({report.count('met')} met, {report.count('at risk')} at risk, "
             f"{report.count('breached')} breached, {report.count('no data')} no data)"]
    slos, hidden = shown(report.slos)
    for s in slos:
        name = _escaped(f"{s.service}/{text.slo_name(s)}")
        lines.append(f"{_ICON[s.verdict]} `{name}` {s.verdict}: SLI {text.pct(s.period_sli)} "
                     f"(objective {text.pct(s.objective)}), budget left {text.budget(s.budget_remaining_end)}, "
                     f"alerts {text.alert_count(s)}")
    lines += [_escaped(text.hidden(h)) for h in hidden]
    return {"text": "\n".join(lines)}


def read_webhook(path: str) -> str:
    """The webhook URL in ``path`` (a small regular file, see :func:`slokit.transport.read_small_file`)."""
    try:
        url = read_small_file(path, "Slack webhook file").strip()
    except FileProblem as err:
        raise SlackError(str(err)) from None
    if not url.startswith(("https://", "http://")) or any(c.isspace() for c in url):
        raise SlackError(f"the Slack webhook file {path} does not hold one http(s) URL")
    return url


def post(webhook_file: str, message: dict[str, Any], *, timeouts: Timeouts, retry: RetryPolicy,
         ca_file: str | None = None) -> None:
    """POST ``message``, each request bounded as a whole; connection errors, timeouts, 429 and 5xx are
    retried within a total deadline (the command's ``--timeout``, ``--retries`` and ``--backoff``).
    ``ca_file`` verifies a webhook behind a private CA (a Slack-compatible chat server)."""
    url = read_webhook(webhook_file)
    with Session(verify=ca_file or True) as session:
        result = request_with_retries(session, "POST", url, timeouts=timeouts, retry=retry, json=message)
    if isinstance(result, Failure):
        raise SlackError(f"posting to the Slack webhook of {webhook_file} failed: {result.why}"
                         + (f" ({attempts_text(retry)})" if result.retryable else ""))
