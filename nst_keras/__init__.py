"""nst_keras: neural style transfer (Gatys, Ecker & Bethge 2015) with Keras 3.

The generated image is the one trainable weight of a :class:`StyleTransferModel`;
train it with ``model.fit`` and stock Keras callbacks.

Example:

>>> import nst_keras
>>> content = nst_keras.load_image("photo.jpg", size=256)        # doctest: +SKIP
>>> style = nst_keras.load_image("painting.jpg", size=256)       # doctest: +SKIP
>>> model = nst_keras.StyleTransferModel(content, style)         # doctest: +SKIP
>>> model.compile()                                              # doctest: +SKIP
>>> history = model.fit(epochs=5, steps_per_epoch=50)            # doctest: +SKIP
>>> nst_keras.save_image("out.png", model.generated_image_array())  # doctest: +SKIP

Public names are imported on first use, so ``import nst_keras`` (and the
command line's input checks) do not pay for importing TensorFlow.
"""

from nst_keras.lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "StyleTransferModel": "nst_keras.model",
    "FeatureExtractor": "nst_keras.features",
    "stylize": "nst_keras.stylize",
    "StylizeResult": "nst_keras.stylize",
    "gram_matrix": "nst_keras.losses",
    "style_loss": "nst_keras.losses",
    "content_loss": "nst_keras.losses",
    "total_variation_loss": "nst_keras.losses",
    "ImageCheckpoint": "nst_keras.callbacks",
    "BestImage": "nst_keras.callbacks",
    "TensorBoardImage": "nst_keras.callbacks",
    "load_image": "nst_keras.images",
    "save_image": "nst_keras.images",
    "ImageError": "nst_keras.images",
    "resolve_weights": "nst_keras.weights",
    "export_saved_model": "nst_keras.export",
    "resolve_precision": "nst_keras.precision",
    "LBFGS": "nst_keras.optimizers",
    "IterateAveraging": "nst_keras.averaging",
    "WeightsError": "nst_keras.weights",
    "WeightsWarning": "nst_keras.weights",
    "fetch_weights": "nst_keras.weights",
    "StylizeSettings": "nst_keras.settings",
    "LossSettings": "nst_keras.settings",
    "RunSettings": "nst_keras.settings",
    "ImageSettings": "nst_keras.settings",
}

__all__ = sorted(_EXPORTS) + ["__version__"]

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS, extra=["__version__"])
