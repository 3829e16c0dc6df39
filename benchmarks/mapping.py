"""Area against power mapping: the same networks synthesized with ABC minimizing area, then
area plus weighted leakage (``synthesize(mapping=...)``); area, mean-leakage static power at
the library's figures (default activity) and synthesis time of each.

    python benchmarks/mapping.py netlists/cardio/network.json:parallel:egfet-1.0v \\
        netlists/cardio/network.json:parallel:egfet-0.6v
    python benchmarks/mapping.py run/design/network.json:sequential2:egfet-0.6v --effort high

Each design is ``NETWORK.json:ARCH:TECH`` with ARCH ``parallel`` or ``sequentialN`` (N lanes).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from bespoke_mlp.hdl import TOP_MODULE, Architecture, write_verilog
from bespoke_mlp.ir import Network
from bespoke_mlp.synth import EFFORTS, MAPPINGS, synthesize, technology


def _arch(text: str) -> Architecture:
    if text == "parallel":
        return Architecture("parallel")
    return Architecture("sequential", int(text.removeprefix("sequential") or 1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("designs", nargs="+", metavar="NETWORK.json:ARCH:TECH")
    ap.add_argument("--effort", choices=EFFORTS, default="high",
                    help="synthesis effort (default: high, as run's reported designs)")
    args = ap.parse_args()
    print("| design | arch | tech | area-mapped cm² / static mW / s | power-mapped cm² / static "
          "mW / s | area | static |")
    print("|---|---|---|---|---|---|---|")
    for spec in args.designs:
        path, arch_text, tech_name = spec.rsplit(":", 2)
        net = Network.from_json(Path(path).read_text())
        arch, tech = _arch(arch_text), technology(tech_name)
        res = {}
        with tempfile.TemporaryDirectory() as d:
            top = write_verilog(net, Path(d) / "top.v", arch=arch)
            for mapping in MAPPINGS:
                res[mapping] = synthesize([top], TOP_MODULE, Path(d) / mapping,
                                          liberty=tech.liberty, effort=args.effort,
                                          mapping=mapping, timeout=3600)
        a, p = res["area"], res["power"]
        cols = [f"{r.area_cm2:.3f} / {r.static_power_mw:.3f} / {r.seconds:.0f}" for r in (a, p)]
        print(f"| {path} | {arch_text} | {tech.name} | {cols[0]} | {cols[1]} "
              f"| {100 * (p.area_um2 / a.area_um2 - 1):+.1f} % "
              f"| {100 * (p.static_power_mw / a.static_power_mw - 1):+.1f} % |", flush=True)


if __name__ == "__main__":
    main()
