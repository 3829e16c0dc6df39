// Zero-delay simulation models of the cells of egfet_1v0 (egfet_1v0.lib),
// written by bespoke_mlp.synth from the Liberty functions.

module AND2X1 (input A, input B, output Y);
  assign Y = A & B;
endmodule

module INVX1 (input A, output Y);
  assign Y = ~A;
endmodule

module NAND2X1 (input A, input B, output Y);
  assign Y = ~(A & B);
endmodule

module NOR2X1 (input A, input B, output Y);
  assign Y = ~(A | B);
endmodule

module OR2X1 (input A, input B, output Y);
  assign Y = A | B;
endmodule

module XNOR2X1 (input A, input B, output Y);
  assign Y = ~(A ^ B);
endmodule

module XOR2X1 (input A, input B, output Y);
  assign Y = A ^ B;
endmodule

module DFFNRX1 (input CP, input D, input RST_N, output Q, output Q_bar);
  reg IQ;
  always @(posedge CP or negedge RST_N)
    if (~RST_N) IQ <= 1'b0; else IQ <= D;
  assign Q = IQ;
  assign Q_bar = ~IQ;
endmodule

module DFFX1 (input CP, input D, output Q, output Q_bar);
  reg IQ;
  always @* if (CP) IQ = D;
  assign Q = IQ;
  assign Q_bar = ~IQ;
endmodule
