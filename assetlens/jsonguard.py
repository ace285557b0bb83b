"""Cheap guards for untrusted JSON, applied before a recursive parser sees it."""

from __future__ import annotations

from assetlens.errors import InvalidInput


def check_json_depth(text: str | bytes, max_depth: int, what: str = "JSON body") -> None:
    """Raise InvalidInput when brackets nest deeper than `max_depth` (strings skipped).

    json.loads recurses per level, so a deep document would hit RecursionError (a 500)
    before any validation; this linear scan refuses it first.
    """
    data = text.encode() if isinstance(text, str) else text
    depth = 0
    in_string = escaped = False
    for byte in data:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
            continue
        if byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > max_depth:
                raise InvalidInput(f"{what} is nested deeper than {max_depth} levels")
        elif byte in (0x5D, 0x7D):
            depth -= 1
