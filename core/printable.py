"""Text as a terminal may show it: control, format and separator characters escaped.

Names and texts that reach a CLI table come from devices, YAML and service
desks. A raw escape sequence in one of them could forge a table row, erase a
line or change the terminal's title, so every printer passes its cells
through :func:`printable`: ``"a\\x1b]0;x\\x07"`` prints as ``a\\x1b]0;x\\x07``,
visible and inert. Printable text (any script, symbols, emoji) is unchanged.
"""

from __future__ import annotations

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(char: str) -> str:
    code = ord(char)
    if char in _NAMED:
        return _NAMED[char]
    if code < 0x100:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


def printable(value: object, *, lines: bool = False) -> str:
    """``str(value)`` ("" for None) with every character that is not printable escaped;
    with ``lines`` the newlines are kept (a note's text), each line escaped."""
    text = "" if value is None else str(value)
    if text.isprintable():
        return text
    if lines:
        return "\n".join(printable(line) for line in text.split("\n"))
    return "".join(c if c.isprintable() else _escape(c) for c in text)
