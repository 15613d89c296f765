"""The small YAML subset of gxopt's ``scenario.yaml``, read without PyYAML (:func:`parse_yaml`)."""

from __future__ import annotations

import json
import re
from typing import Any


def _strip_comment(line: str) -> str:
    """The line without a ``#`` comment (outside quotes; a ``#`` only starts one after a blank)."""
    quote = None
    i = 0
    while i < len(line):
        ch = line[i]
        if quote:
            if (ch == "\\" and quote == '"') or (ch == "'" == quote and line[i + 1:i + 2] == "'"):
                i += 2  # an escaped character, or '' inside single quotes
                continue
            if ch == quote:
                quote = None
        elif ch in "\"'" and (i == 0 or line[i - 1] in " \t:{[,"):
            quote = ch
        elif ch == "#" and (i == 0 or line[i - 1] in " \t"):
            return line[:i]
        i += 1
    return line


def _split_outside(text: str, sep: str) -> list[str]:
    """``text`` split at ``sep`` outside quotes and braces."""
    parts, depth, quote, cur = [], 0, None, ""
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            if ((ch == "\\" and quote == '"') or (ch == "'" == quote and text[i + 1:i + 2] == "'")) \
                    and i + 1 < len(text):
                cur += text[i:i + 2]
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in "\"'" and (not cur.strip() or cur[-1:] in " {[,:"):
            quote = ch
        elif ch in "{[":
            depth += 1
        elif ch in "}]":
            depth -= 1
        elif depth == 0 and text.startswith(sep, i):
            parts.append(cur)
            cur = ""
            i += len(sep)
            continue
        cur += ch
        i += 1
    parts.append(cur)
    return parts


def _key_value(body: str) -> tuple[str, str] | None:
    """``key: value`` of a mapping line, None when the line is no mapping entry."""
    if body.startswith(("- ", "-\t")) or body == "-":
        return None
    parts = _split_outside(body + " ", ": ")
    if len(parts) < 2:
        return None
    key = parts[0].strip()
    if not key or key[0] in "{[":
        return None
    return _scalar(key) if key[0] in "\"'" else key, ": ".join(parts[1:]).strip()


def _scalar(text: str) -> Any:
    """A YAML scalar (PyYAML's YAML 1.1 reading of plain scalars; dates stay text)."""
    t = text.strip()
    if t in ("", "~", "null", "Null", "NULL"):
        return None
    if len(t) >= 2 and t[0] == '"' and t[-1] == '"':
        try:
            return json.loads(t)
        except ValueError:
            return t[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    if len(t) >= 2 and t[0] == "'" and t[-1] == "'":
        return t[1:-1].replace("''", "'")
    low = t.lower()
    if low in ("true", "yes", "on"):
        return True
    if low in ("false", "no", "off"):
        return False
    if re.fullmatch(r"[-+]?\d+", t):
        return int(t)
    if re.fullmatch(r"[-+]?(\d+\.\d*|\.\d+)([eE][-+]?\d+)?", t):
        return float(t)
    return t


def _value(text: str) -> Any:
    t = text.strip()
    if t.startswith("{") and t.endswith("}"):
        out = {}
        for item in _split_outside(t[1:-1], ","):
            if not item.strip():
                continue
            kv = _key_value(item.strip())
            if kv is None:
                raise ValueError(f"flow mapping entry without 'key: value': {item.strip()!r}")
            out[kv[0]] = _value(kv[1])
        return out
    if t.startswith("[") and t.endswith("]"):
        return [_value(x) for x in _split_outside(t[1:-1], ",") if x.strip()]
    return _scalar(t)


def _open(text: str) -> bool:
    """True while a value still waits for its closing quote or brace."""
    t = text.strip()
    if t[:1] in "\"'":
        q = t[0]
        rest = t[1:]
        if q == '"':
            rest = re.sub(r"\\.", "", rest)
        else:
            rest = rest.replace("''", "")
        return q not in rest
    return t.count("{") > t.count("}") or t.count("[") > t.count("]")


def parse_yaml(text: str) -> dict[str, Any]:
    """The small YAML subset of gxopt's ``scenario.yaml``: block mappings by indentation, one-level flow mappings
    ``{start: 2026-04-01, end: 2027-03-31}``, plain and quoted scalars, comments, plain scalars folded over
    more-indented lines. Raises ValueError (with the line) on anything else."""
    root: dict[str, Any] = {}
    stack: list[tuple[int, dict[str, Any]]] = [(-1, root)]
    last: tuple[dict[str, Any], str, int] | None = None
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        raw = lines[i]
        i += 1
        if raw.strip() in ("---", "..."):
            continue
        line = _strip_comment(raw).rstrip()
        if not line.strip():
            continue
        if "\t" in line[:len(line) - len(line.lstrip())]:
            raise ValueError(f"line {i}: tab in the indentation")
        indent = len(line) - len(line.lstrip(" "))
        body = line.strip()
        if last is not None and indent > last[2] and isinstance(last[0][last[1]], str):
            last[0][last[1]] = last[0][last[1]] + " " + body  # a folded plain scalar
            continue
        kv = _key_value(body)
        if kv is None:
            raise ValueError(f"line {i}: not a 'key: value' line (lists and blocks are not part of scenario.yaml)")
        key, value = kv
        while indent <= stack[-1][0]:
            stack.pop()
        parent = stack[-1][1]
        if value == "":
            child: dict[str, Any] = {}
            parent[key] = child
            stack.append((indent, child))
            last = None
            continue
        while _open(value) and i < len(lines):
            value += " " + lines[i].strip()
            i += 1
        if value[:1] in "|>":
            raise ValueError(f"line {i}: block scalars are not part of scenario.yaml")
        parent[key] = _value(value)
        last = (parent, key, indent)

    def empty_to_none(d: dict[str, Any]) -> dict[str, Any]:
        return {k: (None if v == {} else empty_to_none(v) if isinstance(v, dict) else v) for k, v in d.items()}

    return empty_to_none(root)
