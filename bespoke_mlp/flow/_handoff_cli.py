"""The ``implement`` subcommand: any verified point of a search run into a design directory
(:func:`~bespoke_mlp.flow.implement_point`). Light at import, like the rest of the parser."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

from .._help import option_groups
from .._outdir import check_replaceable
from ..errors import UsageError
from ..synth import EFFORTS

__all__ = ["register"]


def _implement(args: argparse.Namespace) -> int:
    if args.clock_hz is not None and not (math.isfinite(args.clock_hz) and args.clock_hz > 0):
        raise UsageError(f"--clock-hz must be a positive number of Hz, got {args.clock_hz!r}")
    check_replaceable(args.out, force=args.force)
    from ._handoff import implement_point  # here: Amaranth and scikit-learn are slow to import
    from ._log import Log
    from ._report import summary_table

    report = implement_point(args.run_dir, args.point, args.out, data_dir=args.data_dir,
                             data=args.data, tech=args.tech, effort=args.effort,
                             clock_hz=args.clock_hz, force=args.force,
                             log=Log(enabled=not args.quiet))
    p = report["pareto_point"]
    print(summary_table(report, f"front point #{report['point']} of {args.run_dir}"))
    print(f"pareto.json recorded {p['area_cm2']:.4f} cm², {p['power_mw']:.4f} mW at the "
          "front's effort")
    print(f"wrote {args.out}")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``implement`` subcommand."""
    p = subparsers.add_parser(
        "implement", help="implement any verified design of a search run (a pareto.json point)",
        description=(
            "Implement a point of a search run's pareto.json into its own design directory: "
            "RTL, gate netlist, self-checking testbench, timing report, clock constraint, "
            "synthesis log and datasheet, simulated bit-exactly against the golden model on "
            "the run's test part and synthesized with the run's technology and settings."))
    p.add_argument("run_dir", type=Path, metavar="RUN_DIR",
                   help="output directory of 'bespoke-mlp run' (without --exact)")
    d, h, o = option_groups(p, "data", "hardware", "output")
    p.add_argument("--point", default="selected", metavar="N|selected|alternative",
                   help="pareto.json index, 'selected' (the run's choice, the default) or "
                        "'alternative' (the best design the run could not certify)")
    o.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="output directory; must be empty or absent")
    o.add_argument("--force", action="store_true",
                   help="replace a previous output of bespoke-mlp (only that)")
    h.add_argument("--effort", choices=EFFORTS, default=None,
                   help="synthesis effort (default: the run's, that of its selected design; "
                        "pareto.json's figures are at most normal effort)")
    h.add_argument("--clock-hz", type=float, default=None, metavar="HZ",
                   help="clock that power is given at (default: 5, or the fastest clock the "
                        "critical path allows if slower)")
    h.add_argument("--tech", default=None, metavar="PATH",
                   help="the Liberty file the run used, where it used no built-in library")
    d.add_argument("--data", default=None, metavar="DATASET",
                   help="the run's dataset, a name or CSV path (default: the name in its "
                        "report.json)")
    d.add_argument("--data-dir", type=Path, default=None, metavar="DIR",
                   help="directory of the printed-ML suite CSVs (default: $BESPOKE_MLP_DATA)")
    o.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=_implement)
