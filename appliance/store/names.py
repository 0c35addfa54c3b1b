"""Names people give (users, tokens, speakers, webhooks) as shown to others: no control
characters and no invisible formatting ones (bidi overrides like U+202E, zero-width spaces)
that would make one name look like another or turn the text around it."""

from __future__ import annotations

import unicodedata

_HIDDEN = ("Cc", "Cf")  # controls; format characters (bidi controls, zero-width)


def visible(name: str) -> str:
    """`name` without hidden characters, runs of white space as one space."""
    return " ".join("".join(c for c in name if unicodedata.category(c) not in _HIDDEN or c.isspace()).split())


def has_hidden(name: str) -> bool:
    return any(unicodedata.category(c) in _HIDDEN for c in name.strip())
