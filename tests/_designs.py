"""Small handwritten Verilog designs shared by the simulation and synthesis tests."""


def argmax3_verilog(offset: int = 2) -> str:
    """argmax of three linear functions of three 4-bit inputs (``x`` 12 bits, ``y`` 2 bits);
    ties go to the lowest index. ``offset`` is the constant of the first function."""
    return f"""\
module argmax3(x, y);
  input [11:0] x;
  output reg [1:0] y;
  wire signed [9:0] a = {{6'd0, x[3:0]}};
  wire signed [9:0] b = {{6'd0, x[7:4]}};
  wire signed [9:0] c = {{6'd0, x[11:8]}};
  wire signed [9:0] s0 = 3 * a - b + {offset};
  wire signed [9:0] s1 = b + 2 * c - 20;
  wire signed [9:0] s2 = 2 * c - a - b;
  reg signed [9:0] best;
  always @* begin
    y = 2'd0;
    best = s0;
    if (s1 > best) begin y = 2'd1; best = s1; end
    if (s2 > best) begin y = 2'd2; best = s2; end
  end
endmodule
"""
