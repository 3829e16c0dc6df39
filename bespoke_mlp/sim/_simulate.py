"""Building and running the Verilator testbench."""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._util import run_tool
from ..errors import ToolError, UsageError
from ._clocked import ClockedDesign, record_vectors, render_clocked_testbench
from ._models import model_cache, model_key, reuse_model, store_model
from ._netlist import module_net_bits
from ._testbench import (
    TB_MODULE,
    TbDesign,
    count_toggles,
    pack_vectors,
    read_net_values,
    render_testbench,
)
from ._toolchain import (
    Toolchain,
    cached_pch,
    cached_runtime_objects,
    require_toolchain,
    runtime_cache_dir,
    store_pch,
    store_runtime_objects,
)

__all__ = ["Design", "SimResult", "simulate", "simulate_many"]

_BINARY = "Vtb"
_TOGGLES_FILE = "toggles.hex"
_NETS_FILE = "nets.txt"
_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_$]*")


@dataclass(frozen=True, eq=False)
class Design:
    """A combinational design and the input codes to apply to it.

    Attributes
    ----------
    sources:
        Verilog files (RTL, or a gate netlist plus its cell models).
    top:
        Name of the design's module; ports ``x`` (packed input codes) and ``y`` (class).
    codes:
        ``(n_vectors, n_features)`` unsigned integer input codes.
    input_bits:
        Bits per input code ``b``; feature ``i`` drives ``x[b*i + b-1 : b*i]``.
    count_toggles:
        Also count the value changes of every net of ``top`` (see :class:`SimResult`).
    cycles:
        0 for a combinational design; else the clock cycles per inference of a clocked one
        (ports ``clk`` and ``rst`` too, see :mod:`bespoke_mlp.sim._clocked`).
    """

    sources: tuple[Path, ...]
    top: str
    codes: np.ndarray
    input_bits: int
    count_toggles: bool = False
    cycles: int = 0


@dataclass(frozen=True, eq=False)
class SimResult:
    """Outcome of one simulation.

    Attributes
    ----------
    predictions:
        ``(n_vectors,)`` int64: the design's ``y`` for each input vector.
    n_vectors:
        Number of vectors applied.
    toggles:
        With ``count_toggles``: for every bit of every net declared in the top module, the
        number of 0→1 plus 1→0 changes between consecutive vectors (``n_vectors - 1``
        transitions; the power-up state is not counted). Keys are the net names as written
        in the Verilog source, an escaped identifier without its backslash and trailing space,
        a vector bit as ``name[i]`` (``_0123_``, ``x[5]``, ``y[0]``). Nets inside submodule
        instances (e.g. the pins of a cell) are not listed: in a gate netlist every cell
        output is a net of the top module already. Otherwise None.
    build_seconds, run_seconds:
        Wall-clock time of the Verilator build and of the simulation run (with toggle
        counting, the counting too).
    net_values:
        With ``count_toggles``: the value of each of those net bits after every vector, as
        ``(names, packed)``: ``packed[i]`` holds net ``names[i]``, vector ``v`` at bit
        ``v % 8`` of byte ``v // 8`` (the input-state probabilities of the power model come
        from it). Otherwise None.
    activity_samples:
        The samples the toggles and net values span: ``n_vectors`` for a combinational
        design, the recorded clock cycles for a clocked one (toggles are then per cycle).
    """

    predictions: np.ndarray
    n_vectors: int
    toggles: dict[str, int] | None
    build_seconds: float
    run_seconds: float
    net_values: tuple[tuple[str, ...], np.ndarray] | None = None
    activity_samples: int = 0


def _check_design(design: Design) -> tuple[tuple[Path, ...], np.ndarray]:
    """Validated sources and codes (as int64) of ``design``; raises UsageError."""
    if not design.sources:
        raise UsageError(f"design {design.top!r} has no source files")
    sources = tuple(Path(s) for s in design.sources)
    for source in sources:
        if not source.is_file():
            raise UsageError(f"Verilog source {str(source)!r} does not exist")
    if not _IDENT.fullmatch(design.top):
        raise UsageError(f"top module name {design.top!r} is not a simple Verilog identifier")
    cycles = design.cycles
    if isinstance(cycles, bool) or not isinstance(cycles, (int, np.integer)) or cycles < 0:
        raise UsageError(f"cycles must be an integer >= 0, got {cycles!r}")
    bits = design.input_bits
    if not isinstance(bits, (int, np.integer)) or isinstance(bits, bool) or not 1 <= bits <= 32:
        raise UsageError(f"input_bits must be an integer from 1 to 32, got {bits!r}")
    codes = np.asarray(design.codes)
    if codes.ndim != 2 or codes.shape[0] < 1 or codes.shape[1] < 1:
        raise UsageError(
            f"codes for {design.top!r} must be a non-empty (n_vectors, n_features) array, "
            f"got shape {codes.shape!r}"
        )
    if not np.issubdtype(codes.dtype, np.integer):
        raise UsageError(f"codes for {design.top!r} must be integers, got dtype {codes.dtype!r}")
    lo, hi = int(codes.min()), int(codes.max())
    if lo < 0 or hi >= 1 << bits:
        bad = lo if lo < 0 else hi
        raise UsageError(
            f"codes for {design.top!r} must lie in [0, {(1 << bits) - 1}] for "
            f"input_bits={bits}, found {bad!r}"
        )
    return sources, codes.astype(np.int64)


def _verilator_args(
    tools: Toolchain, sources: Sequence[Path], obj_dir: Path, runtime: list[Path] | None,
    pch: Path | None = None,
) -> list[str]:
    args = [
        tools.verilator, "--binary", "--top-module", TB_MODULE, "--prefix", _BINARY,
        "-Mdir", str(obj_dir), "-j", "0",
        # Netlists and generated RTL carry harmless width and lint warnings.
        "-Wno-fatal",
        # Design files without `timescale would otherwise clash with ones that have it.
        "--timescale", "1ns/1ns",
        # Verilator's data-flow-graph optimizer costs more than it saves on a one-shot model
        # (measured: a 53 k-cell gate netlist builds in 67 s of CPU instead of 86 s; the
        # predictions and toggle counts are the same, as for any optimization flag).
        "-fno-dfg",
        # Build speed: one translation unit (no per-model precompiled header, whose set-up
        # costs more than it saves here) compiled without optimization. Measured on an
        # 8 000-cell netlist: 5 s CPU instead of 29 s, and 0.07 s instead of 0.02 s to run
        # 3 300 vectors.
        "-MAKEFLAGS", "VM_PARALLEL_BUILDS=0",
        "-MAKEFLAGS", "OPT_FAST=-O0",
        "-MAKEFLAGS", f"CXX={tools.cxx}",
        "-MAKEFLAGS", f"LINK={tools.cxx}",
        "-MAKEFLAGS", f"PYTHON3={sys.executable}",
    ]
    if runtime is not None:
        args += ["-MAKEFLAGS", "VK_GLOBAL_OBJS="]
        for obj in runtime:
            args += ["-LDFLAGS", str(obj)]
    if pch is not None:
        # The cached precompiled runtime headers (see _toolchain); an unusable one is
        # reported in the log and the headers are read instead.
        args += ["-CFLAGS", f"-Winvalid-pch -include {pch}"]
    return args + [str(s) for s in sources]


def _build(tools: Toolchain, sources: Sequence[Path], work_dir: Path, timeout: float) -> float:
    """Verilate and compile ``tb.v`` plus ``sources``, or copy the same model from the model
    cache (:mod:`._models`); returns the build time in seconds."""
    start = time.perf_counter()
    obj_dir = work_dir / "obj"
    cache_dir = runtime_cache_dir(tools, log=work_dir / "verilator_root.log")
    runtime = cached_runtime_objects(cache_dir)
    pch = cached_pch(cache_dir) if runtime is not None else None
    files = [work_dir / "tb.v", *sources]
    args = _verilator_args(tools, files, obj_dir, runtime, pch)
    log = work_dir / "verilator.log"
    models = model_cache() if runtime is not None else None
    key = None if models is None else model_key(args, files, obj_dir)
    if key is not None and reuse_model(models, key, obj_dir / _BINARY):
        log.write_text(f"model {key} copied from the model cache {models}\n")
        return time.perf_counter() - start
    # The compiler's temporary files go to the work directory: a killed build leaves none.
    env = {**os.environ, "TMPDIR": str(work_dir)}
    run_tool(args, log=log, timeout=timeout, what="verilator", env=env)
    if key is not None:
        store_model(models, key, obj_dir / _BINARY)
    if runtime is None:
        store_runtime_objects(obj_dir, cache_dir)
    elif pch is None:
        store_pch(log, cache_dir, work_dir=work_dir,
                  timeout=max(timeout - (time.perf_counter() - start), 1.0), env=env)
    return time.perf_counter() - start


def _read_predictions(path: Path, n_vectors: int, log: Path) -> np.ndarray:
    try:
        tokens = path.read_text().split()
    except OSError as exc:
        raise ToolError(f"simulation wrote no output {str(path)!r}; log: {log}") from exc
    if len(tokens) != n_vectors:
        raise ToolError(
            f"simulation wrote {len(tokens)} predictions to {str(path)!r}, expected "
            f"{n_vectors}; log: {log}"
        )
    try:
        return np.array([int(t) for t in tokens], dtype=np.int64)
    except ValueError as exc:
        raise ToolError(f"simulation output {str(path)!r} is not decimal: {exc}") from exc


def _run(designs: Sequence[Design], work_dir: Path, *, timeout: float) -> list[SimResult]:
    """Write the testbench and vectors, build, run; one result per design."""
    deadline = time.monotonic() + timeout
    if not designs:
        raise UsageError("no designs to simulate")
    checked = [_check_design(d) for d in designs]
    tops = [d.top for d in designs]
    if len(set(tops)) != len(tops):
        raise UsageError(f"designs simulated together need distinct top modules, got {tops!r}")
    clocked = designs[0].cycles > 0
    if any((d.cycles > 0) != clocked for d in designs):
        raise UsageError("combinational and clocked designs cannot be simulated together")
    tools = require_toolchain()
    # Absolute, because the simulation binary runs with the work directory as its cwd.
    work_dir = Path(work_dir).resolve()
    work_dir.mkdir(parents=True, exist_ok=True)
    single = len(designs) == 1
    tb_designs = []
    for k, (design, (_, codes)) in enumerate(zip(designs, checked, strict=True)):
        suffix = "" if single else f"_{k}"
        tb = TbDesign(
            top=design.top,
            x_bits=codes.shape[1] * int(design.input_bits),
            n_vectors=codes.shape[0],
            vectors_file=f"vectors{suffix}.hex",
            predictions_file=f"predictions{suffix}.txt",
        )
        (work_dir / tb.vectors_file).write_bytes(pack_vectors(codes, int(design.input_bits)))
        (work_dir / tb.predictions_file).unlink(missing_ok=True)
        tb_designs.append(tb)
    # A source shared by several designs (a cell library) must be read only once.
    sources = list(dict.fromkeys(os.path.abspath(s) for srcs, _ in checked for s in srcs))
    # The nets of every counted design go into one toggle file, design after design, so one
    # build and one run measure the activity of a whole batch.
    counted = {k: module_net_bits(checked[k][0], d.top, f"dut{k}")
               for k, d in enumerate(designs) if d.count_toggles}
    if clocked and any(k != 0 for k in counted):
        raise UsageError("a clocked testbench counts the toggles of its first design only")
    nets = [net for k in counted for net in counted[k]]
    if counted:
        (work_dir / _NETS_FILE).write_text("".join(
            f"{net.name}\n" if single else f"{designs[k].top} {net.name}\n"
            for k in counted for net in counted[k]))
        (work_dir / _TOGGLES_FILE).unlink(missing_ok=True)
    if clocked:
        text = render_clocked_testbench(
            [ClockedDesign(tb.top, tb.x_bits, tb.n_vectors, int(d.cycles), tb.vectors_file,
                           tb.predictions_file) for tb, d in zip(tb_designs, designs)],
            toggle_nets=nets, toggles_file=_TOGGLES_FILE)
        samples = [record_vectors(tb.n_vectors, int(d.cycles)) * int(d.cycles)
                   for tb, d in zip(tb_designs, designs)]
    else:
        text = render_testbench(tb_designs, toggle_nets=nets, toggles_file=_TOGGLES_FILE)
        samples = [tb.n_vectors for tb in tb_designs]
    (work_dir / "tb.v").write_text(text)
    build_seconds = _build(
        tools, [Path(s) for s in sources], work_dir, max(deadline - time.monotonic(), 1.0))

    start = time.perf_counter()
    run_log = work_dir / "run.log"
    remaining = max(deadline - time.monotonic(), 1.0)
    run_tool([work_dir / "obj" / _BINARY], log=run_log, timeout=remaining, cwd=work_dir,
             what="simulation")
    predictions = [
        _read_predictions(work_dir / tb.predictions_file, tb.n_vectors, run_log)
        for tb in tb_designs
    ]
    toggles: dict[int, dict[str, int]] = {}
    values: dict[int, tuple[tuple[str, ...], np.ndarray]] = {}
    if counted:
        path = work_dir / _TOGGLES_FILE
        if not path.is_file():
            raise ToolError(f"simulation wrote no toggle file {str(path)!r}; log: {run_log}")
        # A combinational design with fewer vectors than the longest holds its last input:
        # no toggles. A clocked testbench records the cycles of its first design only.
        lines = samples[0] if clocked else max(samples)
        counts = iter(count_toggles(path, len(nets), lines))
        packed = read_net_values(path, len(nets), lines)
        # The file grows with samples x nets; the counts and values are all that is kept.
        path.unlink()
        row = 0
        for k in counted:
            names = tuple(net.name for net in counted[k])
            toggles[k] = {name: int(next(counts)) for name in names}
            values[k] = (names, packed[row:row + len(names), :-(-samples[k] // 8)])
            row += len(names)
    run_seconds = time.perf_counter() - start
    return [SimResult(predictions=p, n_vectors=len(p), toggles=toggles.get(k),
                      build_seconds=build_seconds, run_seconds=run_seconds,
                      net_values=values.get(k), activity_samples=samples[k])
            for k, p in enumerate(predictions)]


def simulate(
    sources: Sequence[Path],
    top: str,
    codes: np.ndarray,
    *,
    input_bits: int,
    work_dir: Path,
    count_toggles: bool = False,
    timeout: float = 600.0,
    cycles: int = 0,
) -> SimResult:
    """Simulate a combinational design on input codes with Verilator.

    The work directory receives ``tb.v`` (the testbench), ``vectors.hex``, ``obj/`` (the
    build), ``verilator.log``, ``run.log`` and ``predictions.txt``; with ``count_toggles``
    also ``nets.txt`` (the counted net names, in order).

    Parameters
    ----------
    sources:
        Verilog files: the RTL, or a gate netlist plus the cell models.
    top:
        The design's module, with input port ``x`` and output port ``y``.
    codes:
        ``(n_vectors, n_features)`` unsigned input codes, each below ``2**input_bits``.
    input_bits:
        Bits per code; feature ``i`` is ``x[b*i + b-1 : b*i]``.
    work_dir:
        Directory for the testbench, build and logs (created if missing).
    count_toggles:
        Also count the value changes of every net of ``top`` (see :class:`SimResult`).
    timeout:
        Seconds allowed for build and run together.
    cycles:
        0 (a combinational design), or the clock cycles per inference of a clocked design.

    Raises
    ------
    UsageError
        On invalid codes, sources or module name.
    ToolNotFoundError
        If Verilator, a C++ compiler, Perl or make is missing.
    ToolError
        If the build or the run fails (e.g. port ``x`` is not ``n_features * input_bits``
        wide); the message names the log and quotes its tail.
    """
    design = Design(tuple(Path(s) for s in sources), top, codes, input_bits,
                    count_toggles=count_toggles, cycles=cycles)
    return _run([design], Path(work_dir), timeout=timeout)[0]


def simulate_many(
    designs: Sequence[Design], *, work_dir: Path, timeout: float = 600.0
) -> list[SimResult]:
    """Simulate several designs with one Verilator build; one result per design.

    Every design is instantiated in one testbench and gets its own vectors
    (``vectors_<k>.hex``) and output (``predictions_<k>.txt``), so the compile cost is paid
    once; so is the run that counts the toggles of every design with ``count_toggles`` set
    (``nets.txt`` lists them as ``TOP NET`` lines). Module names must be distinct across all
    designs' sources (a cell library shared by several designs is read once). The results
    share the build and run times.

    Raises
    ------
    UsageError, ToolNotFoundError, ToolError
        As :func:`simulate`; also UsageError if two designs have the same top module.
    """
    return _run(list(designs), Path(work_dir), timeout=timeout)
