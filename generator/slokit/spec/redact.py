"""Telling a secret from an ordinary value, so that no message, file or report repeats one.

People paste keys and webhook URLs where a file path belongs, or even use one as a YAML key; every
message that quotes a spec value asks :func:`looks_secret` first.
"""

from __future__ import annotations

import re

#: A token or key: one long run of token characters mixing letters and at least four digits.
_SECRET_SHAPE = re.compile(r"[A-Za-z0-9+/=_.:-]{20,}")
#: Prefixes of well-known tokens (Slack, GitHub, GitLab, Grafana service accounts).
_TOKEN_PREFIX = re.compile(r"(?:xox[abposr]-|ghp_|gho_|github_pat_|glpat-|glsa_)")
_URL = re.compile(r"(?i)https?://([^/?#\s]*)(.*)")
#: Hosts whose URLs are credentials themselves (incoming webhooks).
_WEBHOOK_HOSTS = ("hooks.slack.com", "outlook.office.com", "discord.com", "discordapp.com")


def _token(text: str) -> bool:
    if _TOKEN_PREFIX.match(text):
        return True
    return bool(_SECRET_SHAPE.fullmatch(text)) and sum(c.isdigit() for c in text) >= 4 and any(
        c.isalpha() for c in text)


def looks_secret(text: str) -> bool:
    """Whether ``text`` looks like a credential: an API key or token, a webhook URL, a URL carrying a
    password or a token. No message may repeat such a value: keys are pasted where a file path or a URL
    belongs, or even used as a YAML key."""
    text = text.strip()
    url = _URL.fullmatch(text)
    if url is None:
        return _token(text)
    host, rest = url.group(1), url.group(2)
    if "@" in host or host.lower().split(":")[0].endswith(_WEBHOOK_HOSTS):
        return True
    return any(_token(part) for part in re.split(r"[/?&=#;]", rest))
