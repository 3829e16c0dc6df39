// Zero-delay simulation models of the EGFET cells in tech/egfet_1v0.lib: module and pin names
// as in the library, so that a synthesized netlist plus this file simulates (e.g. Verilator).

module INVX1 (input A, output Y);
  assign Y = ~A;
endmodule

module NAND2X1 (input A, input B, output Y);
  assign Y = ~(A & B);
endmodule

module NOR2X1 (input A, input B, output Y);
  assign Y = ~(A | B);
endmodule

module AND2X1 (input A, input B, output Y);
  assign Y = A & B;
endmodule

module OR2X1 (input A, input B, output Y);
  assign Y = A | B;
endmodule

module XOR2X1 (input A, input B, output Y);
  assign Y = A ^ B;
endmodule

module XNOR2X1 (input A, input B, output Y);
  assign Y = ~(A ^ B);
endmodule
