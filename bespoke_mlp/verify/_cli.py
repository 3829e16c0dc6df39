"""``bespoke-mlp verify DIR [--formal]``: re-check a written design."""

from __future__ import annotations

import argparse
import re
import tempfile
from pathlib import Path

import numpy as np

from .._util import read_json
from ..errors import ModelFileError, UsageError, VerificationError
from ..hdl import TOP_MODULE
from ..ir import Network, predict_codes
from ..sim import check_agreement, simulate, unpack_vectors
from ..synth import CELL_MODELS
from ._formal import prove_equivalent
from ._trust import checked_netlist, checked_rtl

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
    text = path.read_text(errors="replace")
    words = text.split()
    width = net.n_features * net.input_bits
    if not words or not all(_HEX.fullmatch(w) and int(w, 16) >> width == 0 for w in words):
        raise ModelFileError(f"{str(path)!r} must hold one hex word of {width} bits per line "
                             f"({len(words)} words read)")
    return unpack_vectors(text, net.n_features, net.input_bits)


def _check_count(directory: Path, n: int) -> None:
    """``report.json`` (if present) must state the number of vectors found."""
    path = directory / "report.json"
    if not path.is_file():
        return
    try:
        stated = read_json(path).get("verification", {}).get("n_vectors")
    except (ValueError, AttributeError) as exc:
        raise ModelFileError(f"{str(path)!r} is not a report of this tool ({exc})") from None
    if stated != n:
        raise VerificationError(f"vectors.hex holds {n} vectors but {str(path)!r} states "
                                f"{stated!r}")


def _verify(args: argparse.Namespace) -> int:
    design = _design_dir(args.dir)
    needed = [design / n for n in ("network.json", "top.v", "netlist.v", "vectors.hex")]
    missing = [str(p) for p in needed if not p.is_file()]
    if missing:
        raise UsageError(f"{str(args.dir)!r} holds no complete design (missing {missing[0]!r})")
    net = Network.from_json((design / "network.json").read_text(errors="replace"))
    codes = _read_vectors(design / "vectors.hex", net)
    _check_count(args.dir, len(codes))
    golden = predict_codes(net, codes)
    with tempfile.TemporaryDirectory(prefix="bespoke-mlp-verify-") as work_name:
        work = Path(work_name)
        # Only files these checks vouch for are compiled (see _trust).
        rtl = checked_rtl(design / "top.v", net, work_dir=work / "rtl_check",
                          timeout=args.timeout)
        print("RTL: top.v is the RTL that network.json generates")
        netlist = checked_netlist(design / "netlist.v", net, TOP_MODULE,
                                  work_dir=work / "netlist_check", timeout=args.timeout)
        print("gate netlist: only library cells and wiring")
        for what, sources in (("RTL", [rtl]), ("gate netlist", [netlist, CELL_MODELS])):
            sim = simulate(sources, TOP_MODULE, codes, input_bits=net.input_bits,
                           work_dir=work / what.replace(" ", "_"), timeout=args.timeout)
            check_agreement(sim.predictions, golden, what=f"{what} simulation", codes=codes)
            print(f"{what}: agrees with the golden model on all {len(codes)} vectors")
        if args.formal:
            result = prove_equivalent([rtl], netlist, TOP_MODULE, work_dir=work / "formal",
                                      timeout=args.timeout)
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
            "iprove). The files are untrusted: top.v must be the RTL that network.json "
            "generates, and the gate netlist may hold only library cells and wiring; only "
            "checked files are compiled."),
    )
    p.add_argument("dir", type=Path, metavar="DIR", help="output directory of run/generate")
    p.add_argument("--formal", action="store_true", help="also prove RTL ≡ gate netlist")
    p.add_argument("--timeout", type=float, default=900.0, metavar="S",
                   help="seconds allowed per tool run (default: 900)")
    p.set_defaults(func=_verify)
