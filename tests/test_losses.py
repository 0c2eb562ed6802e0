import numpy as np
import pytest
from keras import ops

from nst_keras.losses import content_loss, gram_matrix, style_loss, total_variation_loss


def test_gram_of_ones_is_ones():
    gram = ops.convert_to_numpy(gram_matrix(np.ones((2, 5, 7, 3), "float32")))
    assert gram.shape == (2, 3, 3)
    np.testing.assert_allclose(gram, 1.0, rtol=1e-6)


def test_gram_is_symmetric_positive_semidefinite(rng):
    gram = ops.convert_to_numpy(gram_matrix(rng.normal(size=(1, 6, 6, 4)).astype("float32")))[0]
    np.testing.assert_allclose(gram, gram.T, rtol=1e-5, atol=1e-6)
    assert np.linalg.eigvalsh(gram).min() > -1e-5


def test_gram_is_invariant_to_tiling_the_texture(rng):
    # The same texture at a larger size (tiled) has the same normalised Gram matrix.
    tile = rng.random((1, 8, 8, 5)).astype("float32")
    big = np.tile(tile, (1, 4, 4, 1))
    np.testing.assert_allclose(
        ops.convert_to_numpy(gram_matrix(tile)), ops.convert_to_numpy(gram_matrix(big)), rtol=1e-5
    )


def test_gram_matches_numpy(rng):
    f = rng.normal(size=(1, 3, 4, 2)).astype("float32")
    flat = f.reshape(-1, 2)
    np.testing.assert_allclose(ops.convert_to_numpy(gram_matrix(f))[0], flat.T @ flat / 12, rtol=1e-5)


def test_style_loss_zero_at_target_and_positive_elsewhere(rng):
    f = rng.random((1, 8, 8, 4)).astype("float32")
    target = gram_matrix(f)
    assert float(style_loss([f], [target])[0]) == pytest.approx(0.0, abs=1e-7)
    assert float(style_loss([f * 2.0], [target])[0]) == pytest.approx(9.0, rel=1e-4)


def test_style_loss_layer_weights(rng):
    a, b = rng.random((1, 4, 4, 2)).astype("float32"), rng.random((1, 2, 2, 3)).astype("float32")
    targets = [gram_matrix(a * 2), gram_matrix(b)]
    only_first = float(style_loss([a, b], targets, [1.0, 0.0])[0])
    assert only_first == pytest.approx(float(style_loss([a], targets[:1], [1.0])[0]))
    with pytest.raises(ValueError, match="one layer weight"):
        style_loss([a, b], targets, [1.0])


def test_style_loss_is_per_image(rng):
    f = rng.random((3, 4, 4, 2)).astype("float32")
    losses = ops.convert_to_numpy(style_loss([f], [gram_matrix(f[:1])]))
    assert losses.shape == (3,)
    assert losses[0] == pytest.approx(0.0, abs=1e-7) and losses[1] > 0


def test_content_loss_relative_and_scale_free(rng):
    p = rng.random((1, 4, 4, 8)).astype("float32")
    assert float(content_loss([p], [p])[0]) == pytest.approx(0.0, abs=1e-7)
    assert float(content_loss([p * 2], [p])[0]) == pytest.approx(1.0, rel=1e-5)
    assert float(content_loss([p * 20], [p * 10])[0]) == pytest.approx(1.0, rel=1e-5)


def test_total_variation_flat_zero_noise_positive(rng):
    assert float(total_variation_loss(np.full((1, 8, 8, 3), 0.3, "float32"))[0]) == 0.0
    noise = rng.random((1, 16, 16, 3)).astype("float32")
    # For uniform noise each squared neighbour difference averages 1/6.
    assert float(total_variation_loss(noise)[0]) == pytest.approx(2 / 6, rel=0.15)


def test_losses_are_float32_for_bfloat16_inputs(rng):
    f = ops.cast(rng.random((1, 4, 4, 2)), "bfloat16")
    assert ops.dtype(gram_matrix(f)) == "float32"
    assert ops.dtype(total_variation_loss(f)) == "float32"


def _gradient(function, features):
    import tensorflow as tf

    features = tf.constant(features)
    channels = features.shape[-1]
    # Not symmetric, so a gradient that assumed a symmetric upstream would show.
    weights = tf.reshape(tf.range(channels * channels, dtype="float32"), (channels, channels))
    with tf.GradientTape() as tape:
        tape.watch(features)
        value = tf.reduce_sum(tf.sin(function(features)) * weights)
    return tape.gradient(value, features)


def _einsum_gram(features):
    import tensorflow as tf

    features = tf.cast(features, "float32")
    positions = tf.cast(tf.shape(features)[1] * tf.shape(features)[2], "float32")
    return tf.einsum("bhwi,bhwj->bij", features, features) / positions


def test_gram_gradient_equals_automatic_differentiation(rng):
    # The hand-written backward pass is the einsum's gradient, for a batch too.
    features = rng.normal(size=(2, 5, 6, 4)).astype("float32")
    np.testing.assert_allclose(
        ops.convert_to_numpy(_gradient(gram_matrix, features)),
        ops.convert_to_numpy(_gradient(_einsum_gram, features)),
        rtol=1e-5, atol=1e-6,
    )


def test_gram_gradient_under_bfloat16_keeps_the_dtype_and_the_values(rng):
    import tensorflow as tf

    features = tf.cast(rng.random((1, 16, 16, 8)), "bfloat16")
    ours = _gradient(gram_matrix, features)
    assert ours.dtype == tf.bfloat16
    exact = ops.convert_to_numpy(_gradient(_einsum_gram, tf.cast(features, "float32")))
    # bfloat16 keeps 8 significant bits: a relative error of a few 2^-8.
    error = np.abs(ops.convert_to_numpy(tf.cast(ours, "float32")) - exact).max() / np.abs(exact).max()
    assert error < 2e-2


def test_gram_gradient_under_float16_with_loss_scaling_matches_float32(rng):
    # Caffe-scale activations make the relative style loss's gradient tiny; under
    # mixed_float16 it flows loss-scaled (2^15, Keras' initial scale) and must not
    # lose its small entries to float16's range.
    import tensorflow as tf

    features = (rng.random((1, 64, 64, 16)) * 300).astype("float32")
    target = gram_matrix((rng.random((1, 64, 64, 16)) * 300).astype("float32"))

    def gradient(dtype):
        x = tf.cast(tf.constant(features), dtype)
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = style_loss([x], [target]) * 2.0**15
        return ops.convert_to_numpy(tf.cast(tape.gradient(loss, x), "float32"))

    exact, half = gradient("float32"), gradient("float16")
    assert np.abs(half - exact).max() / np.abs(exact).max() < 5e-3
