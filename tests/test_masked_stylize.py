"""Masks in the optimisation: black keeps the photo pixel for pixel, and each style goes to its own region."""

import keras
import numpy as np
import pytest
from keras import ops

from nst_keras import losses
from nst_keras.model import StyleTransferModel
from nst_keras.regions import make_regions
from nst_keras.stylize import stylize

LAYERS = dict(style_layer_names=["block1_conv1", "block2_conv1", "block3_conv1"], content_layer_names=["block2_conv2"])
TINY = dict(network="vgg16", weights=None, epochs=1, steps_per_epoch=3, **LAYERS)


@pytest.fixture
def right_half():
    mask = np.zeros((32, 48), np.float32)
    mask[:, 24:] = 1.0
    return mask


@pytest.mark.slow
def test_feather_0_keeps_every_pixel_outside_the_mask_through_scales_tiles_and_colour(tiny_content, tiny_style,
                                                                                     right_half):
    result = stylize(tiny_content, tiny_style, mask=right_half, scales=[24, 48], preserve_color="luminance",
                     init="noise", seed=3, tile_size=16, **TINY)
    assert np.array_equal(result.image[:, :24], tiny_content[:, :24])
    assert np.abs(result.image[:, 24:] - tiny_content[:, 24:]).mean() > 0.01


def test_feather_softens_the_edge_inside_the_mask_only(tiny_content, tiny_style, right_half):
    result = stylize(tiny_content, tiny_style, mask=right_half, mask_feather=8, init="noise", seed=3, **TINY)
    change = np.abs(result.image - tiny_content).mean(axis=(0, 2))
    assert np.all(change[:24] == 0.0)
    assert change[24] < change[26] < change[40]


def test_a_batch_keeps_each_images_own_mask(tiny_content, tiny_style, right_half):
    batch = np.stack([tiny_content, tiny_content[::-1]])
    masks = np.stack([right_half, np.ones_like(right_half)])  # the second: stylised whole
    result = stylize(batch, tiny_style, mask=masks, init="noise", seed=3, **TINY)
    assert np.array_equal(result.image[0, :, :24], batch[0, :, :24])
    assert np.abs(result.image[1, :, :24] - batch[1, :, :24]).mean() > 0.01


@pytest.mark.slow
def test_a_masked_model_saves_and_loads_with_its_box(tmp_path, tiny_content, tiny_style, right_half):
    regions = make_regions((1, 32, 48), [(40, 40)], mask=right_half)
    model = StyleTransferModel(tiny_content, tiny_style, network="vgg16", weights=None, init="noise", seed=1,
                               regions=regions, **LAYERS)
    model.compile()
    model.fit(epochs=1, steps_per_epoch=1, verbose=0)
    model.save(tmp_path / "run.keras")
    loaded = keras.models.load_model(tmp_path / "run.keras")
    assert loaded.keeps_photo and loaded.loss_settings.guided_regions == 1
    np.testing.assert_allclose(ops.convert_to_numpy(loaded.compute_losses()["loss"]),
                               ops.convert_to_numpy(model.compute_losses()["loss"]), rtol=1e-5)
    loaded.fit(epochs=1, steps_per_epoch=2, verbose=0)
    assert np.array_equal(loaded.generated_image_array()[:, :24], tiny_content[:, :24])


def _pattern(kind, size=48):
    y, x = np.mgrid[:size, :size] / size
    if kind == "stripes":  # red and black diagonal stripes
        on = (np.sin(40 * (x + y)) > 0).astype(np.float32)
        return np.stack([on, 0.1 * on, 0.1 * on], axis=-1)
    on = ((np.floor(8 * x) + np.floor(8 * y)) % 2).astype(np.float32)  # a blue and yellow checkerboard
    return np.stack([0.9 * on, 0.9 * on, 1.0 - on], axis=-1)


@pytest.mark.slow
def test_two_styles_on_two_halves_each_half_is_closest_to_its_own_painting(rng):
    content = np.full((48, 64, 3), 0.5, np.float32) + 0.05 * rng.standard_normal((48, 64, 3)).astype(np.float32)
    content = np.clip(content, 0.0, 1.0)
    left = np.zeros((48, 64), np.float32)
    left[:, :32] = 1.0
    paintings = [_pattern("stripes"), _pattern("checks")]
    result = stylize(content, paintings, style_masks=[left, 1.0 - left], network="vgg16", weights=None, epochs=4,
                     steps_per_epoch=25, content_weight=0.01, **LAYERS)
    extractor = result.model.feature_extractor

    def gram(images):
        return [losses.gram_matrix(f) for f in extractor(images)["style"].values()]

    targets = [gram(painting[None]) for painting in paintings]
    for half, own in ((np.s_[:, :, 4:28], 0), (np.s_[:, :, 36:60], 1)):
        features = list(extractor(result.image[None][half])["style"].values())
        distances = [float(losses.style_loss(features, target)[0]) for target in targets]
        assert distances[own] < distances[1 - own], distances
