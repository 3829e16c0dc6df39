"""Implement one network: generate RTL, simulate it, synthesize it, simulate the gates, and
measure area, power and delay."""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
import tempfile
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from .._choices import DEFAULT_ADC_MW
from .._util import counted, kill_running_tools
from ..errors import UsageError
from ..hdl import (
    TOP_MODULE,
    Architecture,
    Form,
    check_arch,
    write_design_verilog,
    write_verilog,
)
from ..ir import (
    ADC_REFERENCE_BITS,
    Network,
    adc_comparators,
    cycle_predict,
    network_codes,
    partial_product_counts,
    predict_codes,
    schedule,
)
from ..ir._adc import MW_PER_CM2
from ..parallel import Executor, SerialExecutor
from ..sim import (
    GATE_EVALUATOR,
    Design,
    SimResult,
    check_agreement,
    evaluate_netlist,
    simulate,
    simulate_many,
)
from ..synth import (
    DEFAULT_EFFORT,
    DEFAULT_MAPPING,
    Effort,
    MappingCost,
    SynthResult,
    Technology,
    choose_clock,
    load_library,
    synthesize,
    technology,
    toggle_rates,
    write_cell_models,
)
from ._log import Log, quiet
from ._package import PACKAGE_FILES, write_package

__all__ = [
    "DEFAULT_ADC_MW",
    "DESIGN_FILES",
    "MAX_CELLS",
    "SIMULATOR",
    "Implementation",
    "check_size",
    "concurrently",
    "estimated_cells",
    "implement",
    "implement_many",
    "mapping_for",
    "verilator_gate_check",
]

A = TypeVar("A")
B = TypeVar("B")

#: Designs estimated above this many cells are refused before synthesis (ABC's run time grows
#: faster than linearly; a Pendigits-size design of ~9 000 cells takes seconds).
MAX_CELLS = 150_000
#: Cells per partial-product bit, measured on synthesized exact designs (Cardio: 8.4).
_CELLS_PER_PP_BIT = 8.4

SIMULATOR = "verilator"
#: What simulated an implementation whose gates only the netlist evaluator simulated.
EVALUATED = f"{SIMULATOR} (RTL), {GATE_EVALUATOR} (gates)"
#: The files :func:`implement` writes into its ``design_dir`` (see :mod:`._package`).
DESIGN_FILES = ("network.json", "top.v", "netlist.v", *PACKAGE_FILES)


@dataclass(frozen=True)
class Implementation:
    """A verified, synthesized design.

    ``accuracy`` is the gate-level simulation's accuracy on the given labels; the agreements are
    the fractions of vectors where RTL and gate-level simulation equal the golden model (always
    1.0: anything else raises).
    """

    network: Network
    synth: SynthResult
    accuracy: float
    rtl_agreement: float
    gate_agreement: float
    n_vectors: int
    adc_mw: float
    tech: Technology | None = None
    arch: Architecture = Architecture()
    cycles: int = 1
    #: Features the network reads but the synthesized netlist does not (synthesis removed
    #: every cell that read them): they need no ADC.
    unread: tuple[int, ...] = ()
    #: What simulated the RTL and the gates.
    simulator: str = SIMULATOR

    @property
    def feature_bits(self) -> tuple[int, ...]:
        """Each feature's ADC bits: the network's, 0 for a feature the netlist never reads."""
        return tuple(0 if f in self.unread else r
                     for f, r in enumerate(self.network.feature_resolution))

    @property
    def adc_power_mw(self) -> float:
        # As Network.adc_power_mw, over the features the netlist reads.
        return self.adc_mw * adc_comparators(self.feature_bits) / ((1 << ADC_REFERENCE_BITS) - 1)

    def metrics(self) -> dict[str, Any]:
        """The hardware and verification figures of a report (deterministic)."""
        s = self.synth.to_dict()
        # One inference takes ``cycles`` clock periods (a parallel design: one).
        latency = self.cycles / s["freq_hz"]
        return {
            "arch": self.arch.kind,
            "lanes": self.arch.lanes,
            "cycles": self.cycles,
            "clock_hz": s["freq_hz"],
            "latency_s": round(latency, 6),
            "energy_mj": round(s["power_mw"] * latency, 6),
            "area_cm2": s["area_cm2"],
            "power_mw": s["power_mw"],
            "static_power_mw": s["static_power_mw"],
            "dynamic_power_mw": s["dynamic_power_mw"],
            "delay_ms": s["delay_ms"],
            "fmax_hz": s["fmax_hz"],
            "cells": s["cells"],
            "n_cells": s["n_cells"],
            "n_features_used": sum(1 for b in self.feature_bits if b),
            "feature_bits": list(self.feature_bits),
            "adc_comparators": adc_comparators(self.feature_bits),
            "adc_area_cm2": round(self.adc_power_mw / MW_PER_CM2, 6),
            "adc_power_mw": round(self.adc_power_mw, 6),
            "system_power_mw": round(s["power_mw"] + self.adc_power_mw, 6),
            "technology": {**(self.tech or technology(self.synth.liberty)).to_dict(),
                           "freq_hz": s["freq_hz"], "activity": s["activity"],
                           "effort": s["effort"], "mapping": s["mapping"],
                           "adc_mw_per_4bit": self.adc_mw},
            "verification": {"rtl_agreement": self.rtl_agreement,
                             "gate_agreement": self.gate_agreement,
                             "n_vectors": self.n_vectors, "simulator": self.simulator},
        }


def mapping_for(objective: str) -> MappingCost:
    """ABC's mapping for a run minimizing ``objective`` (``--objective``): area-mapped for
    ``"area"``, power-mapped (less leakage for about the same area) for the power
    objectives."""
    return "area" if objective == "area" else "power"


def estimated_cells(net: Network) -> int:
    """Rough cell count of ``net``'s design, from its partial-product bits."""
    bits = sum(int(partial_product_counts(np.array(layer.weights), np.array(layer.masks),
                                          np.array(layer.truncation),
                                          max(net.input_widths(k))).sum())
               for k, layer in enumerate(net.layers))
    return int(bits * _CELLS_PER_PP_BIT)


def check_size(net: Network, *, force: bool) -> None:
    """Refuse, with the estimate, a network whose synthesis would take far too long."""
    cells = estimated_cells(net)
    if cells > MAX_CELLS and not force:
        raise UsageError(
            f"network {'-'.join(map(str, net.topology))} implies about {cells:,} cells (limit "
            f"{MAX_CELLS:,}); synthesis would take hours. Use fewer features or hidden "
            "neurons, or --force to try anyway")


def _accuracy(pred: np.ndarray, labels: np.ndarray | None) -> float:
    return float(np.mean(pred == labels)) if labels is not None and len(labels) else float("nan")


def _models(tech: Technology, work_dir: Path) -> Path:
    """The Verilog models of ``tech``'s cells, for gate-level simulation."""
    work_dir.mkdir(parents=True, exist_ok=True)
    return write_cell_models(load_library(tech.liberty), work_dir / "cells.v")


def _fastest_clock(delay_ms: float) -> float:
    """The fastest clock whose period covers ``delay_ms``, rounded down to two significant
    digits: a sequential design runs as fast as one step allows."""
    fmax = 1e3 / delay_ms if delay_ms > 0 else 1e3
    exponent = math.floor(math.log10(fmax)) - 1
    return float(f"{math.floor(fmax / 10.0 ** exponent)}e{exponent}")


def _clocked(syn: SynthResult, clock_hz: float | None, log: Log,
             arch: Architecture) -> tuple[SynthResult, float]:
    """``syn`` at the clock it runs at: for a parallel design see
    :func:`~bespoke_mlp.synth.choose_clock`; a sequential one defaults to the fastest clock
    its critical path (one step, register to register) allows."""
    if arch.sequential and clock_hz is None:
        clock = _fastest_clock(syn.delay_ms)
        log(f"one step takes {syn.delay_ms:.1f} ms: {syn.top} is clocked at {clock:g} Hz")
        return syn.at_clock(clock), clock
    clock = choose_clock(syn.delay_ms, clock_hz)
    if clock_hz is None and clock != syn.freq_hz:
        log(f"the critical path ({syn.delay_ms:.1f} ms) exceeds the period of the default "
            f"{syn.freq_hz:g} Hz clock: {syn.top} is clocked at {clock:g} Hz")
    return (syn.at_clock(clock) if clock != syn.freq_hz else syn), clock


def implement(net: Network, codes: np.ndarray, labels: np.ndarray | None, *, design_dir: Path,
              work_dir: Path, adc_mw: float = DEFAULT_ADC_MW, timeout: float = 900.0,
              form: Form = "tree", tech: Technology | None = None,
              clock_hz: float | None = None, effort: Effort = DEFAULT_EFFORT,
              mapping: MappingCost = DEFAULT_MAPPING, log: Log | None = None,
              arch: Architecture | str = "parallel",
              verilator_gates: bool = True) -> Implementation:
    """Generate, verify and synthesize ``net``; files go to ``design_dir``.

    ``design_dir`` receives ``network.json`` (what is implemented), ``top.v`` (the
    hierarchical RTL with its port map, see :func:`~bespoke_mlp.hdl.write_design_verilog`),
    ``netlist.v`` (gates) and the hand-off files of :func:`~._package.write_package` (the
    self-checking testbench and ``run_tb.sh``, ``timing.rpt``, ``constraints.sdc``,
    ``synth.log``); scratch files (builds, logs, the flat RTL that synthesis reads) go to
    ``work_dir``. RTL and gate-level simulation of ``codes`` must equal the golden model
    exactly (:class:`~bespoke_mlp.errors.VerificationError` otherwise); the gate-level
    switching activity feeds the dynamic power (the library's default activity only for a
    single vector, which has no transitions): a sequential design's is counted by Verilator,
    a combinational netlist's by :func:`~bespoke_mlp.sim.evaluate_netlist` (Verilator's
    counts bit for bit, without their cost in Verilator's build), whose predictions must equal
    the golden model too; without ``verilator_gates`` a combinational netlist is simulated by
    the evaluator alone (a design no run writes: the search's baseline, see
    :func:`verilator_gate_check`). ``labels`` are class indices (or None). RTL
    simulation and synthesis (at ``effort``, ABC mapping for ``mapping``: see
    :func:`~bespoke_mlp.synth.synthesize`) run concurrently. ``form`` is the neuron
    description of the RTL (see :func:`~bespoke_mlp.hdl.write_verilog`). ``tech`` is the cell
    library (default: EGFET 1.0 V); power is given at ``clock_hz`` (default: 5 Hz, or the
    fastest clock the critical path allows if slower; a ``clock_hz`` the design cannot meet
    raises UsageError). ``arch`` is the architecture (or its kind, ``"parallel"`` or
    ``"sequential"``; folded, see :class:`~bespoke_mlp.hdl.SequentialClassifier`: its
    cycle-accurate model must equal the golden model too, it is clocked by default as fast as
    one step allows, and its switching activity is measured per clock cycle).
    """
    log = log or quiet()
    tech = tech or technology()
    design_dir.mkdir(parents=True, exist_ok=True)
    codes = network_codes(net, codes)
    golden = predict_codes(net, codes)
    arch = check_arch(arch)
    cycles = _cycles(net, codes, golden, arch)
    with log.stage("generate", f"generating {arch.kind} RTL"
                   + (f" ({counted(cycles, 'cycle')} per inference)" if cycles else "")):
        # Synthesis reads the flat form; the RTL simulation verifies the hierarchical top.v.
        flat_v = write_verilog(net, work_dir / "flat.v", name=TOP_MODULE, form=form,
                               work_dir=work_dir, arch=arch)
        top_v = write_design_verilog(net, design_dir / "top.v", work_dir=work_dir / "rtl",
                                     form=form, arch=arch)
        (design_dir / "network.json").write_text(net.to_json())

    def rtl_sim():
        with log.stage("rtl_sim"):
            return simulate([top_v], TOP_MODULE, codes, input_bits=net.input_bits,
                            work_dir=work_dir / "rtl_sim", timeout=timeout, cycles=cycles)

    def synth():
        with log.stage("synthesis"):
            return synthesize([flat_v], TOP_MODULE, work_dir / "synth", timeout=timeout,
                              liberty=tech.liberty, effort=effort, mapping=mapping,
                              support=_support(net, arch))

    log(f"simulating RTL on {len(codes)} vectors (Verilator) while synthesizing "
        f"(Yosys + ABC onto {tech.name} cells)")
    syn, rtl = concurrently(synth, rtl_sim)
    syn, clock = _clocked(syn, clock_hz, log, arch)
    rtl_agree = check_agreement(rtl.predictions, golden, what="RTL simulation", codes=codes)
    shutil.copyfile(syn.netlist_v, design_dir / "netlist.v")
    models = _models(tech, work_dir)
    # A combinational netlist's activity comes from the netlist evaluator (bit for bit
    # Verilator's counts): Verilator's build without the toggle recording is about half.
    verilator = verilator_gates or arch.sequential
    evaluated = not arch.sequential and (len(codes) >= 2 or not verilator)
    with log.stage("gate_sim", f"simulating gate netlist ({syn.n_cells} cells)"):
        if verilator:
            gate = _verilator_gates(design_dir / "netlist.v", models, net, codes, golden,
                                    work_dir=work_dir / "gate_sim", timeout=timeout,
                                    cycles=cycles, count_toggles=not evaluated and (
                                        len(codes) >= 2 or cycles > 1))
        if evaluated:
            gate = evaluate_netlist(syn.netlist_json, TOP_MODULE, codes,
                                    input_bits=net.input_bits, liberty=tech.liberty,
                                    count_toggles=len(codes) >= 2)
            check_agreement(gate.predictions, golden, what="netlist evaluation", codes=codes)
    write_package(design_dir, net, codes, golden, syn=syn, cell_models=models, cycles=cycles)
    # Gate agreement 1.0: check_agreement raised otherwise.
    return Implementation(net, _with_measured_activity(syn, gate),
                          _accuracy(gate.predictions, labels), rtl_agree, 1.0, len(codes),
                          adc_mw, tech, arch, max(1, cycles),
                          unread_features(syn.netlist_json, net, TOP_MODULE),
                          SIMULATOR if verilator else EVALUATED)


def _verilator_gates(netlist_v: Path, models: Path, net: Network, codes: np.ndarray,
                     golden: np.ndarray, *, work_dir: Path, timeout: float, cycles: int,
                     count_toggles: bool) -> SimResult:
    """Verilator's simulation of ``netlist_v`` (cells ``models``) on ``codes``, whose
    predictions must equal ``golden``."""
    gate = simulate([netlist_v, models], TOP_MODULE, codes, input_bits=net.input_bits,
                    work_dir=work_dir, count_toggles=count_toggles, timeout=timeout,
                    cycles=cycles)
    check_agreement(gate.predictions, golden, what="gate-level simulation", codes=codes)
    return gate


def verilator_gate_check(impl: Implementation, design_dir: Path, codes: np.ndarray, *,
                         work_dir: Path, timeout: float = 900.0,
                         log: Log | None = None) -> Implementation:
    """``impl`` (of :func:`implement` into ``design_dir`` without ``verilator_gates``) with
    its gate netlist simulated by Verilator too, on the same ``codes``: before a run writes
    it as its design. Its figures are unchanged (the evaluator counted the activity)."""
    if impl.simulator == SIMULATOR:
        return impl
    log = log or quiet()
    net = impl.network
    codes = network_codes(net, codes)
    with log.stage("gate_sim", f"simulating gate netlist ({impl.synth.n_cells} cells) "
                               "with Verilator"):
        _verilator_gates(design_dir / "netlist.v", _models(impl.tech or technology(), work_dir),
                         net, codes, predict_codes(net, codes), work_dir=work_dir / "gate_sim",
                         timeout=timeout, cycles=0, count_toggles=False)
    return dataclasses.replace(impl, simulator=SIMULATOR)


def _support(net: Network, arch: Architecture) -> int | None:
    """Input bits a parallel design's outputs depend on at most: those its network reads (a
    sequential design's depend on its state too)."""
    return None if arch.sequential else sum(net.feature_resolution)


def _cycles(net: Network, codes: np.ndarray, golden: np.ndarray, arch: Architecture) -> int:
    """Clock cycles per inference (0: combinational); for a sequential design, first check
    that its cycle-accurate model equals the golden model on ``codes``."""
    if not arch.sequential:
        return 0
    sched = schedule(net, arch.lanes)
    check_agreement(cycle_predict(sched, codes), golden, what="cycle-accurate model",
                    codes=codes)
    return sched.cycles


def concurrently(main: Callable[[], A], background: Callable[[], B]) -> tuple[A, B]:
    """Run ``background`` in a thread while ``main`` runs here (tools are subprocesses, so two
    cores are used); an error or interrupt in either ends the other's tools too."""
    pool = ThreadPoolExecutor(max_workers=1)
    future = pool.submit(background)
    try:
        a = main()
        b = future.result()
    except BaseException:
        kill_running_tools()
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown()
    return a, b


def implement_many(nets: Sequence[Network], codes: np.ndarray, labels: np.ndarray | None, *,
                   work_dir: Path, adc_mw: float = DEFAULT_ADC_MW, timeout: float = 900.0,
                   executor: Executor | None = None, tech: Technology | None = None,
                   clock_hz: float | None = None, effort: Effort = DEFAULT_EFFORT,
                   mapping: MappingCost = DEFAULT_MAPPING, log: Log | None = None,
                   arch: Architecture | str = "parallel") -> list[Implementation]:
    """Verify and synthesize several networks, batching their RTL simulations into one
    Verilator build per worker.

    The gate netlists of a parallel architecture are simulated by
    :func:`~bespoke_mlp.sim.evaluate_netlist` (bit for bit what Verilator gives, without a
    build; ``Implementation.simulator`` says so), a sequential one's by Verilator. Power uses
    each design's switching activity, counted in its gate-level simulation (as
    :func:`implement`); the design files end up in ``work_dir/d<k>/``
    (``top.v``, ``netlist.v``, ``netlist.json``, ``yosys.log``). With an ``executor`` of
    several workers the networks are dealt out round-robin, each worker building in a
    temporary directory of its own; the figures are the same whatever the executor. ``tech``,
    ``clock_hz``, ``effort``, ``mapping`` and ``arch`` as in :func:`implement`.
    """
    log = log or quiet()
    tech = tech or technology()
    arch = check_arch(arch)
    names = [f"{TOP_MODULE}_{k}" for k in range(len(nets))]
    if executor is None or isinstance(executor, SerialExecutor):
        return _implement_batch_in(nets, names, codes, labels, work_dir=work_dir,
                                   adc_mw=adc_mw, timeout=timeout, tech=tech,
                                   clock_hz=clock_hz, effort=effort, mapping=mapping,
                                   log=log, arch=arch)
    n = min(executor.n_workers, len(nets))
    batches = [tuple(range(w, len(nets), n)) for w in range(n)]
    log(f"implementing {len(nets)} designs in {n} batches on {executor.describe()}")
    with log.stage("implement"):
        done = executor.map(
            _implement_batch,
            [(b, tuple(nets[k].to_json() for k in b)) for b in batches],
            shared=(codes, labels, adc_mw, timeout, tech, clock_hz, effort, mapping, arch),
            progress=lambda d, t: log(f"design batch {d}/{t} verified and synthesized"))
    out: list[Implementation | None] = [None] * len(nets)
    for batch, results in zip(batches, done):
        for k, (impl, files) in zip(batch, results):
            d = work_dir / f"d{k}"
            d.mkdir(parents=True, exist_ok=True)
            for name, data in files.items():
                (d / name).write_bytes(data)
            syn = dataclasses.replace(impl.synth, netlist_v=d / "netlist.v",
                                      netlist_json=d / "netlist.json", log=d / "yosys.log")
            out[k] = dataclasses.replace(impl, synth=syn)
    return out


def _implement_batch(shared: tuple[np.ndarray, np.ndarray | None, float, float, Technology,
                                   float | None, Effort, MappingCost, Architecture],
                     batch: tuple[tuple[int, ...], tuple[str, ...]],
                     ) -> list[tuple[Implementation, dict[str, bytes]]]:
    """Work unit: implement the networks (JSON IR) of ``batch`` in a temporary directory and
    return them with their files' contents."""
    codes, labels, adc_mw, timeout, tech, clock_hz, effort, mapping, arch = shared
    indices, texts = batch
    nets = [Network.from_json(t) for t in texts]
    with tempfile.TemporaryDirectory(prefix="bespoke-mlp-worker-") as work:
        work_dir = Path(work)
        impls = _implement_batch_in(nets, [f"{TOP_MODULE}_{k}" for k in indices], codes,
                                    labels, work_dir=work_dir, adc_mw=adc_mw, timeout=timeout,
                                    tech=tech, clock_hz=clock_hz, effort=effort,
                                    mapping=mapping, log=quiet(), arch=arch)
        return [(impl, {"top.v": (work_dir / f"d{j}" / "top.v").read_bytes(),
                        "netlist.v": impl.synth.netlist_v.read_bytes(),
                        "netlist.json": impl.synth.netlist_json.read_bytes(),
                        "yosys.log": impl.synth.log.read_bytes()})
                for j, impl in enumerate(impls)]


def _implement_batch_in(nets: Sequence[Network], names: Sequence[str], codes: np.ndarray,
                        labels: np.ndarray | None, *, work_dir: Path, adc_mw: float,
                        timeout: float, tech: Technology, clock_hz: float | None,
                        effort: Effort, mapping: MappingCost, log: Log,
                        arch: Architecture) -> list[Implementation]:
    """:func:`implement_many` in this process: the files of design ``j`` in
    ``work_dir/d<j>/``."""
    dirs = [work_dir / f"d{j}" for j in range(len(nets))]
    # Resolution codes: each design gets the codes of its own quantizers.
    vectors = [network_codes(net, codes) for net in nets]
    goldens = [predict_codes(net, v) for net, v in zip(nets, vectors)]
    cycles = [_cycles(net, v, g, arch) for net, v, g in zip(nets, vectors, goldens)]
    with log.stage("generate", f"generating {arch.kind} RTL of {len(nets)} designs"):
        tops = []
        for net, name, d in zip(nets, names, dirs):
            d.mkdir(parents=True, exist_ok=True)
            tops.append(write_verilog(net, d / "top.v", name=name, arch=arch))

    def rtl_sims():
        with log.stage("rtl_sim"):
            return [r.predictions for r in simulate_many(
                [Design((t,), n, v, net.input_bits, cycles=c)
                 for t, n, net, v, c in zip(tops, names, nets, vectors, cycles)],
                work_dir=work_dir / "rtl_sim", timeout=timeout)]

    def synths():
        out = []
        for k, (top, name, d) in enumerate(zip(tops, names, dirs)):
            with log.stage("synthesis"):
                log(f"synthesizing design {k + 1}/{len(nets)}")
                syn = synthesize([top], name, d / "synth", timeout=timeout,
                                 liberty=tech.liberty, effort=effort, mapping=mapping,
                                 support=_support(nets[k], arch))
                out.append(_clocked(syn, clock_hz, log, arch)[0])
        return out

    log(f"simulating {len(nets)} RTL designs (one Verilator build) while synthesizing them")
    syns, preds = concurrently(synths, rtl_sims)
    rtl = [check_agreement(p, g, what=f"RTL simulation of {n}", codes=v)
           for n, p, g, v in zip(names, preds, goldens, vectors)]
    with log.stage("gate_sim", f"simulating {len(nets)} gate netlists and counting their "
                               "toggles"):
        if arch.sequential:
            models = _models(tech, work_dir)
            # A clocked testbench records the activity of its first design only: one run each.
            sims = [simulate_many([Design((s.netlist_v, models), n, v, net.input_bits,
                                          count_toggles=True, cycles=c)],
                                  work_dir=work_dir / f"gate_sim{k}", timeout=timeout)[0]
                    for k, (s, n, net, v, c) in enumerate(zip(syns, names, nets, vectors,
                                                              cycles))]
        else:
            # The front only ranks designs: its netlists are evaluated in numpy, bit for bit
            # what Verilator gives but without its build (seconds per batch); the designs a
            # run writes are simulated with Verilator (implement).
            sims = [evaluate_netlist(s.netlist_json, n, v, input_bits=net.input_bits,
                                     liberty=tech.liberty, count_toggles=len(codes) >= 2)
                    for s, n, net, v in zip(syns, names, nets, vectors)]
        gate = [check_agreement(sim.predictions, g, what=f"gate-level simulation of {n}",
                                codes=v)
                for n, sim, g, v in zip(names, sims, goldens, vectors)]
    syns = [_with_measured_activity(s, sim) for s, sim in zip(syns, sims)]
    simulator = SIMULATOR if arch.sequential else EVALUATED
    return [Implementation(net, s, _accuracy(sim.predictions, labels), r, g, len(codes), adc_mw,
                           tech, arch, max(1, c), unread_features(s.netlist_json, net, name),
                           simulator)
            for net, name, s, sim, r, g, c in zip(nets, names, syns, sims, rtl, gate, cycles)]


def unread_features(netlist_json: Path, net: Network, top: str) -> tuple[int, ...]:
    """The features ``net`` reads whose input bits (``x``, ``net.input_bits`` per feature)
    no cell or output port of module ``top`` of the synthesized netlist (Yosys JSON)
    connects to."""
    module = json.loads(Path(netlist_json).read_text())["modules"][top]
    used = {b for cell in module["cells"].values()
            for bits in cell["connections"].values() for b in bits}
    used |= {b for name, port in module["ports"].items() if port["direction"] == "output"
             for b in port["bits"]}
    x, width = module["ports"]["x"]["bits"], net.input_bits
    return tuple(f for f, r in enumerate(net.feature_resolution)
                 if r and not used.intersection(x[f * width:(f + 1) * width]))


def _with_measured_activity(syn: SynthResult, sim: SimResult) -> SynthResult:
    """``syn`` (at its clock) with the power of the toggles and input states ``sim``
    measured (unchanged if it counted none: a single vector has no transitions)."""
    if sim.toggles is None:
        return syn
    return syn.with_activity(toggle_rates(sim.toggles, sim.activity_samples),
                             net_values=sim.net_values, n_vectors=sim.activity_samples)
