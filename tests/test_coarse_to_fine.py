"""stylize(): coarse-to-fine scales and the quality options wired through it."""

import keras
import numpy as np
import pytest
from keras import ops

from nst_keras import scales as schedules
from nst_keras.callbacks import ImageCheckpoint
from nst_keras.color import match_color_histogram, rgb_to_yiq
from nst_keras.model import StyleTransferModel
from nst_keras.optimizers import LBFGS
from nst_keras.settings import StylizeSettings
from nst_keras.stylize import stylize

TINY = dict(network="vgg16", weights=None)


class Starts(keras.callbacks.Callback):
    """Record each fit's starting and final image."""

    def __init__(self):
        super().__init__()
        self.starts, self.ends, self.epochs = [], [], []

    def on_train_begin(self, logs=None):
        self.starts.append(self.model.generated_image_array().copy())

    def on_epoch_end(self, epoch, logs=None):
        self.epochs.append(epoch)

    def on_train_end(self, logs=None):
        self.ends.append(self.model.generated_image_array().copy())


def test_auto_schedule():
    assert schedules.auto_scales(512) == [128, 256, 512]
    assert schedules.auto_scales(1000) == [250, 500, 1000]
    assert schedules.auto_scales(200) == [200]
    assert schedules.auto_scales(64, min_scale=16) == [16, 32, 64]
    assert schedules.epochs_per_scale(10, 3) == [10, 5, 3]
    assert schedules.epochs_per_scale(1, 3) == [1, 1, 1]


@pytest.mark.parametrize("bad", [[64, 32], [32, 32], [], [0, 32], "big"])
def test_bad_scales(bad, tiny_content, tiny_style):
    with pytest.raises(ValueError, match="Expected `scales`"):
        stylize(tiny_content, tiny_style, scales=bad, epochs=1, steps_per_epoch=1, **TINY)


def test_coarse_to_fine_ends_at_the_requested_size(rng, tiny_style):
    content = rng.random((60, 90, 3), dtype=np.float32)
    record = Starts()
    # ema_decay=None: `record` sees each scale's last iterate, which then seeds the next scale.
    result = stylize(content, tiny_style, scales=[32, 48, 64], epochs=2, steps_per_epoch=1,
                     callbacks=[record], ema_decay=None, **TINY)
    assert result.scales == [32, 48, 64]
    assert result.image.shape == (43, 64, 3)  # the requested long side, aspect ratio kept
    assert tuple(result.model.generated_image.shape) == (1, 43, 64, 3)
    assert [s.shape[:2] for s in record.starts] == [(32, 48), (32, 48), (43, 64)]
    assert [len(h.epoch) for h in result.histories] == [2, 1, 1]  # epochs halve at finer scales
    assert len(result.history.history["loss"]) == 4
    assert record.epochs == [0, 1, 2, 3]  # epochs are numbered on across scales
    assert result.scale_boundaries == [2, 3]
    # Each scale starts from the previous scale's result, upsampled.
    for previous, start in zip(record.ends, record.starts[1:]):
        upsampled = ops.image.resize(previous[None], start.shape[:2], interpolation="bicubic", antialias=True)
        np.testing.assert_allclose(start, np.clip(ops.convert_to_numpy(upsampled)[0], 0, 1), atol=1e-5)
    assert not np.allclose(record.starts[1], content[:32, :48], atol=0.05)


def test_single_scale_is_the_default(tiny_content, tiny_style):
    result = stylize(tiny_content, tiny_style, epochs=2, steps_per_epoch=1, **TINY)
    assert result.scales == [48] and result.image.shape == (32, 48, 3)
    assert len(result.histories) == 1 and result.scale_boundaries == []


def test_epochs_per_scale_and_checkpoints_across_scales(tmp_path, rng, tiny_style):
    content = rng.random((48, 64, 3), dtype=np.float32)
    checkpoint = ImageCheckpoint(str(tmp_path / "{epoch:02d}.png"))
    result = stylize(content, tiny_style, scales=[32, 64], epochs_per_scale=[1, 2], steps_per_epoch=1,
                     callbacks=[checkpoint], **TINY)
    assert [len(h.epoch) for h in result.histories] == [1, 2]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["01.png", "02.png", "03.png"]
    with pytest.raises(ValueError, match="epochs_per_scale"):
        stylize(content, tiny_style, scales=[32, 64], epochs_per_scale=[1], **TINY)


def test_luminance_mode_through_stylize(rng, tiny_style):
    content = (0.35 + 0.3 * rng.random((32, 32, 3))).astype(np.float32)
    result = stylize(content, tiny_style, preserve_color="luminance", epochs=1, steps_per_epoch=3, **TINY)
    np.testing.assert_allclose(rgb_to_yiq(result.image)[..., 1:], rgb_to_yiq(content)[..., 1:], atol=2e-3)
    stylised = result.model.generated_image_array()
    np.testing.assert_allclose(rgb_to_yiq(result.image)[..., 0], rgb_to_yiq(stylised)[..., 0], atol=2e-3)


def test_histogram_mode_through_stylize(tiny_content, tiny_style):
    keras.utils.set_random_seed(0)
    result = stylize(tiny_content, tiny_style, preserve_color="histogram", epochs=1, steps_per_epoch=1,
                     precision="float32", **TINY)
    keras.utils.set_random_seed(0)
    expected = StyleTransferModel(tiny_content, match_color_histogram(tiny_style, tiny_content), **TINY)
    for a, b in zip(result.model.style_targets, expected.style_targets):
        np.testing.assert_allclose(ops.convert_to_numpy(a), ops.convert_to_numpy(b), rtol=1e-5)


def test_optimizer_by_name_fresh_per_scale(rng, tiny_style):
    content = rng.random((64, 64, 3), dtype=np.float32)
    record = Starts()
    result = stylize(content, tiny_style, scales=[32, 64], optimizer="lbfgs", history_size=3,
                     epochs=1, steps_per_epoch=2, callbacks=[record], **TINY)
    assert isinstance(result.model.optimizer, LBFGS) and result.model.optimizer.history_size == 3
    assert float(result.model.optimizer.learning_rate) == 1.0
    assert int(result.model.optimizer.iterations) == 2  # its own state, not the coarse scale's
    given = keras.optimizers.Adam(learning_rate=0.01)
    result = stylize(content, tiny_style, scales=[32, 64], optimizer=given, epochs=1, steps_per_epoch=1, **TINY)
    assert isinstance(result.model.optimizer, keras.optimizers.Adam) and result.model.optimizer is not given
    assert float(result.model.optimizer.learning_rate) == pytest.approx(0.01)
    with pytest.raises(ValueError, match="Received: optimizer='sgd'"):
        stylize(content, tiny_style, optimizer="sgd", **TINY)


def test_ema_through_stylize(tiny_content, tiny_style):
    keras.utils.set_random_seed(0)
    last = stylize(tiny_content, tiny_style, init="noise", seed=0, ema_decay=None, epochs=1, steps_per_epoch=4,
                   **TINY)
    keras.utils.set_random_seed(0)
    averaged = stylize(tiny_content, tiny_style, init="noise", seed=0, ema_decay=0.5, epochs=1,
                       steps_per_epoch=4, **TINY)
    assert not np.allclose(last.image, averaged.image, atol=1e-4)
    assert averaged.image.shape == last.image.shape
    with pytest.raises(ValueError, match="Received: ema_decay=1.5"):
        stylize(tiny_content, tiny_style, ema_decay=1.5, **TINY)


def test_blend_weights_one_zero_equal_the_first_style_through_stylize(tiny_content, tiny_style, rng):
    other = rng.random((40, 40, 3), dtype=np.float32)
    keras.utils.set_random_seed(0)
    single = stylize(tiny_content, tiny_style, epochs=1, steps_per_epoch=2, **TINY)
    keras.utils.set_random_seed(0)
    blended = stylize(tiny_content, [tiny_style, other], style_blend_weights=[1, 0], epochs=1,
                      steps_per_epoch=2, **TINY)
    np.testing.assert_allclose(single.image, blended.image, atol=1e-5)


def test_sqrt2_schedule():
    assert schedules.sqrt2_scales(512) == [128, 181, 256, 362, 512]
    assert schedules.sqrt2_scales(1024)[0] == 128 and schedules.sqrt2_scales(1024)[-1] == 1024
    assert schedules.sqrt2_scales(100) == [100]
    # Epochs halve each time the side doubles: front-loaded, the full size still gets some.
    run = StylizeSettings.from_kwargs(scales="sqrt2", epochs=10).run.resolved(512)
    assert run.scales == (128, 181, 256, 362, 512) and run.epochs_per_scale == (10, 8, 5, 4, 3)


def test_adam_moments_carry_over_between_scales(rng, tiny_style):
    content = rng.random((64, 64, 3), dtype=np.float32)
    record = Starts()
    result = stylize(content, tiny_style, scales=[32, 64], epochs=2, steps_per_epoch=3, ema_decay=None,
                     callbacks=[record], **TINY)
    optimizer = result.model.optimizer
    assert int(optimizer.iterations) == 2 * 3 + 1 * 3  # the count goes on, so no new warm-up
    moments = [v for v in optimizer.variables if tuple(v.shape) == (1, 64, 64, 3)]
    assert len(moments) == 2 and all(float(np.abs(ops.convert_to_numpy(m)).max()) > 0 for m in moments)
    assert float(ops.convert_to_numpy(moments[1]).min()) >= 0.0
