"""The compact Slack summary of a report, and posting it to an incoming webhook.

The webhook URL is a secret: it is read from a file, sent only as the request's address, and never
appears in a message, a log line or an exception (``requests`` errors hold the URL, so only their kind
is reported).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import requests

from slokit.report import text
from slokit.report.model import Report, shown

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
    try:
        url = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as err:
        reason = err.strerror if isinstance(err, OSError) else "not UTF-8 text"
        raise SlackError(f"cannot read the Slack webhook file {path}: {reason}") from None
    if not url.startswith(("https://", "http://")) or any(c.isspace() for c in url):
        raise SlackError(f"the Slack webhook file {path} does not hold one http(s) URL")
    return url


def post(webhook_file: str, message: dict[str, Any], *, timeout: float = 10.0, attempts: int = 3,
         backoff: float = 0.5) -> None:
    """POST ``message``; connection errors, timeouts, 429 and 5xx are retried."""
    url = read_webhook(webhook_file)
    why = ""
    for attempt in range(attempts):
        if attempt:
            time.sleep(backoff * 2 ** (attempt - 1))
        try:
            resp = requests.post(url, json=message, timeout=(min(5.0, timeout), timeout))
        except requests.Timeout:
            why = f"no answer within {timeout:g}s"
            continue
        except requests.RequestException as exc:
            why = f"connection failed ({type(exc).__name__})"
            continue
        if resp.status_code < 300:
            return
        why = f"HTTP {resp.status_code}"
        if resp.status_code != 429 and resp.status_code < 500:
            break
    raise SlackError(f"posting to the Slack webhook of {webhook_file} failed: {why}")
