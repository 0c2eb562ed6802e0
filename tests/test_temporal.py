"""The warp and the temporal loss term: exact shifts, a loss that falls, a steadier network."""

import numpy as np
import pytest
import tensorflow as tf

from nst_keras import objective, warping
from nst_keras.fast import StyleNetwork, StyleNetworkTrainer
from nst_keras.settings import LossSettings

LAYERS = dict(style_layer_names=["block1_conv1", "block2_conv1"], content_layer_names=["block2_conv2"])


def test_the_warp_moves_by_a_known_shift_exactly():
    image = np.random.default_rng(0).random((2, 9, 11, 3), dtype=np.float32)
    flow = np.zeros((2, 9, 11, 2), np.float32)
    flow[..., 0], flow[..., 1] = 3.0, -2.0  # read 3 px to the right and 2 px up
    moved = warping.warp(image, flow).numpy()
    np.testing.assert_array_equal(moved[:, 2:, :8], image[:, :7, 3:])
    mask = warping.valid_mask(flow).numpy()[..., 0]
    assert mask[:, 2:, :8].min() == 1.0 and mask[:, :2].max() == 0.0 and mask[:, :, 8:].max() == 0.0


def test_a_half_pixel_shift_averages_neighbours():
    image = np.arange(4, dtype=np.float32).reshape(1, 1, 4, 1)
    flow = np.zeros((1, 1, 4, 2), np.float32)
    flow[..., 0] = 0.5
    np.testing.assert_allclose(warping.warp(image, flow).numpy()[0, 0, :3, 0], [0.5, 1.5, 2.5])


def test_the_term_is_zero_for_a_result_that_follows_the_motion_and_off_by_default():
    assert "temporal" not in [term.name for term in objective.active_terms(LossSettings())]
    term = objective.TemporalTerm()
    image = np.random.default_rng(1).random((1, 8, 10, 3), dtype=np.float32)
    flow = np.zeros((1, 8, 10, 2), np.float32)
    flow[..., 0] = 2.0
    moved = warping.warp(image, flow)
    target = [moved, warping.valid_mask(flow), flow]
    assert float(term.value(image, None, target, None)[0]) == 0.0
    assert float(term.value(1.0 - image, None, target, None)[0]) > 0.0
    # Without a previous frame or a network to make one, there is nothing to follow.
    context = objective.TargetContext(LossSettings(), content=image)
    assert float(term.value(image, None, term.target(context), None)[0]) == 0.0


def test_the_model_takes_the_previous_frame_as_a_target_input():
    from nst_keras.model import StyleTransferModel

    rng = np.random.default_rng(2)
    content, style = rng.random((32, 32, 3), dtype=np.float32), rng.random((32, 32, 3), dtype=np.float32)
    model = StyleTransferModel(content, style, network="vgg16", weights=None, temporal_weight=10.0, **LAYERS,
                               target_inputs={"previous_frame": content, "previous_mask": np.ones((32, 32, 1))})
    assert float(model.compute_losses()["temporal_loss"][0]) == 0.0  # it starts from the content
    model.set_content(content, initial=1.0 - content,
                      target_inputs={"previous_frame": content, "previous_mask": np.ones((32, 32, 1))})
    assert float(model.compute_losses()["temporal_loss"][0]) > 0.0
    assert model.get_config()["temporal_weight"] == 10.0
    with pytest.raises(ValueError, match="target_inputs"):
        model.set_content(content, target_inputs={"previous_frames": content})


def _trainer(temporal_weight, seed=0):
    import keras

    keras.utils.set_random_seed(seed)
    style = np.random.default_rng(3).random((32, 32, 3), dtype=np.float32)
    trainer = StyleNetworkTrainer(StyleNetwork(filters=8, residual_blocks=1), style, network="vgg16", weights=None,
                                  temporal_weight=temporal_weight, **LAYERS)
    trainer.compile(optimizer=__import__("keras").optimizers.Adam(3e-3))
    return trainer


def _photos():
    from _video_helpers import texture

    return np.stack([texture(seed, (32, 32, 3)) for seed in range(4)]).astype(np.float32) / 255.0


@pytest.mark.slow
def test_the_temporal_loss_falls_in_training():
    trainer = _trainer(50.0)
    photos = _photos()

    def temporal_loss():
        tf.random.set_seed(5)  # the same synthetic pairs before and after
        return float(np.mean(trainer.compute_losses(photos)["temporal_loss"]))

    before = temporal_loss()
    history = trainer.fit(tf.data.Dataset.from_tensors(photos).repeat(), epochs=1, steps_per_epoch=30, verbose=0)
    assert "temporal_loss" in history.history
    assert temporal_loss() < 0.7 * before


@pytest.mark.slow
def test_a_network_trained_with_the_term_is_steadier_on_a_pan():
    from _video_helpers import needs_video, texture

    if needs_video.args[0]:
        pytest.skip(needs_video.kwargs["reason"])
    from nst_keras.fast import stylize_with_network
    from nst_keras.video.flow import warping_error
    from nst_keras.video.synthetic import camera_clip

    photos = tf.data.Dataset.from_tensors(_photos()).repeat()
    pan = camera_clip(texture(9, (96, 160, 3)), width=64, height=48, frames=8, pan=(0.15, 0.05), zoom=(1.3, 1.4))
    errors = {}
    for weight in (0.0, 50.0):
        trainer = _trainer(weight)
        trainer.fit(photos, epochs=1, steps_per_epoch=40, verbose=0)
        outputs = np.round(stylize_with_network(trainer.style_network, pan) * 255).astype(np.uint8)
        errors[weight] = warping_error(outputs, pan)
    assert errors[50.0] < errors[0.0]
