"""GJSON-like paths into JSON documents: ``ENERGY.Power``, ``sensors.0.value``.

A path is keys separated by ``.``; a key of digits indexes an array (and is
still a key for an object). ``\\.`` is a literal dot inside a key. The empty
path is the whole document. ``#`` as the last key is the length of an array.
"""

from __future__ import annotations

from typing import Any

Path = tuple[str, ...]

MISSING: Any = object()


class PathError(ValueError):
    pass


def parse_path(text: str) -> Path:
    """``a.b\\.c.0`` -> ``("a", "b.c", "0")``; raise PathError for an empty key."""
    if text == "":
        return ()
    keys, key, escaped = [], "", False
    for ch in text:
        if escaped:
            key, escaped = key + ch, False
        elif ch == "\\":
            escaped = True
        elif ch == ".":
            keys.append(key)
            key = ""
        else:
            key += ch
    keys.append(key + ("\\" if escaped else ""))
    if any(k == "" for k in keys):
        raise PathError(f"path {text!r} has an empty key (two dots, or a dot at an end)")
    if "#" in keys[:-1]:
        raise PathError(f"path {text!r}: '#' (array length) can only be the last key")
    return tuple(keys)


def path_text(path: Path) -> str:
    return ".".join(k.replace(".", "\\.") for k in path)


def lookup(doc: Any, path: Path) -> Any:
    """The value at ``path``, or MISSING when a key or index is not there."""
    node = doc
    for key in path:
        if type(node) is dict:
            node = node.get(key, MISSING)
        elif type(node) is list:
            if key == "#":
                return len(node)
            if not key.isdigit() or int(key) >= len(node):
                return MISSING
            node = node[int(key)]
        else:
            return MISSING
        if node is MISSING:
            return MISSING
    return node
