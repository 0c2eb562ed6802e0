"""The objective of a model computed whole and in tiles, with the gradients, for tests that compare them."""

import tensorflow as tf

from nst_keras.tiling import TiledObjective


def tiled_and_untiled(model, tile_size, terms=None):
    """``(tiled, untiled, gradient, tiled_losses, tiled_gradient)`` of ``model``'s current image.

    ``tiled`` is the :class:`TiledObjective` (``terms``: the model's own by default).
    """
    image = tf.convert_to_tensor(model.generated_image)
    with tf.GradientTape() as tape:
        tape.watch(image)
        untiled = model.compute_losses(image)
        total = tf.reduce_sum(untiled["loss"])
    gradient = tape.gradient(total, image)
    tiled = TiledObjective(model.feature_extractor, model.loss_settings, tile_size, *([] if terms is None else [terms]))
    tiled_losses, tiled_gradient = tiled.loss_and_gradient(model.generated_image, model.targets)
    return tiled, untiled, gradient, tiled_losses, tiled_gradient
