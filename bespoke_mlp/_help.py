"""The option groups every subcommand's ``--help`` shows, in the README's order."""

from __future__ import annotations

import argparse

__all__ = ["GROUPS", "option_groups"]

#: Group titles, in the order ``--help`` and the README list them.
GROUPS = ("data", "training", "search and selection", "hardware", "execution", "output")


def option_groups(p: argparse.ArgumentParser, *titles: str) -> list[argparse._ArgumentGroup]:
    """New argument groups of ``p`` with these titles (each one of :data:`GROUPS`), in order."""
    unknown = [t for t in titles if t not in GROUPS]
    if unknown:
        raise ValueError(f"unknown option group {unknown[0]!r}; expected one of {GROUPS!r}")
    return [p.add_argument_group(title) for title in titles]
