"""The HTTP Range header of an audio request, parsed strictly (RFC 9110, section 14).

Only one byte range is served: a request for several, a unit other than bytes, a malformed or
unsatisfiable range is refused with 416, never quietly answered with the whole file.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# first-pos "-" [last-pos] | "-" suffix-length; ASCII digits only, at most 18 of them (a
# longer number is no file's size, and int() of a huge string is slow).
_SPEC = re.compile(r"([0-9]{1,18})?-([0-9]{1,18})?")
_OWS = " \t"


class Unsatisfiable(ValueError):
    """The Range header cannot be served: answer 416."""


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive, as in Content-Range

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def byte_range(header: str | None, size: int) -> ByteRange | None:
    """The one range the header asks for, within a file of `size` bytes; None: no header
    (the whole file, 200). Unsatisfiable for anything that cannot be served as asked."""
    if header is None:
        return None
    unit, equals, ranges = header.partition("=")
    if not equals or unit.strip(_OWS).lower() != "bytes":
        raise Unsatisfiable(f"not a byte range: {header[:40]!r}")
    # A list (1#range-spec): whitespace around elements and empty elements are allowed.
    specs = [spec.strip(_OWS) for spec in ranges.split(",") if spec.strip(_OWS)]
    if len(specs) != 1:
        raise Unsatisfiable("exactly one byte range is served")
    match = _SPEC.fullmatch(specs[0])
    if not match or match.groups() == (None, None):
        raise Unsatisfiable(f"malformed byte range: {specs[0][:40]!r}")
    first, last = (None if g is None else int(g) for g in match.groups())
    if first is None:  # the last `last` bytes
        if last == 0 or size == 0:
            raise Unsatisfiable("an empty suffix")
        return ByteRange(max(0, size - last), size - 1)
    if first >= size or (last is not None and last < first):
        raise Unsatisfiable("the range is outside the file")
    return ByteRange(first, size - 1 if last is None else min(last, size - 1))
