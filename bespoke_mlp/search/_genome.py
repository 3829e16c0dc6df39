"""The design space searched: an integer genome that stands for an :class:`ApproxConfig` and
decodes, a whole batch at once, to the arrays of the networks it describes."""

from __future__ import annotations

from functools import cached_property, lru_cache

import numpy as np

from ..approx import (
    CSD_LIMIT,
    MAX_DIGITS,
    ApproxConfig,
    LayerApprox,
    nearest_csd_table,
    round_to_step,
    weight_step,
)
from ..ir import (
    Network,
    linear_form_arrays,
    signed_width,
    trailing_zeros,
    truncation_compensation,
)
from ._decoded import Decoded, signed_widths
from ._evaluate import predict_batch
from ._features import adc_comparator_counts, cost_features
from ._importance import top_k_sizes

__all__ = ["DATAPATH_LADDER", "EXACT_GENE", "SearchSpace"]

#: Digit genes run 0..EXACT_GENE; the top value keeps the coefficient exact.
EXACT_GENE = 4
_MAX_TRUNCATION = 10
#: Bits a hidden activation window may lose.
_MAX_NARROWING = 6
#: Datapath genes: significant bits of a layer's coefficients run 2.._MAX_WEIGHT_BITS; one
#: more keeps them exact.
_MAX_WEIGHT_BITS = 8
#: Steps of :meth:`SearchSpace.datapath_ladder`: (coefficient bits, operand bits) fewer. An
#: operand step comes with a coefficient step: narrowing the windows rescales the next
#: layer's coefficients, which its coefficient step divides out again. Measured on Pendigits
#: (16-5-10, two lanes, retrained): 7 to 6 coefficient bits and 8 to 6 operand bits, then
#: to 5 and 5, kept the selection-part loss at 0.22 points.
DATAPATH_LADDER = ((1, 0), (1, 1), (1, 2), (2, 0), (2, 1))


class SearchSpace:
    """Genes over an exact quantized network.

    Per nonzero coefficient: a CSD digit budget (0 prunes, ``EXACT_GENE`` keeps it exact) and
    the number of low input bits dropped from its mask. Per neuron: truncated columns. Per hidden
    neuron: activation bits (the window keeps its msb) and removal. Then the argmax bits and, per
    feature, the input precision.

    ``feature_order`` (features by decreasing importance, :func:`feature_importance`) adds
    narrow seeds that keep only the ``k`` most important features the network reads, for
    each ``k`` of :func:`top_k_sizes`: a wide dataset's search then starts at few ADCs too.

    ``class_counts`` (how often the network predicts each of its outputs on train samples)
    adds class removal: one gene removes the ``g`` least predicted output neurons (ties: the
    higher class first), for ``g`` up to the most whose predictions make up at most
    ``max_class_share`` of the samples (beyond, every candidate would break a loss
    constraint of that share against the network's predictions), keeping two outputs. Then
    the exact and power-of-two designs with that most removed seed the search too.

    ``datapath`` adds the folded datapath's widths: per layer, the significant bits kept of its
    coefficients (:class:`~bespoke_mlp.approx.LayerApprox` ``weight_bits``; the shared
    coefficient word), and one operand width that caps every feature's input precision and
    every hidden activation's bits (the shared operand). Single coefficients and features
    cannot narrow a shared multiply-accumulate unit; these genes do it in one move.
    """

    def __init__(self, net: Network, input_stats: tuple[np.ndarray, int],
                 feature_order: np.ndarray | None = None,
                 class_counts: np.ndarray | None = None, max_class_share: float = 0.0,
                 datapath: bool = False):
        self.net = net
        self.input_stats = input_stats
        self.feature_order = None if feature_order is None else _check_order(
            feature_order, net.n_features)
        self.class_order = _class_order(class_counts, net.layers[-1].n_out, max_class_share)
        self._conns = [np.argwhere(np.array(layer.weights) != 0) for layer in net.layers]
        lo, hi, names = [], [], []

        def gene(name: str, low: int, high: int) -> int:
            names.append(name)
            lo.append(low)
            hi.append(high)
            return len(names) - 1

        self._digit_genes, self._drop_genes, self._trunc_genes = [], [], []
        self._bits_genes, self._removed_genes = [], []
        for k, layer in enumerate(net.layers):
            widths = net.input_widths(k)
            digits, drops = [], []
            for j, i in self._conns[k]:
                digits.append(gene(f"l{k}.w{j}.{i}.digits", 0, EXACT_GENE))
                drops.append(gene(f"l{k}.w{j}.{i}.drop", 0, widths[i] - 1))
            self._digit_genes.append(np.array(digits, dtype=np.int64))
            self._drop_genes.append(np.array(drops, dtype=np.int64))
            # An approximated network's truncation is the floor: the space only adds to it.
            self._trunc_genes.append(np.array(
                [gene(f"l{k}.n{j}.trunc", t, max(t, _MAX_TRUNCATION))
                 for j, t in enumerate(layer.truncation)]))
            if layer.activation is not None:
                # Narrowing a window by s bits scales the next layer's coefficients by 2**s:
                # they must stay within the rounding tables (an approximated base network
                # may already have been narrowed).
                fan_out = np.abs(np.array(net.layers[k + 1].weights)).max(axis=0)
                shifts = [min(_MAX_NARROWING, int(np.log2(CSD_LIMIT / m)) if m else
                              _MAX_NARROWING) for m in fan_out]
                self._bits_genes.append(np.array(
                    [gene(f"l{k}.n{j}.bits", max(1, min(w.bits, w.bits - s)), w.bits)
                     for j, (w, s) in enumerate(zip(layer.activation, shifts))]))
                self._removed_genes.append(np.array(
                    [gene(f"l{k}.n{j}.removed", 0, 1) for j in range(layer.n_out)]))
        self._out_width = max(signed_width(*r) for r in self._exact_ranges(net))
        self._argmax_gene = gene("argmax_bits", 2, self._out_width)
        self._classes_gene = (gene("classes.removed", 0, len(self.class_order))
                              if len(self.class_order) else None)
        self._precision_genes = np.array(
            [gene(f"x{i}.bits", 0, net.input_bits) for i in range(net.n_features)])
        self._wbits_genes = np.array(
            [gene(f"l{k}.weight_bits", 2, _MAX_WEIGHT_BITS + 1) for k in range(len(net.layers))]
            if datapath else [], dtype=np.int64)
        widest = max(max(net.input_widths(k)) for k in range(len(net.layers)))
        self._operand_gene = gene("operand.bits", 1, widest) if datapath else None
        self._weights = [np.array(layer.weights, dtype=np.int64) for layer in net.layers]
        self._masks = [np.array(layer.masks, dtype=np.int64) for layer in net.layers]
        self._biases = [np.array(layer.biases, dtype=np.int64) for layer in net.layers]
        self._base_trunc = [np.array(layer.truncation, dtype=np.int64) for layer in net.layers]
        self._msb = [np.array([w.msb for w in layer.activation], dtype=np.int64)
                     for layer in net.layers[:-1]]
        self._lsb = [np.array([w.lsb for w in layer.activation], dtype=np.int64)
                     for layer in net.layers[:-1]]
        self.names = tuple(names)
        self.lower = np.array(lo, dtype=np.int64)
        self.upper = np.array(hi, dtype=np.int64)

    @staticmethod
    def _exact_ranges(net: Network) -> list[tuple[int, int]]:
        from ..ir import accumulator_range

        last = net.layers[-1]
        return [accumulator_range(last, j) for j in range(last.n_out)]

    @property
    def n_genes(self) -> int:
        return len(self.names)

    @cached_property
    def exact(self) -> np.ndarray:
        """The genome of the exact design."""
        x = self.upper.copy()
        for n, name in enumerate(self.names):
            if name.endswith((".drop", ".trunc", ".removed")):
                x[n] = self.lower[n]
        return x

    def seeds(self) -> np.ndarray:
        """Sensible starting points: exact, power-of-two, and progressively pruned designs;
        with the datapath genes, the :meth:`datapath_ladder`; with a ``feature_order``, then
        the exact and power-of-two designs narrowed to the top ``k`` features for each ``k``
        of :meth:`narrow_sizes` (the last ``2 * len(narrow_sizes())`` rows)."""
        exact = self.exact
        po2 = exact.copy()
        digits = np.array([n.endswith(".digits") for n in self.names])
        po2[digits] = 1
        out = [exact, po2]
        for keep in (2, 1):
            x = po2.copy()
            x[digits] = np.minimum(po2[digits], keep)
            drops = np.array([n.endswith(".drop") for n in self.names])
            x[drops] = np.minimum(self.upper[drops], 4 - keep)
            out.append(x)
        if self._classes_gene is not None:
            for x in (exact, po2):
                fewer = x.copy()
                fewer[self._classes_gene] = self.upper[self._classes_gene]
                out.append(fewer)
        out += list(self.datapath_ladder())
        for k in self.narrow_sizes():
            for x in (exact, po2):
                narrow = x.copy()
                narrow[self._precision_genes] = self.top_k_precision(k)
                out.append(narrow)
        return np.array(out)

    def datapath_ladder(self) -> np.ndarray:
        """The exact design with a narrower folded datapath, one step from the base network's
        own widths: ``(dw, da)`` of :data:`DATAPATH_LADDER` fewer significant coefficient
        bits in every layer and operand bits (none without the datapath genes). A search
        round retrains them too: coarse widths lose accuracy that retraining recovers, which
        a candidate's score before retraining does not see."""
        if self._operand_gene is None:
            return np.zeros((0, self.n_genes), dtype=np.int64)
        # Significant bits of each layer's coefficients (its common power of two aside).
        sig = []
        for w in self._weights:
            top = int(np.abs(w).max())
            sig.append(top.bit_length() - int(trailing_zeros(w.ravel())) if top else 1)
        widest = self.upper[self._operand_gene]
        out = []
        for dw, da in DATAPATH_LADDER:
            x = self.exact.copy()
            if dw:
                x[self._wbits_genes] = np.clip(np.array(sig) - dw, 2, _MAX_WEIGHT_BITS + 1)
            x[self._operand_gene] = max(1, widest - da)
            out.append(x)
        return np.array(out)

    def narrow_sizes(self) -> tuple[int, ...]:
        """The feature counts of the narrow seeds (none without a ``feature_order``)."""
        return () if self.feature_order is None else top_k_sizes(self.net.n_used_features)

    def top_k_precision(self, k: int) -> np.ndarray:
        """Per-feature input bits that keep the ``k`` most important features the network
        reads (full precision) and drop the others."""
        if self.feature_order is None:
            raise ValueError("top_k_precision needs a feature_order")
        read = np.array(self.net.feature_resolution) > 0
        order = [i for i in self.feature_order if read[i]]
        bits = np.zeros(self.net.n_features, dtype=np.int64)
        bits[order[:k]] = self.net.input_bits
        return bits

    # -- decoding -------------------------------------------------------------------------

    def config(self, x: np.ndarray) -> ApproxConfig:
        """The approximation configuration a genome stands for."""
        x = np.asarray(x, dtype=np.int64)
        it = iter(x.tolist())
        net = self.net
        cap = None if self._operand_gene is None else int(x[self._operand_gene])
        wbits = [None if b > _MAX_WEIGHT_BITS else int(b) for b in x[self._wbits_genes]]
        layers, removed = [], []
        for k, layer in enumerate(net.layers):
            widths = net.input_widths(k)
            digits = np.full((layer.n_out, layer.n_in), MAX_DIGITS, dtype=np.int64)
            masks = np.array(layer.masks, dtype=np.int64)
            for j, i in self._conns[k]:
                d, drop = next(it), next(it)
                digits[j, i] = MAX_DIGITS if d == EXACT_GENE else d
                masks[j, i] &= ((1 << widths[i]) - 1) & ~((1 << drop) - 1)
            trunc = tuple(next(it) for _ in range(layer.n_out))
            windows = None
            if layer.activation is not None:
                floor = self.lower[self._bits_genes[k]]
                windows = tuple(
                    (w.msb, w.msb - self._capped(next(it), lo, cap) + 1)
                    for w, lo in zip(layer.activation, floor.tolist())
                )
                removed.append(tuple(j for j in range(layer.n_out) if next(it)))
            layers.append(LayerApprox(digits=digits, masks=masks, truncation=trunc,
                                      windows=windows,
                                      weight_bits=wbits[k] if wbits else None))
        argmax_bits = next(it)
        n_removed = 0 if self._classes_gene is None else next(it)
        outputs = net.output_classes
        removed_classes = tuple(outputs[j] for j in self.class_order[:n_removed])
        precision = tuple(next(it) if cap is None else min(next(it), cap)
                          for _ in range(net.n_features))
        # A hidden layer keeps at least one neuron.
        removed = [r[1:] if len(r) == net.layers[k].n_out else r for k, r in enumerate(removed)]
        return ApproxConfig(
            layers=tuple(layers), input_precision=precision, removed_neurons=tuple(removed),
            argmax_bits=None if argmax_bits >= self._out_width else argmax_bits,
            removed_classes=removed_classes,
        )

    @staticmethod
    def _capped(bits, floor, cap):
        """Activation bits under the operand width ``cap`` (``None``: no cap), never below
        the gene's ``floor``."""
        return bits if cap is None else np.maximum(floor, np.minimum(bits, cap))

    def decode(self, x: np.ndarray) -> Decoded:
        """Array form of ``apply_config(net, config(g), input_stats)`` for each genome ``g`` of
        ``x`` (one genome or a ``(P, n_genes)`` batch), computed directly from the genes.

        Removed neurons stay, with zero outgoing weights (the same function); every layer's bit
        layout uses the exact design's input width (masks clear the bits a candidate drops).
        """
        x = np.atleast_2d(np.asarray(x, dtype=np.int64))
        n = len(x)
        net = self.net
        weights = [np.repeat(w[None], n, axis=0) for w in self._weights]
        masks = [np.repeat(m[None], n, axis=0) for m in self._masks]
        widths = [max(net.input_widths(k)) for k in range(len(net.layers))]
        cap = None if self._operand_gene is None else x[:, self._operand_gene][:, None]
        lsb, bits, alive = [], [], []
        for k in range(len(net.layers) - 1):
            b = self._capped(x[:, self._bits_genes[k]], self.lower[self._bits_genes[k]], cap)
            new_lsb = self._msb[k] - b + 1
            weights[k + 1] <<= (new_lsb - self._lsb[k])[:, None, :]
            masks[k + 1] &= ((1 << b) - 1)[:, None, :]
            removed = x[:, self._removed_genes[k]].astype(bool)
            removed[removed.all(axis=1), 0] = False  # a hidden layer keeps one neuron
            weights[k + 1] = np.where(removed[:, None, :], 0, weights[k + 1])
            lsb.append(new_lsb)
            bits.append(b)
            alive.append(~removed)
        alive.append(self._outputs_alive(x))
        p = x[:, self._precision_genes]
        if cap is not None:
            p = np.minimum(p, cap)
        masks[0] &= (((1 << p) - 1) << (net.input_bits - p))[:, None, :]
        tables = _rounding_tables()
        trunc, biases = [], []
        for k, layer in enumerate(net.layers):
            rows, cols = self._conns[k][:, 0], self._conns[k][:, 1]
            d = x[:, self._digit_genes[k]]
            w = weights[k][:, rows, cols]
            rounded = tables[np.minimum(d, EXACT_GENE - 1), np.clip(w, -CSD_LIMIT, CSD_LIMIT)
                             + CSD_LIMIT]
            weights[k][:, rows, cols] = np.where(d >= EXACT_GENE, w, rounded)
            step = np.zeros(n, dtype=np.int64)
            if len(self._wbits_genes):
                wb = x[:, self._wbits_genes[k]]
                step = np.where(wb > _MAX_WEIGHT_BITS, 0, weight_step(
                    np.where(alive[k][:, :, None], weights[k], 0), wb))
                weights[k] = round_to_step(weights[k], step[:, None, None])
            masks[k][:, rows, cols] &= ~((1 << x[:, self._drop_genes[k]]) - 1)
            masks[k] = np.where(weights[k] == 0, 0, masks[k])
            t = x[:, self._trunc_genes[k]]
            ones, total = (self.input_stats if k == 0
                           else (np.ones((layer.n_in, widths[k]), np.int64), 2))
            trunc.append(t)
            comp = truncation_compensation(weights[k], masks[k], t, widths[k], ones, total)
            if self._base_trunc[k].any():
                # The base biases already hold the compensation of the base truncation.
                base = np.broadcast_to(self._base_trunc[k], t.shape)
                comp = comp - truncation_compensation(weights[k], masks[k], base, widths[k],
                                                       ones, total)
            if k == len(net.layers) - 1:
                comp = round_to_step(self._biases[k] + comp, step[:, None]) - self._biases[k]
            biases.append(self._biases[k] + comp)
        coef, const = linear_form_arrays(weights[-1], masks[-1], trunc[-1], biases[-1],
                                         widths[-1])
        # The argmax bits count from the widest output that remains.
        top = np.where(alive[-1], signed_widths(const + np.minimum(coef, 0).sum(axis=1),
                                                const + np.maximum(coef, 0).sum(axis=1)),
                       0).max(axis=1)
        argmax_bits = x[:, self._argmax_gene]
        shift = np.where(argmax_bits < self._out_width, np.maximum(0, top - argmax_bits),
                         net.argmax_shift)
        return Decoded(tuple(weights), tuple(masks), tuple(trunc), tuple(biases), tuple(widths),
                       tuple(lsb), tuple(bits), tuple(alive), shift,
                       np.array(net.output_classes, dtype=np.int64))

    def _outputs_alive(self, x: np.ndarray) -> np.ndarray:
        """Which output neurons each genome of ``x`` keeps ``(P, n_out)``."""
        alive = np.ones((len(x), self.net.layers[-1].n_out), dtype=bool)
        if self._classes_gene is not None:
            # Rank of each output in the removal order: removed when below the gene.
            rank = np.full(alive.shape[1], len(self.class_order), dtype=np.int64)
            rank[self.class_order] = np.arange(len(self.class_order))
            alive &= rank[None, :] >= x[:, self._classes_gene][:, None]
        return alive

    def predict(self, d: Decoded, codes: np.ndarray) -> np.ndarray:
        """Class indices ``(P, n_samples)`` of decoded candidates (:func:`predict_batch`); of
        resolution codes, a network without thresholds reads the full-resolution ones."""
        codes = np.asarray(codes)
        if codes.ndim == 3 and not self.net.thresholds:
            codes = codes[:, -1]
        return predict_batch(d, codes)

    def cost_features(self, d: Decoded) -> np.ndarray:
        """Hardware features of each candidate (:func:`cost_features`)."""
        return cost_features(d)

    def adc_comparators(self, d: Decoded) -> np.ndarray:
        """Flash-ADC comparators of each candidate (:func:`adc_comparator_counts`)."""
        return adc_comparator_counts(d)


def _class_order(counts: np.ndarray | None, n_out: int, max_share: float) -> np.ndarray:
    """The output neurons class removal may remove, least predicted first (see
    :class:`SearchSpace`)."""
    if counts is None:
        return np.zeros(0, dtype=np.int64)
    counts = np.asarray(counts, dtype=np.int64)
    if counts.shape != (n_out,) or (counts < 0).any():
        raise ValueError(f"class_counts must be {n_out} counts >= 0, got {counts.tolist()!r}")
    # Least predicted first; among equals the higher class, so the lower ones keep ties.
    order = np.lexsort((-np.arange(n_out), counts))
    share = np.cumsum(counts[order]) / max(1, counts.sum())
    k = min(n_out - 2, int(np.sum(share <= max_share + 1e-12)))
    return order[:max(0, k)].astype(np.int64)


def _check_order(order: np.ndarray, n_features: int) -> np.ndarray:
    order = np.asarray(order, dtype=np.int64)
    if sorted(order.tolist()) != list(range(n_features)):
        raise ValueError(f"feature_order must be a permutation of 0..{n_features - 1}, "
                         f"got {order.tolist()!r}")
    return order


@lru_cache(maxsize=1)
def _rounding_tables() -> np.ndarray:
    """``table[d, w + CSD_LIMIT]``: ``w`` rounded to at most ``d`` CSD digits (``d`` below
    ``EXACT_GENE``)."""
    return np.stack([nearest_csd_table(d) for d in range(EXACT_GENE)])
