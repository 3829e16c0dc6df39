"""``bespoke-mlp implement RUN_DIR --point N|selected|alternative --out DIR``: implement any
verified design of a search run (a ``pareto.json`` point) into a design directory of its own,
verified and synthesized as the run implemented its selected design."""

from __future__ import annotations

import argparse
import math
import tempfile
from pathlib import Path
from typing import Any

from .._outdir import check_replaceable
from .._util import atomic_output_dir, read_json, write_json
from ..errors import ModelFileError, UsageError
from ..hdl import Architecture
from ..ir import Network
from ..synth import BUILTIN_TECHNOLOGIES, EFFORTS, Technology, technology
from ._datasheet import Front, write_datasheet
from ._implement import implement
from ._log import Log
from ._report import design_report, report_test_part, summary_table

__all__ = ["POINT_NAMES", "register", "resolve_point", "implement_point"]

#: ``--point`` names besides an index.
POINT_NAMES = ("selected", "alternative")


def resolve_point(spec: str, report: dict[str, Any], n_points: int) -> int:
    """The ``pareto.json`` index ``spec`` names: an index, ``selected`` (the run's selected
    design) or ``alternative`` (``report.json``'s ``selection.alternative``, the best design
    not certified, where the run recorded one)."""
    if spec == "selected":
        index = report.get("selected")
    elif spec == "alternative":
        alt = (report.get("selection") or {}).get("alternative")
        index = alt.get("index", alt.get("point")) if isinstance(alt, dict) else alt
        if index is None:
            raise UsageError("the run recorded no alternative design (report.json "
                             "selection.alternative); give --point N")
    else:
        try:
            index = int(spec)
        except ValueError:
            raise UsageError(f"--point must be an index or one of {POINT_NAMES!r}, "
                             f"not {spec!r}") from None
    if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < n_points:
        raise UsageError(f"--point {spec!r} is point {index!r}; pareto.json has points "
                         f"0..{n_points - 1}")
    return index


def _read_run(run_dir: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """A search run's ``report.json`` and ``pareto.json``."""
    files = [run_dir / "report.json", run_dir / "pareto.json"]
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        raise UsageError(f"{str(run_dir)!r} is not the output of a search run "
                         f"(bespoke-mlp run without --exact): missing {', '.join(missing)}")
    report, pareto = (read_json(f) for f in files)
    if not isinstance(pareto, dict) or not pareto.get("points"):
        raise ModelFileError(f"{str(files[1])!r} holds no verified designs")
    return report, pareto


def implement_point(run_dir: Path, spec: str, out: Path, *, data_dir: Path | None = None,
                    data: str | None = None, tech: str | None = None,
                    effort: str | None = None, clock_hz: float | None = None,
                    force: bool = False, log: Log | None = None) -> dict[str, Any]:
    """Implement point ``spec`` (see :func:`resolve_point`) of the search run in ``run_dir``
    into ``out`` (``report.json``, ``model.json`` and ``design/``), on the run's test part
    with its technology, ADC model, architecture, mapping and (by default) effort; returns
    the report. ``data`` is the dataset (name or CSV path; default: the run's name), ``tech``
    the run's Liberty file where it used no built-in."""
    log = log or Log(enabled=False)
    report, pareto = _read_run(run_dir)
    points = pareto["points"]
    index = resolve_point(spec, report, len(points))
    point = points[index]
    net = Network.from_dict(point["network"])
    tech_info = report["technology"]
    settings = report["settings"]
    arch = Architecture(**settings.get("arch", {"kind": "parallel", "lanes": 1}))
    codes, labels = report_test_part(net, data or report["dataset"], settings, data_dir)
    with atomic_output_dir(out, force=force) as tmp:
        with tempfile.TemporaryDirectory(prefix="bespoke-mlp-") as work:
            impl = implement(net, codes, labels, design_dir=tmp / "design",
                             work_dir=Path(work), adc_mw=tech_info["adc_mw_per_4bit"],
                             tech=_technology(tech_info, tech), clock_hz=clock_hz,
                             effort=effort or tech_info["effort"],
                             mapping=tech_info["mapping"], log=log, arch=arch)
        (tmp / "model.json").write_text(net.to_json())
        out_report = design_report(
            dataset=report["dataset"], impl=impl,
            accuracy={"exact": pareto["baseline"]["accuracy"]},
            settings={**settings, "run": str(run_dir), "point": index},
            runtime_s=log.runtime())
        out_report["accuracy"]["test_loss"] = point["test_loss"]
        out_report.update(point=index, max_loss=pareto.get("max_loss"),
                          selection={**report.get("selection", {}), **point["selection"],
                                     "confidence": pareto.get("confidence"),
                                     "fallback": None, "alternative": None},
                          pareto_point={k: point[k] for k in ("area_cm2", "power_mw",
                                                              "system_power_mw", "accuracy")})
        write_json(tmp / "report.json", out_report)
        write_datasheet(tmp / "design" / "datasheet.html", out_report, net,
                        front=Front(tuple(points), index, pareto.get("baseline")),
                        title=f"{report['dataset']}: front point #{index}")
    return out_report


def _technology(info: dict[str, Any], spec: str | None) -> Technology:
    """The run's technology: its built-in, or the Liberty file ``spec`` (``--tech``), which
    must be the very library the run used."""
    if spec is None:
        if info["name"] not in BUILTIN_TECHNOLOGIES:
            raise UsageError(f"the run used the Liberty file {info['library']!r}: give it "
                             "with --tech PATH")
        spec = info["name"]
    tech = technology(spec)
    if tech.sha256 != info["library_sha256"]:
        raise UsageError(f"--tech {spec!r} is not the library the run used ({info['library']!r}, "
                         f"SHA-256 {info['library_sha256'][:12]}...)")
    return tech


def _implement(args: argparse.Namespace) -> int:
    if args.clock_hz is not None and not (math.isfinite(args.clock_hz) and args.clock_hz > 0):
        raise UsageError(f"--clock-hz must be a positive number of Hz, got {args.clock_hz!r}")
    check_replaceable(args.out, force=args.force)
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
    p.add_argument("--point", default="selected", metavar="N|selected|alternative",
                   help="pareto.json index, 'selected' (the run's choice, the default) or "
                        "'alternative' (the best design the run could not certify)")
    p.add_argument("--out", type=Path, required=True, metavar="DIR",
                   help="output directory; must be empty or absent")
    p.add_argument("--force", action="store_true",
                   help="replace a previous output of bespoke-mlp (only that)")
    p.add_argument("--effort", choices=EFFORTS, default=None,
                   help="synthesis effort (default: the run's, that of its selected design; "
                        "pareto.json's figures are at most normal effort)")
    p.add_argument("--clock-hz", type=float, default=None, metavar="HZ",
                   help="clock that power is given at (default: 5, or the fastest clock the "
                        "critical path allows if slower)")
    p.add_argument("--tech", default=None, metavar="PATH",
                   help="the Liberty file the run used, where it used no built-in library")
    p.add_argument("--data", default=None, metavar="DATASET",
                   help="the run's dataset, a name or CSV path (default: the name in its "
                        "report.json)")
    p.add_argument("--data-dir", type=Path, default=None, metavar="DIR",
                   help="directory of the printed-ML suite CSVs (default: $BESPOKE_MLP_DATA)")
    p.add_argument("--quiet", action="store_true", help="no progress output")
    p.set_defaults(func=_implement)
