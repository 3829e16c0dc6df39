"""``bespoke-mlp datasets`` (the registry) and ``bespoke-mlp datasets fetch``."""

from __future__ import annotations

import argparse
from pathlib import Path

from .._help import option_groups
from ..errors import DataError
from ._fetch import DEFAULT_SOURCE, REGISTRY, cache_dir, fetch_dataset
from ._registry import DATA_ENV_VAR, _resolve_data_dir

__all__ = ["register"]


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``datasets`` subcommand."""
    p = subparsers.add_parser(
        "datasets", help="list the known datasets, or fetch the printed-ML suite",
        description="List the known datasets (name, samples, features, classes, source, "
                    "license, and whether the data directory that 'run' reads holds it: "
                    f"--data-dir, else {DATA_ENV_VAR}, else the cache), or download suite "
                    "datasets from the UCI repository into the cache (or --to DIR).")
    (d,) = option_groups(p, "data")
    d.add_argument("--data-dir", metavar="DIR", type=Path, default=None,
                   help="directory holding the printed-ML suite CSVs; default: the "
                        f"{DATA_ENV_VAR} environment variable, else the cache")
    p.set_defaults(func=_list)
    sub = p.add_subparsers(dest="datasets_command", metavar="COMMAND")
    f = sub.add_parser(
        "fetch", help="download and check a suite dataset",
        description="Download a printed-ML suite dataset from the UCI repository, convert it "
                    "to the suite's CSV and check its SHA-256. Without --to it goes to "
                    f"the cache ({cache_dir()}), which is read when no --data-dir is given.")
    fetchable = [d.name for d in REGISTRY.values() if d.archive is not None]
    f.add_argument("name", metavar="NAME", choices=[*fetchable, "all"],
                   help=f"{', '.join(fetchable)}, or all")
    f.add_argument("--to", type=Path, default=None, metavar="DIR",
                   help="directory to write NAME.csv to (default: the cache)")
    f.add_argument("--source", default=DEFAULT_SOURCE, metavar="URL",
                   help=f"base URL of the UCI archives (default: {DEFAULT_SOURCE})")
    f.set_defaults(func=_fetch)


def _list(args: argparse.Namespace) -> int:
    # The same directory `run` reads the suite from (raises if it does not exist).
    directory, origin = _resolve_data_dir("", args.data_dir)
    in_cache = origin == "the dataset cache"
    found, missing = ("cached", "not fetched") if in_cache else ("found", "missing")
    rows = [("name", "samples", "features", "classes", "source", "license", "status")]
    for d in REGISTRY.values():
        status = ("built in" if d.archive is None else
                  found if (directory / f"{d.name}.csv").is_file() else missing)
        rows.append((d.name, str(d.samples), str(d.features), str(d.classes), d.source,
                     d.license, status))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip())
    if not in_cache:
        print(f"data directory: {directory} (from {origin})")
    print(f"cache: {cache_dir()}")
    return 0


def _fetch(args: argparse.Namespace) -> int:
    names = [d.name for d in REGISTRY.values() if d.archive is not None] \
        if args.name == "all" else [args.name]
    failed = []
    for name in names:
        try:
            path = fetch_dataset(name, to=args.to, source=args.source)
        except DataError as exc:
            if len(names) == 1:
                raise
            failed.append(f"{name}: {exc}")
            continue
        print(f"{name}: {path}")
    if failed:
        raise DataError(f"{len(failed)} of {len(names)} datasets not fetched: "
                        + "; ".join(failed))
    return 0
