"""Bring your own model: trained MLP classifiers from ONNX, QONNX and scikit-learn.

:func:`from_onnx` reads a float ONNX MLP (``Gemm``/``MatMul`` + ``Add``, ``Relu``, per-feature
scalers, the classifier post-processing) and quantizes it with the training stage's
quantization, or imports a QONNX model (``Quant``/``BipolarQuant``) exactly; :func:`from_sklearn`
does the same for a fitted ``MLPClassifier``. Both return the integer
:class:`~bespoke_mlp.ir.Network`. :func:`import_model` prepares an ONNX model for the flows
(``generate MODEL.onnx``, ``run --from-model``). Needs the ``onnx`` extra
(``pip install 'bespoke-mlp[onnx]'``).
"""

from ._api import (
    IMPORT_SUFFIXES,
    ImportResult,
    from_onnx,
    from_sklearn,
    import_model,
    load_onnx,
    predict_onnx,
)

__all__ = ["IMPORT_SUFFIXES", "ImportResult", "from_onnx", "from_sklearn", "import_model",
           "load_onnx", "predict_onnx"]
