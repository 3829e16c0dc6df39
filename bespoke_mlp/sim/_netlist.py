"""The nets declared in a Verilog module, bit by bit, for toggle counting.

A small tokenizer and declaration reader, enough for the structural Verilog that Yosys writes
(and ordinary RTL): non-ANSI and ANSI port lists, ``wire``/``reg``/``logic`` declarations with
one numeric packed range, escaped identifiers. Memories (unpacked arrays), declarations inside
functions, tasks and named blocks, and undeclared (implicit) nets are not listed.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import UsageError

__all__ = ["NetBit", "module_net_bits"]


@dataclass(frozen=True)
class NetBit:
    """One bit of a declared net.

    ``name`` is the net as written in the source without an escaped identifier's backslash
    and terminating space, plus ``[i]`` for a bit of a vector (``_042_``, ``x[3]``,
    ``u1.sum[0]`` for ``\\u1.sum [0]``); ``ref`` is the Verilog text selecting it inside the
    module, for a hierarchical reference.
    """

    name: str
    ref: str


_TOKEN = re.compile(
    r"""
      (?P<ws>\s+)
    | (?P<comment>//[^\n]*|/\*.*?\*/)
    | (?P<string>"(?:\\.|[^"\\\n])*")
    | (?P<escaped>\\\S+)
    | (?P<ident>[A-Za-z_][A-Za-z0-9_$]*)
    | (?P<number>\d[\d_]*(?:\s*'[sS]?[bBoOdDhH]\s*[0-9a-fA-FxXzZ?_]+)?
                 |'[sS]?[bBoOdDhH]\s*[0-9a-fA-FxXzZ?_]+)
    | (?P<directive>[$`][A-Za-z0-9_$]*)
    | (?P<op>.)
    """,
    re.VERBOSE | re.DOTALL,
)

_DIRECTIONS = {"input", "output", "inout"}
_NET_WORDS = _DIRECTIONS | {
    "wire", "reg", "logic", "bit", "tri", "tri0", "tri1", "wand", "wor", "uwire",
    "supply0", "supply1", "signed", "unsigned", "var",
}
# Keywords after which a new statement begins even without a semicolon.
_STATEMENT_BREAKS = {"begin", "end", "endcase", "generate", "endgenerate", "else"}
_SKIP_BLOCKS = {"function": "endfunction", "task": "endtask"}
_OPEN = {"(": ")", "[": "]", "{": "}"}


def _tokens(text: str) -> list[str]:
    return [
        m.group()
        for m in _TOKEN.finditer(text)
        if m.lastgroup not in ("ws", "comment")
    ]


def _plain(token: str) -> str:
    """An identifier's name: an escaped identifier without its backslash."""
    return token[1:] if token.startswith("\\") else token


def _is_identifier(token: str) -> bool:
    return token.startswith("\\") or bool(re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]*", token))


def _split_top_level(tokens: Sequence[str], sep: str) -> list[list[str]]:
    """Split ``tokens`` at ``sep`` tokens outside brackets."""
    parts: list[list[str]] = [[]]
    depth = 0
    for tok in tokens:
        if tok in _OPEN:
            depth += 1
        elif tok in _OPEN.values():
            depth -= 1
        if tok == sep and depth == 0:
            parts.append([])
        else:
            parts[-1].append(tok)
    return [part for part in parts if part]


def _skip_attributes(tokens: list[str]) -> list[str]:
    """Drop leading ``(* ... *)`` attribute instances."""
    while len(tokens) >= 2 and tokens[0] == "(" and tokens[1] == "*":
        for i in range(2, len(tokens) - 1):
            if tokens[i] == "*" and tokens[i + 1] == ")":
                tokens = tokens[i + 2:]
                break
        else:
            return []
    return tokens


def _matching(tokens: Sequence[str], start: int) -> int:
    """Index of the bracket closing the one at ``start``."""
    depth = 0
    for i in range(start, len(tokens)):
        if tokens[i] in _OPEN:
            depth += 1
        elif tokens[i] in _OPEN.values():
            depth -= 1
            if depth == 0:
                return i
    return len(tokens) - 1


def _parse_range(tokens: list[str], top: str) -> tuple[tuple[int, int] | None, list[str]]:
    """Read an optional ``[hi:lo]`` from the front of ``tokens``."""
    if not tokens or tokens[0] != "[":
        return None, tokens
    end = _matching(tokens, 0)
    text = " ".join(tokens[1:end]).replace("- ", "-")
    m = re.fullmatch(r"(-?\d+) : (-?\d+)", text)
    rest = tokens[end + 1:]
    if m is None or (rest and rest[0] == "["):
        raise UsageError(
            f"cannot count toggles in module {top!r}: range [{text}] is not a single numeric "
            f"packed range"
        )
    return (int(m.group(1)), int(m.group(2))), rest


def _declaration(
    tokens: list[str], top: str
) -> tuple[tuple[int, int] | None, list[str]] | None:
    """``(range, names)`` of a net declaration statement, or None if it declares no net."""
    i = 0
    while i < len(tokens) and tokens[i] in _NET_WORDS:
        i += 1
    if i == 0:
        return None
    rng, rest = _parse_range(tokens[i:], top)
    names = []
    for item in _split_top_level(rest, ","):
        # An unpacked dimension makes a memory, which is not a net.
        if _is_identifier(item[0]) and (len(item) == 1 or item[1] != "["):
            names.append(item[0])
    return rng, names


def _find_module(tokens: list[str], top: str) -> int | None:
    for i, tok in enumerate(tokens[:-1]):
        if tok in ("module", "macromodule") and _plain(tokens[i + 1]) == top:
            return i + 2
    return None


def _module_declarations(
    tokens: list[str], start: int, top: str
) -> list[tuple[tuple[int, int] | None, list[str]]]:
    decls = []
    i = start
    if i < len(tokens) and tokens[i] == "#":
        i = _matching(tokens, i + 1) + 1
    if i < len(tokens) and tokens[i] == "(":
        end = _matching(tokens, i)
        header: tuple[tuple[int, int] | None, list[str]] | None = None
        for item in _split_top_level(tokens[i + 1:end], ","):
            item = _skip_attributes(item)
            if item and item[0] in _DIRECTIONS:
                rng, names = _declaration(item, top) or (None, [])
                header = (rng, [])
                decls.append((rng, names))
            elif header is not None and item and _is_identifier(item[0]):
                # ANSI style: a bare name continues the previous port's declaration.
                decls.append((header[0], [item[0]]))
        i = end + 1
    statement: list[str] = []
    while i < len(tokens) and tokens[i] != "endmodule":
        tok = tokens[i]
        if tok in _SKIP_BLOCKS:
            closing = _SKIP_BLOCKS[tok]
            while i < len(tokens) and tokens[i] != closing:
                i += 1
            statement = []
        elif tok == ";" or tok in _STATEMENT_BREAKS:
            decl = _declaration(_skip_attributes(statement), top) if statement else None
            if decl is not None:
                decls.append(decl)
            statement = []
        else:
            statement.append(tok)
        i += 1
    return decls


def module_net_bits(sources: Sequence[Path], top: str, instance: str) -> list[NetBit]:
    """Every bit of every net declared in module ``top``, in declaration order.

    ``instance`` is the hierarchical path of an instance of ``top`` (e.g. ``dut0``) that
    prefixes each :attr:`NetBit.ref`. A vector's bits are listed from its lowest index up; a
    net declared twice (a port and its ``wire``) is listed once, with the range of whichever
    declaration has one.

    Raises
    ------
    UsageError
        If no source defines ``top`` or a declaration's range is not plain numbers.
    """
    for source in sources:
        tokens = _tokens(Path(source).read_text(errors="replace"))
        start = _find_module(tokens, top)
        if start is not None:
            break
    else:
        raise UsageError(
            f"cannot count toggles: no source defines module {top!r} "
            f"(sources: {[str(s) for s in sources]!r})"
        )
    ranges: dict[str, tuple[int, int] | None] = {}
    raw: dict[str, str] = {}
    for rng, names in _module_declarations(tokens, start, top):
        for token in names:
            name = _plain(token)
            if name not in ranges or ranges[name] is None:
                ranges[name] = rng
            raw.setdefault(name, token)
    bits = []
    for name, rng in ranges.items():
        token = raw[name]
        # An escaped identifier ends at white space, so the reference needs one after it.
        ref = f"{instance}.{token} " if token.startswith("\\") else f"{instance}.{token}"
        if rng is None:
            bits.append(NetBit(name, ref))
        else:
            lo, hi = min(rng), max(rng)
            bits.extend(NetBit(f"{name}[{k}]", f"{ref}[{k}]") for k in range(lo, hi + 1))
    return bits
