"""Subcommands ``bespoke-mlp synth`` and ``bespoke-mlp tech calibrate``."""

from __future__ import annotations

import argparse
import json
import math
import shutil
from pathlib import Path
from typing import Any

from .._util import atomic_output_dir, write_json
from ._calibrate import CalibrationRow, calibrate
from ._derive import derive_library
from ._liberty import DEFAULT_MAPPING, MAPPINGS
from ._power import DEFAULT_FREQ_HZ
from ._synthesize import DEFAULT_EFFORT, EFFORTS, SynthResult, synthesize
from ._tech import add_tech_arguments, technology
from ._timing import choose_clock

__all__ = ["add_effort_argument", "register"]


def add_effort_argument(p: argparse.ArgumentParser | argparse._ArgumentGroup,
                        default: str = DEFAULT_EFFORT) -> None:
    """Add ``--effort`` (synthesis effort, default ``default``)."""
    p.add_argument("--effort", choices=EFFORTS, default=default,
                   help=f"synthesis effort: fast (estimates), normal, or high (deterministic "
                        f"deep logic optimization, slower; default: {default})")


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``synth`` and ``tech`` subcommands."""
    synth = subparsers.add_parser(
        "synth",
        help="synthesize Verilog/RTLIL onto printed cells (area, power, delay)",
        description="Map a design with Yosys and ABC onto a cell library (--tech; default the "
        "EGFET 1.0 V cells) and report area, power (default activity) and critical path. "
        "Writes OUT/report.json, OUT/netlist.v, OUT/netlist.json and OUT/yosys.log (a failed "
        "run leaves only OUT.yosys.log).",
    )
    synth.add_argument("sources", nargs="+", type=Path, metavar="FILE",
                       help="Verilog (.v, .sv) or RTLIL (.il) sources")
    synth.add_argument("--top", required=True, help="top module (its ports are kept)")
    add_tech_arguments(synth)
    # Kept for scripts written before --tech: the same as --tech PATH.
    synth.add_argument("--liberty", type=Path, help=argparse.SUPPRESS)
    synth.add_argument("--out", type=Path,
                       help="output directory (default: synth_TOP in the current directory)")
    synth.add_argument("--timeout", type=float, default=600.0,
                       help="seconds allowed for Yosys and ABC (default: %(default)s)")
    add_effort_argument(synth)
    synth.add_argument("--mapping", choices=MAPPINGS, default=DEFAULT_MAPPING,
                       help="what ABC's mapper minimizes: area, or power (area plus each "
                            "cell's leakage weighted as area of the 2-input NAND that leaks as "
                            "much; reported area and power are the library's either way; "
                            "default: %(default)s, as run with its default --objective)")
    synth.add_argument("--force", action="store_true",
                       help="replace a previous output of bespoke-mlp in OUT")
    synth.set_defaults(func=_synth)

    tech = subparsers.add_parser("tech", help="technology library checks",
                                 description="Technology library checks.")
    tech_sub = tech.add_subparsers(dest="tech_command", metavar="COMMAND", required=True)
    cal = tech_sub.add_parser(
        "calibrate",
        help="compare the model with published designs",
        description="Compute area and power of published designs from their cell counts and "
        "compare them with the reported figures (e.g. egfet_calibration.json).",
    )
    cal.add_argument("calibration", type=Path, metavar="JSON", help="published designs")
    cal.add_argument("--liberty", type=Path, help="cell library (default: tech/egfet_1v0.lib)")
    cal.add_argument("--json", dest="as_json", action="store_true",
                     help="print JSON instead of a table")
    cal.set_defaults(func=_calibrate)
    der = tech_sub.add_parser(
        "derive",
        help="derive a compact library from a characterised Liberty file",
        description="Read a characterised Liberty file and write the figures the flow uses "
        "(area, mean and per-state static power, internal energy, one delay per cell, "
        "functions, flip-flops and latches) as a compact Liberty file (how the built-in "
        "libraries other than egfet_1v0.lib were made; see tech/README.md).",
    )
    der.add_argument("source", type=Path, metavar="LIB", help="characterised Liberty file")
    der.add_argument("--name", required=True, help="name of the derived library")
    der.add_argument("--out", type=Path, required=True, help="file to write")
    der.add_argument("--scale-delays", type=Path, nargs=2, metavar=("CALIBRATED", "REFERENCE"),
                     help="delay = CALIBRATED's delay x LIB's / REFERENCE's (per cell)")
    der.set_defaults(func=_derive)


def _summary(result: SynthResult, out: Path) -> str:
    cells = ", ".join(f"{name} {n}" for name, n in result.cells.items())
    fmax = f"{result.fmax_hz:.2f} Hz" if math.isfinite(result.fmax_hz) else "unbounded"
    lines = [
        f"{result.top}: {result.n_cells} cells ({cells})",
        f"  area   {result.area_cm2:.4f} cm2",
        f"  power  {result.power_mw:.4f} mW (static {result.static_power_mw:.4f}, dynamic "
        f"{result.dynamic_power_mw:.4f} at {result.freq_hz:g} Hz, {result.activity} activity)",
        f"  delay  {result.delay_ms:.2f} ms critical path (fmax {fmax})",
        f"  time   {result.seconds:.1f} s",
    ]
    if result.freq_hz < DEFAULT_FREQ_HZ:
        lines.append(f"  note: the critical path exceeds the {1e3 / DEFAULT_FREQ_HZ:g} ms period "
                     f"of the default clock; power at {result.freq_hz:g} Hz")
    lines.append(f"wrote {out / 'report.json'}, {out / 'netlist.v'}")
    return "\n".join(lines)


def _synth(args: argparse.Namespace) -> int:
    out = args.out if args.out is not None else Path(f"synth_{args.top}")
    # The log lives beside the atomic output directory until success, so that a failed run's
    # log (named in the error) survives: one per output directory, replaced by the next try.
    log = out.parent / f"{out.name}.yosys.log"
    with atomic_output_dir(out, force=args.force) as tmp:
        tech = technology(args.liberty if args.liberty is not None else args.tech)
        result = synthesize(args.sources, args.top, tmp, liberty=tech.liberty,
                            timeout=args.timeout, effort=args.effort, mapping=args.mapping,
                            log=log)
        clock = choose_clock(result.delay_ms, args.clock_hz)
        if clock != result.freq_hz:
            result = result.at_clock(clock)
        report = {**result.to_dict(), "technology": tech.to_dict(),
                  "netlist": "netlist.v", "netlist_json": "netlist.json"}
        write_json(tmp / "report.json", report)
        shutil.move(log, tmp / "yosys.log")
    print(_summary(result, out))
    return 0


def _derive(args: argparse.Namespace) -> int:
    lib = derive_library(args.source, args.out, name=args.name,
                         delays=None if args.scale_delays is None else tuple(args.scale_delays))
    print(f"wrote {args.out}: {len(lib.cells)} cells, {len(lib.registers)} registers, "
          f"{lib.voltage:g} V")
    return 0


def _max_errors(rows: list[CalibrationRow]) -> dict[str, float]:
    return {
        key: max(abs(getattr(r, key)) for r in rows)
        for key in ("area_error", "static_error", "dynamic_error", "power_error")
    }


def _table(rows: list[CalibrationRow]) -> str:
    head = (f"{'source':<13} {'design':<22} {'cells':>5} {'area cm2':>9} {'err':>8} "
            f"{'static mW':>9} {'err':>7} {'total mW':>9} {'err':>7}")
    lines = [head, "-" * len(head)]
    for r in rows:
        lines.append(
            f"{r.source:<13} {r.design:<22} {r.n_cells:>5} {r.area_um2 / 1e8:>9.4f} "
            f"{100 * r.area_error:>+7.3f}% {r.static_mw:>9.3f} {100 * r.static_error:>+6.2f}% "
            f"{r.power_mw:>9.3f} {100 * r.power_error:>+6.2f}%"
        )
    worst = _max_errors(rows)
    lines.append(
        f"max |error| over {len(rows)} designs: area {100 * worst['area_error']:.4f} %, static "
        f"{100 * worst['static_error']:.2f} %, total power {100 * worst['power_error']:.2f} % "
        f"(dynamic alone {100 * worst['dynamic_error']:.1f} %)"
    )
    return "\n".join(lines)


def _calibrate(args: argparse.Namespace) -> int:
    rows = calibrate(args.calibration, liberty=args.liberty)
    if args.as_json:
        data: dict[str, Any] = {
            "designs": [r.to_dict() for r in rows],
            "max_abs_error": _max_errors(rows),
        }
        print(json.dumps(data, indent=2, sort_keys=True))
    else:
        print(_table(rows))
    return 0
