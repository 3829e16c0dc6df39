"""The design package's RTL: hierarchical Verilog as Amaranth elaborates it (one module per
layer and per neuron, named wires), with a header giving the port map, the class map of ``y``,
the clock and the latency, and a comment above each neuron's module giving its constants.

Synthesis and the search's batch simulations read the flat form (:func:`write_verilog`), whose
figures do not depend on this one; both come from the same RTLIL.
"""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

from .. import __version__
from .._yosys import quote_path, run_yosys
from ..ir import Network, schedule
from ._emit import TOP_MODULE, Architecture, _library_reads, check_arch, check_module_name, to_rtlil
from ._neuron import Form

__all__ = ["HEADER_END", "design_header", "write_design_verilog"]

#: The line that closes the header comment of a design's ``top.v``.
HEADER_END = " * end of header\n */\n"
# Known network fields; any other per-feature list (e.g. a recorded input range) is listed too.
_KNOWN = {"format", "version", "input_bits", "argmax_shift", "classes", "feature_min",
          "feature_max", "layers", "feature_names", "dropped_features", "thresholds", "outputs"}


def write_design_verilog(net: Network, path: Path, *, work_dir: Path, name: str = TOP_MODULE,
                         form: Form = "tree", arch: Architecture | str = "parallel",
                         timeout: float = 300.0) -> Path:
    """Write ``net``'s classifier to ``path`` as hierarchical Verilog with its header.

    Submodules are named ``<name>_l<k>`` (layer ``k``), ``<name>_l<k>_n<j>`` (its neuron
    ``j``) and ``<name>_argmax``; ports of the top module as :func:`write_verilog`.
    Deterministic: the text depends on ``net``, the options and the tool versions only.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    work_dir.mkdir(parents=True, exist_ok=True)
    name = check_module_name(name)
    il = work_dir / "design.il"
    raw = work_dir / "design_raw.v"
    il.write_text(to_rtlil(net, name=name, form=form, arch=arch))
    script = "\n".join([*_library_reads(work_dir, arch), f"read_rtlil {quote_path(il)}",
                        f"hierarchy -top {name}", "proc", "opt_clean",
                        f"write_verilog -noattr {quote_path(raw)}", ""])
    run_yosys(script, script_path=work_dir / "design.ys", log=work_dir / "design.log",
              timeout=timeout)
    body = _neuron_comments(_plain_module_names(raw.read_text(), name), net, name)
    path.write_text(design_header(net, arch=arch) + body)
    return path


def _plain_module_names(text: str, name: str) -> str:
    """Amaranth's escaped hierarchical module names (``\\top.l0.n1 ``) as plain identifiers
    (``top_l0_n1``), so that every simulator and reader takes them as written."""
    pattern = re.compile(r"\\" + re.escape(name) + r"\.([A-Za-z0-9_.$]+) ")
    return pattern.sub(lambda m: name + "_" + re.sub(r"[.$]", "_", m.group(1)), text)


def _neuron_comments(text: str, net: Network, name: str) -> str:
    """``text`` with a comment above each neuron's module stating its constants (above the
    argmax's module for output neurons it builds itself)."""
    argmax: list[str] = []
    for k, layer in enumerate(net.layers):
        for j in range(layer.n_out):
            header = f"module {name}_l{k}_n{j}("
            lines = _neuron_lines(net, k, j)
            if header in text:
                text = text.replace(header, "\n".join(lines) + "\n" + header, 1)
            else:
                argmax += lines
    header = f"module {name}_argmax("
    if argmax and header in text:
        text = text.replace(header, "\n".join(argmax) + "\n" + header, 1)
    return text


def _neuron_lines(net: Network, k: int, j: int) -> list[str]:
    """Comment lines giving neuron ``j`` of layer ``k``: coefficients (with the input bits a
    mask keeps, where it drops some), bias, truncation and activation."""
    layer = net.layers[k]
    terms = " ".join(f"{'+' if w >= 0 else '-'} {abs(w)}*a{i}"
                     + (f"&{layer.masks[j][i]:#x}" if _partial(net, k, i, layer.masks[j][i])
                        else "")
                     for i, w in enumerate(layer.weights[j]) if w)
    bias = layer.biases[j]
    lines = [f"// Layer {k} neuron {j}: acc = {terms or '0'} {'+' if bias >= 0 else '-'} "
             f"{abs(bias)}"]
    if layer.truncation[j]:
        lines.append(f"//   (partial-product bits of the {layer.truncation[j]} lowest columns "
                     "dropped)")
    if layer.activation is not None:
        w = layer.activation[j]
        lines.append(f"//   out = clip(acc >> {w.lsb}, 0, {(1 << w.bits) - 1}) "
                     f"({w.bits}-bit ReLU window)")
    else:
        shift = f" >> {net.argmax_shift}" if net.argmax_shift else ""
        lines.append(f"//   output neuron of class {net.output_classes[j]}: argmax of acc{shift}")
    return lines


def _partial(net: Network, k: int, i: int, mask: int) -> bool:
    """Whether ``mask`` leaves out some bit of layer ``k``'s input ``i``."""
    width = net.input_widths(k)[i]
    return mask & ((1 << width) - 1) != (1 << width) - 1


def design_header(net: Network, *, arch: Architecture | str = "parallel") -> str:
    """The header comment of a design's ``top.v``: ports, input map, class map, timing."""
    arch = check_arch(arch)
    b = net.input_bits
    y_bits = max(1, (net.n_classes - 1).bit_length())
    lines = [
        f"bespoke-mlp {__version__} (Amaranth {_amaranth_version()}, Yosys: see its banner "
        "below)",
        f"bespoke MLP classifier "
        f"{'-'.join(map(str, net.topology))}, {arch.kind} architecture"
        + (f", {arch.lanes} lane(s)" if arch.sequential else ""),
        "",
        "Ports",
        f"  x[{b * net.n_features - 1}:0]  input: the packed {b}-bit unsigned ADC codes, feature "
        f"i at x[{b}*i+{b - 1}:{b}*i] (MSB first)",
        f"  y[{y_bits - 1}:0]  output: the class index, into \"classes\" of network.json "
        "(model.json)",
    ]
    if arch.sequential:
        lines += ["  clk    input: clock (period in constraints.sdc)",
                  "  rst    input: active-high asynchronous reset"]
    lines += ["", "Input map (a raw value v is coded round(clip((v - min) / (max - min), 0, 1)"
                  f" * {(1 << b) - 1}))"]
    lines += _input_map(net)
    if net.dropped_features:
        lines.append(f"  constant data columns dropped before training: "
                     f"{', '.join(map(repr, net.dropped_features))}")
    lines += ["", "Class map of y"]
    lines += [f"  {k} = {c!r}" + ("" if k in net.output_classes else
                                   " (never predicted: its output neuron was removed)")
              for k, c in enumerate(net.classes)]
    lines += ["", "Clock and latency"]
    if arch.sequential:
        cycles = schedule(net, arch.lanes).cycles
        lines += [f"  y is valid {cycles} clock cycles after x is applied (x held meanwhile;",
                  "  the next inference starts by itself)"]
    else:
        lines += ["  combinational: y is valid one critical path after x changes (timing.rpt);",
                  "  the clock in constraints.sdc is the evaluation rate the power assumes"]
    # Names come from data: none may close the comment early.
    return "/*\n" + "".join(f" * {line.replace('*/', '* /')}".rstrip() + "\n"
                             for line in lines) + HEADER_END


def _amaranth_version() -> str:
    try:
        return metadata.version("amaranth")
    except metadata.PackageNotFoundError:
        return "unknown"


def _input_map(net: Network) -> list[str]:
    """One line per feature: its bits of ``x``, name, bits read and recorded range."""
    b = net.input_bits
    names = net.feature_names or tuple(f"x{i}" for i in range(net.n_features))
    extra = {k: v for k, v in net.to_dict().items()
             if k not in _KNOWN and isinstance(v, list) and len(v) == net.n_features}
    lines = []
    for i, r in enumerate(net.feature_resolution):
        lo, hi = b * i, b * i + b - 1
        use = "ignored (the design reads none of its bits)" if r == 0 else (
            f"reads {r} bit(s) x[{hi}:{hi - r + 1}]")
        rng = ""
        if net.feature_min and net.feature_max:
            rng = f"; min {net.feature_min[i]:.6g}, max {net.feature_max[i]:.6g}"
        rng += "".join(f"; {k} {v[i]!r}" for k, v in sorted(extra.items()))
        if net.thresholds and 0 < r < b and net.thresholds[i]:
            cuts = net.thresholds[i][r - 1]
            rng += f"; learned thresholds {', '.join(f'{t:.6g}' for t in cuts)}"
        lines.append(f"  x[{hi}:{lo}]  feature {i} {names[i]!r}: {use}{rng}")
    return lines
