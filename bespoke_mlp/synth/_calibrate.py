"""Checking the technology model against published, synthesised designs."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..errors import DataError, UsageError
from ._liberty import load_library
from ._power import power

__all__ = ["CalibrationRow", "calibrate"]

_FIELDS = ("area_um2", "leakage_W", "internal_W", "switching_W", "total_W")


@dataclass(frozen=True)
class CalibrationRow:
    """Model versus published figures of one design (errors: (model - published) / published).

    Attributes
    ----------
    source, design : where the design was published and its name.
    n_cells : its cell count.
    area_um2, reported_area_um2, area_error : cell area.
    static_mw, reported_leakage_mw, static_error : static power vs. reported leakage.
    dynamic_mw, reported_dynamic_mw, dynamic_error : modelled dynamic power vs. reported
        internal plus switching power.
    power_mw, reported_power_mw, power_error : total power.
    """

    source: str
    design: str
    n_cells: int
    area_um2: float
    reported_area_um2: float
    area_error: float
    static_mw: float
    reported_leakage_mw: float
    static_error: float
    dynamic_mw: float
    reported_dynamic_mw: float
    dynamic_error: float
    power_mw: float
    reported_power_mw: float
    power_error: float

    def to_dict(self) -> dict[str, Any]:
        """The row as a JSON-able dict."""
        return asdict(self)


def _rel(model: float, reported: float) -> float:
    return (model - reported) / reported


def _entries(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(Path(path).read_text())
    except OSError as exc:
        raise DataError(f"cannot read calibration file {str(path)!r}: {exc.strerror}") from exc
    except ValueError as exc:
        raise DataError(f"calibration file {str(path)!r} is not valid JSON: {exc}") from exc
    if not isinstance(data, list) or not data:
        raise DataError(f"calibration file {str(path)!r} must hold a non-empty list of designs")
    for i, entry in enumerate(data):
        ok = isinstance(entry, dict) and isinstance(entry.get("cells"), dict)
        ok = ok and all(isinstance(entry.get(k), (int, float)) for k in _FIELDS)
        ok = ok and all(entry[k] > 0 for k in ("area_um2", "leakage_W", "total_W"))
        if not ok:
            raise DataError(
                f"calibration entry {i} of {str(path)!r} needs 'cells' and positive numbers "
                f"{', '.join(_FIELDS)}; got {entry!r}"
            )
    return data


def calibrate(path: Path, *, liberty: Path | None = None) -> list[CalibrationRow]:
    """Area and power of each published design from its cell counts, against the reports.

    Parameters
    ----------
    path : a JSON list of designs with ``cells`` (cell -> count), ``area_um2``, ``leakage_W``,
        ``internal_W``, ``switching_W`` and ``total_W`` (and optionally ``source``, ``design``),
        such as ``egfet_calibration.json``.
    liberty : the library (default: the EGFET library).

    Raises
    ------
    DataError
        If the file is unreadable or malformed, or names cells the library lacks.
    """
    library = load_library(liberty)
    rows = []
    for i, entry in enumerate(_entries(path)):
        counts = entry["cells"]
        name = str(entry.get("design", f"#{i}"))
        try:
            area = sum(library.cell(cell).area_um2 * n for cell, n in counts.items())
            report = power(counts, liberty=library.path)
        except UsageError as exc:
            raise DataError(f"calibration design {name!r} of {str(path)!r}: {exc}") from exc
        leakage_mw = entry["leakage_W"] * 1e3
        dynamic_mw = (entry["internal_W"] + entry["switching_W"]) * 1e3
        total_mw = entry["total_W"] * 1e3
        rows.append(CalibrationRow(
            source=str(entry.get("source", "")),
            design=name,
            n_cells=sum(counts.values()),
            area_um2=area,
            reported_area_um2=float(entry["area_um2"]),
            area_error=_rel(area, entry["area_um2"]),
            static_mw=report.static_mw,
            reported_leakage_mw=leakage_mw,
            static_error=_rel(report.static_mw, leakage_mw),
            dynamic_mw=report.dynamic_mw,
            reported_dynamic_mw=dynamic_mw,
            dynamic_error=_rel(report.dynamic_mw, dynamic_mw) if dynamic_mw else 0.0,
            power_mw=report.power_mw,
            reported_power_mw=total_mw,
            power_error=_rel(report.power_mw, total_mw),
        ))
    return rows
