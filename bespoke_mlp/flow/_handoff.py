"""``bespoke-mlp implement RUN_DIR --point N|selected|alternative --out DIR``: implement any
verified design of a search run (a ``pareto.json`` point) into a design directory of its own,
verified and synthesized as the run implemented its selected design."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from .._util import atomic_output_dir, read_json, write_json
from ..errors import ModelFileError, UsageError
from ..hdl import Architecture
from ..ir import Network
from ..synth import BUILTIN_TECHNOLOGIES, Technology, technology
from ._datasheet import FrontPoints, write_datasheet
from ._implement import implement
from ._log import Log
from ._report import design_report, report_test_part

__all__ = ["POINT_NAMES", "resolve_point", "implement_point"]

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
                        front=FrontPoints(tuple(points), index, pareto.get("baseline")),
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
