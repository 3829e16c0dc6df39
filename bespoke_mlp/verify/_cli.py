"""``bespoke-mlp verify DIR [--formal]``: re-check a written design."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from ..errors import UsageError, VerificationError
from ..hdl import TOP_MODULE
from ..ir import Network, predict_codes
from ..sim import check_agreement, simulate, unpack_vectors
from ..synth import CELL_MODELS
from ._formal import prove_equivalent

__all__ = ["register"]

def _verify(args: argparse.Namespace) -> int:
    design = args.dir / "design"
    needed = [design / n for n in ("network.json", "top.v", "netlist.v", "vectors.hex")]
    missing = [str(p) for p in needed if not p.is_file()]
    if missing:
        raise UsageError(f"{str(args.dir)!r} holds no complete design (missing {missing[0]!r})")
    net = Network.from_json((design / "network.json").read_text())
    codes = unpack_vectors((design / "vectors.hex").read_text(), net.n_features,
                           net.input_bits)
    golden = predict_codes(net, codes)
    with tempfile.TemporaryDirectory(prefix="bespoke-mlp-verify-") as work_name:
        work = Path(work_name)
        for what, sources in (("RTL", [design / "top.v"]),
                              ("gate netlist", [design / "netlist.v", CELL_MODELS])):
            sim = simulate(sources, TOP_MODULE, codes, input_bits=net.input_bits,
                           work_dir=work / what.replace(" ", "_"), timeout=args.timeout)
            check_agreement(sim.predictions, golden, what=f"{what} simulation", codes=codes)
            print(f"{what}: agrees with the golden model on all {len(codes)} vectors")
        if args.formal:
            result = prove_equivalent([design / "top.v"], design / "netlist.v", TOP_MODULE,
                                      work_dir=work / "formal", timeout=args.timeout)
            if not result.equivalent:
                raise VerificationError(
                    "the gate netlist is NOT equivalent to the RTL (ABC found a "
                    "distinguishing input)")
            print(f"formal: gate netlist proven equivalent to the RTL for all inputs "
                  f"({result.and_nodes} AND nodes, {result.seconds:.1f} s)")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add the ``verify`` subcommand."""
    p = subparsers.add_parser(
        "verify", help="re-simulate a written design and optionally prove it formally",
        description=(
            "Re-run the RTL and gate-level simulations of DIR/design against the golden model "
            "of DIR/design/network.json; with --formal also prove the gate netlist equivalent "
            "to the RTL on every input (Yosys miter, ABC iprove)."),
    )
    p.add_argument("dir", type=Path, metavar="DIR", help="output directory of run/generate")
    p.add_argument("--formal", action="store_true", help="also prove RTL ≡ gate netlist")
    p.add_argument("--timeout", type=float, default=900.0, metavar="S",
                   help="seconds allowed per tool run (default: 900)")
    p.set_defaults(func=_verify)
