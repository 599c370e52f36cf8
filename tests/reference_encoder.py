"""An independent, slow implementation of docs/format.md §2, for testing the fast path.

It shares no code with brainvcs.snapshot.canonical: floats are formatted from the
shortest correctly-rounded '%e' digits that round-trip, strings are escaped
character by character, keys are sorted by their UTF-8 bytes.
"""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def ref_float(x: float) -> str:
    """Python-repr layout from first principles."""
    assert math.isfinite(x)
    if x == 0.0:
        return "-0.0" if math.copysign(1.0, x) < 0 else "0.0"
    sign = "-" if x < 0 else ""
    x = abs(x)
    digits, exponent = _shortest_digits(x)
    if -4 <= exponent < 16:
        if exponent >= 0:
            whole = digits[: exponent + 1].ljust(exponent + 1, "0")
            frac = digits[exponent + 1:] or "0"
            return f"{sign}{whole}.{frac}"
        return f"{sign}0.{'0' * (-exponent - 1)}{digits}"
    body = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{sign}{body}e{'+' if exponent >= 0 else '-'}{abs(exponent):02d}"


def _shortest_digits(x: float) -> tuple[str, int]:
    """Fewest significant digits that read back as ``x``; among those, the closest to ``x``.

    At each precision the correctly rounded string and its two neighbours in
    the last digit are candidates: when ``x`` lies exactly between two
    decimals, the rounded one may miss ``x``'s rounding interval while its
    neighbour hits it (e.g. 2**-24).
    """
    exact = Fraction(x)
    for precision in range(0, 17):
        mantissa, exponent_text = f"{x:.{precision}e}".split("e")
        exponent = int(exponent_text)
        base = int(mantissa.replace(".", ""))
        found = []
        for candidate in (base - 1, base, base + 1):
            if candidate <= 0:
                continue
            value = Fraction(candidate) * Fraction(10) ** (exponent - precision)
            try:
                reads_back = float(value) == x
            except OverflowError:  # the neighbour of the largest float
                reads_back = False
            if reads_back:
                found.append((abs(value - exact), candidate % 2, candidate))
        if found:
            _, _, best = min(found)
            text = str(best)
            # A carry (9.99 -> 10.0) adds a digit: keep the exponent honest.
            exponent += len(text) - (precision + 1)
            return text.rstrip("0") or "0", exponent
    raise AssertionError(f"no round-trip digits for {x!r}")


def ref_string(text: str) -> str:
    """JSON string with only the mandatory escapes; everything else raw."""
    out = ['"']
    for ch in text:
        if ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif ord(ch) < 0x20:
            out.append(f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def ref_encode_text(value: Any, level: int = 0) -> str:
    """The canonical text (without the final newline) of a JSON value."""
    pad = "  " * (level + 1)
    end = "  " * level
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        assert -(2**63) <= value <= 2**64 - 1
        return str(value)
    if isinstance(value, float):
        return ref_float(value)
    if isinstance(value, str):
        return ref_string(value)
    if isinstance(value, list):
        if not value:
            return "[]"
        return "[\n" + ",\n".join(pad + ref_encode_text(v, level + 1) for v in value) + "\n" + end + "]"
    if isinstance(value, dict):
        if not value:
            return "{}"
        keys = sorted(value, key=lambda k: k.encode("utf-8"))
        items = [pad + ref_string(k) + ": " + ref_encode_text(value[k], level + 1) for k in keys]
        return "{\n" + ",\n".join(items) + "\n" + end + "}"
    raise TypeError(type(value))


def ref_encode(value: Any) -> bytes:
    """The canonical bytes of a JSON value."""
    return (ref_encode_text(value) + "\n").encode("utf-8")
