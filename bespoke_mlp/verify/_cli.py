"""``bespoke-mlp verify DIR [--formal]``: re-check a written design."""

from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from .._choices import ARCHS
from .._help import option_groups
from .._util import counted, read_json
from ..errors import ModelFileError, UsageError, VerificationError
from ..synth import BUILTIN_TECHNOLOGIES, Technology, technology

if TYPE_CHECKING:  # the handler imports them: Amaranth and the simulators are slow to load
    import numpy as np

    from ..hdl import Architecture
    from ..ir import Network

__all__ = ["register"]

_HEX = re.compile(r"[0-9a-fA-F]{1,4096}")


def _design_dir(directory: Path) -> Path:
    """Where the design files are: ``DIR/design`` (run, generate) or ``DIR`` itself
    (``netlists/<dataset>``)."""
    design = directory / "design"
    return design if (design / "network.json").is_file() else directory


def _read_vectors(path: Path, net: Network) -> np.ndarray:
    """The input codes of ``vectors.hex``; anything but hex words that fit the inputs raises
    a ModelFileError."""
    from ..sim import unpack_vectors

    text = path.read_text(errors="replace")
    words = text.split()
    width = net.n_features * net.input_bits
    if not words or not all(_HEX.fullmatch(w) and int(w, 16) >> width == 0 for w in words):
        raise ModelFileError(f"{str(path)!r} must hold one hex word of {width} bits per line "
                             f"({len(words)} words read)")
    return unpack_vectors(text, net.n_features, net.input_bits)


def _report(directory: Path) -> dict:
    """``report.json`` of ``directory`` (empty if absent: a design of the defaults)."""
    path = directory / "report.json"
    if not path.is_file():
        return {}
    try:
        report = read_json(path)
        if not isinstance(report, dict):
            raise ValueError("not an object")
        return report
    except ValueError as exc:
        raise ModelFileError(f"{str(path)!r} is not a report of this tool ({exc})") from None


def _check_count(directory: Path, report: dict, n: int) -> None:
    """``report.json`` (if present) must state the number of vectors found."""
    if not report:
        return
    verification = report.get("verification")
    stated = verification.get("n_vectors") if isinstance(verification, dict) else None
    if stated != n:
        raise VerificationError(f"vectors.hex holds {n} vectors but "
                                f"{str(directory / 'report.json')!r} states {stated!r}")


def _architecture(report: dict) -> Architecture:
    """The architecture a report states (``arch``, ``lanes``; older reports: parallel)."""
    from ..hdl import Architecture

    kind, lanes = report.get("arch", "parallel"), report.get("lanes", 1)
    if kind not in ARCHS or isinstance(lanes, bool) or not isinstance(lanes, int):
        raise ModelFileError(f"report.json states architecture {kind!r} with {lanes!r} lanes; "
                             f"expected one of {ARCHS!r} and an integer")
    return Architecture(kind, lanes)


def _technology(report: dict, override: str | None) -> Technology:
    """The technology to re-verify with: ``--tech`` if given, else the built-in one the
    report names (by name, or by library file for older reports; default egfet-1.0v). A
    library whose SHA-256 differs from the report's is noted: the check then uses the
    library as it is now."""
    stated = report.get("technology", {})
    stated = stated if isinstance(stated, dict) else {}
    by_file = {path.stem: name for name, path in BUILTIN_TECHNOLOGIES.items()}
    name = override if override is not None else stated.get(
        "name", by_file.get(str(stated.get("library")), "egfet-1.0v"))
    if override is None and str(name).lower() not in BUILTIN_TECHNOLOGIES:
        raise UsageError(f"report.json names technology {name!r}, not a built-in one: pass its "
                         "Liberty file with --tech PATH")
    tech = technology(name)
    sha = stated.get("library_sha256")
    if sha is not None and sha != tech.sha256:
        print(f"note: the design was mapped onto a library of SHA-256 {str(sha)[:12]}..., "
              f"{str(tech.liberty)!r} is {tech.sha256[:12]}...: checking against the latter")
    return tech


def _verify(args: argparse.Namespace) -> int:
    from ..hdl import TOP_MODULE
    from ..ir import Network, predict_codes, schedule
    from ..sim import check_agreement, simulate
    from ..synth import load_library, write_cell_models
    from ._formal import prove_equivalent, prove_sequential
    from ._trust import checked_netlist, checked_rtl

    design = _design_dir(args.dir)
    needed = [design / n for n in ("network.json", "top.v", "netlist.v", "vectors.hex")]
    missing = [str(p) for p in needed if not p.is_file()]
    if missing:
        raise UsageError(f"{str(args.dir)!r} holds no complete design (missing {missing[0]!r})")
    net = Network.from_json((design / "network.json").read_text(errors="replace"))
    codes = _read_vectors(design / "vectors.hex", net)
    report = _report(args.dir)
    _check_count(args.dir, report, len(codes))
    arch = _architecture(report)
    tech = _technology(report, args.tech)
    cycles = schedule(net, arch.lanes).cycles if arch.sequential else 0
    golden = predict_codes(net, codes)
    what_arch = (f"sequential, {counted(arch.lanes, 'lane')}, {counted(cycles, 'cycle')} per "
                 "inference"
                 if arch.sequential else "parallel")
    print(f"design: {what_arch}, mapped onto {tech.name}")
    with tempfile.TemporaryDirectory(prefix="bespoke-mlp-verify-") as work_name:
        work = Path(work_name)
        # Only files these checks vouch for are compiled (see _trust).
        rtl = checked_rtl(design / "top.v", net, work_dir=work / "rtl_check",
                          timeout=args.timeout, arch=arch)
        print("RTL: top.v is the RTL that network.json generates")
        netlist = checked_netlist(design / "netlist.v", net, TOP_MODULE,
                                  work_dir=work / "netlist_check", timeout=args.timeout,
                                  liberty=tech.liberty, sequential=arch.sequential)
        print("gate netlist: only library cells and wiring")
        models = write_cell_models(load_library(tech.liberty), work / "cells.v")
        for what, sources in (("RTL", [rtl]), ("gate netlist", [netlist, models])):
            sim = simulate(sources, TOP_MODULE, codes, input_bits=net.input_bits,
                           work_dir=work / what.replace(" ", "_"), timeout=args.timeout,
                           cycles=cycles)
            check_agreement(sim.predictions, golden, what=f"{what} simulation", codes=codes)
            print(f"{what}: agrees with the golden model on all {len(codes)} vectors")
        if args.formal and arch.sequential:
            result = prove_sequential([rtl], netlist, TOP_MODULE, models=models,
                                      work_dir=work / "formal",
                                      timeout=args.timeout)
            if not result.equivalent:
                raise VerificationError(
                    "the gate netlist is NOT equivalent to the RTL (a distinguishing input "
                    "sequence was found)")
            print(f"formal: gate netlist proven sequentially equivalent to the RTL of "
                  f"network.json for every input sequence from the all-zero state ("
                  f"{result.registers} registers, {result.and_nodes} AND nodes, ABC dprove, "
                  f"{result.seconds:.1f} s; model: verify/_formal.py)")
        elif args.formal:
            result = prove_equivalent([rtl], netlist, TOP_MODULE, work_dir=work / "formal",
                                      timeout=args.timeout, models=models)
            if not result.equivalent:
                raise VerificationError(
                    "the gate netlist is NOT equivalent to the RTL (ABC found a "
                    "distinguishing input)")
            print(f"formal: gate netlist proven equivalent to the RTL of network.json for all "
                  f"inputs ({result.and_nodes} AND nodes, {result.seconds:.1f} s)")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``verify`` subcommand."""
    p = subparsers.add_parser(
        "verify", help="re-simulate a written design and optionally prove it formally",
        description=(
            "Re-run the RTL and gate-level simulations of DIR/design (or DIR, as in "
            "netlists/<dataset>) against the golden model of network.json; with --formal also "
            "prove the gate netlist equivalent to the RTL on every input (Yosys miter, ABC "
            "iprove; a sequential design: sequential equivalence by ABC dprove, see "
            "verify/_formal.py). The architecture and technology come from report.json. "
            "The files are untrusted: top.v must be the RTL that network.json "
            "generates, and the gate netlist may hold only library cells and wiring; only "
            "checked files are compiled."),
    )
    p.add_argument("dir", type=Path, metavar="DIR", help="output directory of run/generate")
    h, x = option_groups(p, "hardware", "execution")
    x.add_argument("--formal", action="store_true", help="also prove RTL ≡ gate netlist")
    h.add_argument("--tech", default=None, metavar="NAME|PATH",
                   help="the cell library the netlist was mapped onto (default: the one "
                        "report.json names; its SHA-256 must match the report's)")
    x.add_argument("--timeout", type=float, default=900.0, metavar="S",
                   help="seconds allowed per tool run (default: 900)")
    p.set_defaults(func=_verify)
