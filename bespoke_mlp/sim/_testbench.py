"""The generated testbench: input vector files and the Verilog module that applies them.

One testbench drives any number of designs in lockstep (one instance each, ``dut0``,
``dut1``, ...). At step ``i`` every design still having vectors gets its vector ``i`` on ``x``;
after a 1-time-unit delay (combinational logic settles in zero time in Verilator) the testbench
writes ``y`` in decimal, one line per vector, to the design's predictions file. File names are
relative, so the simulator runs in the work directory and the text never depends on where that
is.

With toggle recording, the testbench also writes, per vector, the values of the listed net bits
as 64-bit hexadecimal words (word 0 first, each most significant digit first; bit ``j`` of
word ``w`` is net bit ``64*w + j``), read back by :func:`count_toggles`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import ToolError
from ._netlist import NetBit

__all__ = [
    "TB_MODULE",
    "TbDesign",
    "pack_vectors",
    "render_testbench",
    "count_toggles",
    "read_net_values",
]

TB_MODULE = "bespoke_mlp_tb"
_WORD = 64
_WORDS_PER_WRITE = 16
_HEX_DIGITS = np.frombuffer(b"0123456789abcdef", dtype=np.uint8)
# Character -> hex digit value (255: not a hex digit).
_HEX_VALUES = np.full(256, 255, dtype=np.uint8)
_HEX_VALUES[_HEX_DIGITS] = np.arange(16, dtype=np.uint8)


@dataclass(frozen=True)
class TbDesign:
    """One design as the testbench sees it."""

    top: str
    x_bits: int
    n_vectors: int
    vectors_file: str
    predictions_file: str


def pack_vectors(codes: np.ndarray, input_bits: int) -> bytes:
    """``$readmemh`` text of ``codes``: one line per row, feature ``i`` at bits
    ``[b*i + b-1 : b*i]``, as fixed-width lowercase hexadecimal."""
    n, n_features = codes.shape
    width = n_features * input_bits
    digits = -(-width // 4)
    shifts = np.arange(input_bits, dtype=np.uint64)
    bits = ((codes.astype(np.uint64)[:, :, None] >> shifts) & np.uint64(1)).astype(np.uint8)
    bits = bits.reshape(n, width)
    padded = np.zeros((n, digits * 4), dtype=np.uint8)
    padded[:, :width] = bits
    nibbles = padded.reshape(n, digits, 4) @ np.array([1, 2, 4, 8], dtype=np.uint8)
    lines = np.empty((n, digits + 1), dtype=np.uint8)
    lines[:, :digits] = _HEX_DIGITS[nibbles[:, ::-1]]
    lines[:, digits] = ord("\n")
    return lines.tobytes()


def unpack_vectors(text: str, n_features: int, input_bits: int) -> np.ndarray:
    """Input codes from :func:`pack_vectors` text, shape ``(n, n_features)``."""
    rows = [int(line, 16) for line in text.split()]
    mask = (1 << input_bits) - 1
    return np.array([[(v >> (input_bits * i)) & mask for i in range(n_features)] for v in rows],
                    dtype=np.int64).reshape(len(rows), n_features)


def _toggle_block(nets: Sequence[NetBit], toggles_file: str) -> tuple[list[str], list[str]]:
    """Declarations packing the nets into words, and the statements writing one line."""
    decls = []
    n_words = -(-len(nets) // _WORD)
    for w in range(n_words):
        chunk = nets[w * _WORD:(w + 1) * _WORD]
        items = [f"{{{_WORD - len(chunk)}{{1'b0}}}}"] if len(chunk) < _WORD else []
        items += [net.ref for net in reversed(chunk)]
        body = ",\n    ".join(items)
        decls.append(f"  wire [{_WORD - 1}:0] toggle_word_{w} = {{\n    {body}}};\n")
    writes = []
    for start in range(0, n_words, _WORDS_PER_WRITE):
        words = range(start, min(start + _WORDS_PER_WRITE, n_words))
        fmt = "%h" * len(words)
        args = ", ".join(f"toggle_word_{w}" for w in words)
        writes.append(f'      $fwrite(fd_toggles, "{fmt}", {args});\n')
    writes.append('      $fwrite(fd_toggles, "\\n");\n')
    decls.insert(0, f"  // Net values for toggle counting, written to {toggles_file}.\n")
    return decls, writes


def _open_files(k: int, top: str, x_bits: int, vectors_file: str,
                predictions_file: str) -> list[str]:
    """Testbench lines that check design ``k``'s input port width, load its vectors and open
    its predictions file."""
    # A port width the vectors do not fill would be silently truncated or zero-extended.
    return [
        f"    if ($bits(dut{k}.x) != {x_bits}) begin\n",
        f'      $display("%%Error: design {top}: port x has %0d bits, the vectors '
        f'{x_bits}", $bits(dut{k}.x));\n',
        "      $fatal(1);\n",
        "    end\n",
        f'    $readmemh("{vectors_file}", vectors_{k});\n',
        f'    fd_{k} = $fopen("{predictions_file}", "w");\n',
    ]


def render_testbench(
    designs: Sequence[TbDesign],
    *,
    toggle_nets: Sequence[NetBit] = (),
    toggles_file: str = "",
) -> str:
    """Verilog text of the testbench module :data:`TB_MODULE` for ``designs``.

    ``toggle_nets`` (references into ``dut0``) are written to ``toggles_file`` after every
    vector.
    """
    out = [
        "// Generated by bespoke_mlp.sim: applies input vectors and records the class outputs.\n",
        "// verilator lint_off PINMISSING\n",
        f"module {TB_MODULE};\n",
    ]
    for k, d in enumerate(designs):
        out += [
            f"  reg [{d.x_bits - 1}:0] vectors_{k} [0:{d.n_vectors - 1}];\n",
            f"  reg [{d.x_bits - 1}:0] x_{k};\n",
            f"  integer fd_{k};\n",
            f"  {d.top} dut{k} (.x(x_{k}));\n",
        ]
    toggle_writes: list[str] = []
    if toggle_nets:
        decls, toggle_writes = _toggle_block(toggle_nets, toggles_file)
        out += decls + ["  integer fd_toggles;\n"]
    out += ["  integer i;\n", "  initial begin\n"]
    for k, d in enumerate(designs):
        out += _open_files(k, d.top, d.x_bits, d.vectors_file, d.predictions_file)
    if toggle_nets:
        out.append(f'    fd_toggles = $fopen("{toggles_file}", "w");\n')
    n_steps = max(d.n_vectors for d in designs)
    out.append(f"    for (i = 0; i < {n_steps}; i = i + 1) begin\n")
    for k, d in enumerate(designs):
        guard = "" if d.n_vectors == n_steps else f"if (i < {d.n_vectors}) "
        out.append(f"      {guard}x_{k} = vectors_{k}[i];\n")
    out.append("      #1;\n")
    for k, d in enumerate(designs):
        guard = "" if d.n_vectors == n_steps else f"if (i < {d.n_vectors}) "
        out.append(f'      {guard}$fwrite(fd_{k}, "%0d\\n", dut{k}.y);\n')
    out += toggle_writes
    out.append("    end\n")
    for k in range(len(designs)):
        out.append(f"    $fclose(fd_{k});\n")
    if toggle_nets:
        out.append("    $fclose(fd_toggles);\n")
    out += ["    $finish;\n", "  end\n", "endmodule\n"]
    return "".join(out)


def _toggle_rows(path: Path, n_nets: int, n_vectors: int) -> tuple[np.ndarray, int]:
    """The hex digits of a toggles file, one row per vector, and the 64-bit words per row;
    raises ToolError unless the file holds ``n_vectors`` lines of the right length."""
    n_words = -(-n_nets // _WORD)
    digits = n_words * _WORD // 4
    data = np.fromfile(path, dtype=np.uint8)
    if data.size != n_vectors * (digits + 1):
        raise ToolError(
            f"toggle file {str(path)!r} has {data.size} bytes, expected {n_vectors} lines of "
            f"{digits} hex digits"
        )
    return data.reshape(n_vectors, digits + 1)[:, :digits], n_words


def _nibbles(rows: np.ndarray, path: Path) -> np.ndarray:
    """The values of hex digit characters; raises ToolError on any other character."""
    nib = _HEX_VALUES[rows]
    if (nib == 255).any():
        raise ToolError(f"toggle file {str(path)!r} holds a non-hexadecimal digit")
    return nib


def count_toggles(path: Path, n_nets: int, n_vectors: int) -> np.ndarray:
    """Per-net number of value changes between consecutive vectors, from a toggles file.

    Raises
    ------
    ToolError
        If the file does not hold ``n_vectors`` well-formed lines.
    """
    rows, n_words = _toggle_rows(path, n_nets, n_vectors)
    # Only differences between rows matter, so rows are handled in blocks to bound memory.
    block = max(2, (1 << 24) // (rows.shape[1] * 4))
    counts = np.zeros(n_words * _WORD, dtype=np.int64)
    for start in range(0, n_vectors - 1, block - 1):
        nib = _nibbles(rows[start:start + block], path)
        diff = (nib[1:] ^ nib[:-1]).reshape(-1, n_words, _WORD // 4)[:, :, ::-1]
        flips = np.unpackbits(diff[..., None], axis=-1, bitorder="little")[..., :4]
        counts += flips.reshape(-1, n_words * _WORD).sum(axis=0, dtype=np.int64)
    return counts[:n_nets]


def read_net_values(path: Path, n_nets: int, n_vectors: int) -> np.ndarray:
    """Every net's value after every vector, from a toggles file: shape ``(n_nets,
    ceil(n_vectors / 8))`` uint8, vector ``v`` at bit ``v % 8`` of byte ``v // 8`` (little bit
    order; padding bits 0).

    Raises
    ------
    ToolError
        If the file does not hold ``n_vectors`` well-formed lines.
    """
    rows, n_words = _toggle_rows(path, n_nets, n_vectors)
    # Blocks of a multiple of 8 vectors, so that each block packs into whole bytes.
    block = max(8, ((1 << 24) // (rows.shape[1] * 4)) // 8 * 8)
    packed = []
    for start in range(0, n_vectors, block):
        nib = _nibbles(rows[start:start + block], path)
        nib = nib.reshape(len(nib), n_words, _WORD // 4)[:, :, ::-1]
        bits = np.unpackbits(nib[..., None], axis=-1, bitorder="little")[..., :4]
        bits = bits.reshape(len(nib), n_words * _WORD)[:, :n_nets]
        packed.append(np.packbits(bits.T, axis=1, bitorder="little"))
    return np.concatenate(packed, axis=1)
