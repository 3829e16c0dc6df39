// Self-checking testbench of bespoke_mlp: applies each vector of vectors.hex to x,
// compares y with the golden model's class in expected.hex, prints PASS or FAIL
// with the counts, and ends with $fatal (a non-zero exit) on any difference.
// It names no internal net: run it on top.v, or on netlist.v with cells.v.
module bespoke_mlp_tb;
  localparam N = 1470;
  reg [43:0] vectors [0:N-1];
  reg [2:0] expected [0:N-1];
  reg [43:0] x;
  wire [2:0] y;
  integer i, c, errors;
  bespoke_mlp dut (.x(x), .y(y));
  initial begin
    $readmemh("vectors.hex", vectors);
    $readmemh("expected.hex", expected);
    errors = 0;
    for (i = 0; i < N; i = i + 1) begin
      x = vectors[i];
      #1;
      if (y !== expected[i]) begin
        errors = errors + 1;
        if (errors <= 10)
          $display("vector %0d: x = %h, y = %0d, expected %0d", i, x, y, expected[i]);
      end
    end
    if (errors == 0) begin
      $display("PASS: bespoke_mlp: %0d of %0d vectors give the golden model's class", N, N);
      $finish;
    end else begin
      $display("FAIL: bespoke_mlp: %0d of %0d vectors differ from the golden model", errors, N);
      $fatal(1, "FAIL");
    end
  end
endmodule
