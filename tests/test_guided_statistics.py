"""Guided statistics (Gatys et al. 2017): a region's statistic is its features' own, and tiles add up to the whole."""

import numpy as np
import pytest
import tensorflow as tf
from keras import ops

from _tiling_helpers import tiled_and_untiled
from nst_keras import guides, objective
from nst_keras.model import StyleTransferModel
from nst_keras.regions import make_regions
from nst_keras.settings import LossSettings
from nst_keras.statistics import get_statistic
from nst_keras.tiling import TiledObjective

LAYERS = dict(style_layer_names=["block1_conv1", "block2_conv1", "block3_conv1"], content_layer_names=["block2_conv2"])


@pytest.mark.parametrize("name", ["gram", "wasserstein"])
def test_a_regions_guided_statistic_is_the_plain_statistic_of_its_features(rng, name):
    statistic = get_statistic(name)
    features = rng.random((2, 12, 10, 5), dtype=np.float32)
    guide = np.zeros((2, 12, 10, 2), np.float32)
    guide[:, 3:9, 2:7, 0] = 1.0  # a rectangle
    guide[..., 1] = 1.0 - guide[..., 0]  # and the rest: not a rectangle, so compare by its sum
    guided = ops.convert_to_numpy(statistic.guided(features, guide))
    areas = ops.convert_to_numpy(guides.areas(guide))
    inside = ops.convert_to_numpy(statistic.statistics(features[:, 3:9, 2:7]))
    np.testing.assert_allclose(guided[:, 0] / areas[:, 0, None, None], inside, rtol=1e-5, atol=1e-6)
    # Statistics are means over positions: the two regions add up to the whole image's.
    np.testing.assert_allclose(guided.sum(axis=1), ops.convert_to_numpy(statistic.statistics(features)), rtol=1e-5)


def test_a_guide_over_the_whole_image_gives_the_plain_loss(tiny_content, tiny_style):
    plain = StyleTransferModel(tiny_content, tiny_style, network="vgg16", weights=None, init="noise", seed=2, **LAYERS)
    settings = plain.loss_settings.replace(guided_regions=1)
    context = objective.TargetContext.untiled(plain.feature_extractor, settings, tiny_content[None], [tiny_style[None]],
                                              guides=np.ones((1, 32, 48, 1), np.float32))
    targets = objective.build_targets(plain.terms, context)
    image = plain.generated_image
    guided = objective.weighted_losses(image, plain.feature_extractor(image), targets, settings, plain.terms)
    for key in ("style_loss", "loss"):
        np.testing.assert_allclose(ops.convert_to_numpy(guided[key]),
                                   ops.convert_to_numpy(plain.compute_losses()[key]), rtol=1e-4)


def _tiled_and_untiled(model):
    tiled, untiled, gradient, losses, tiled_gradient = tiled_and_untiled(model, 16, model.terms)
    assert len(tiled.tiles(*model.image_shape[1:3])) > 1
    return untiled, gradient, losses, tiled_gradient


# Wasserstein's matrix square root of statistics summed tile by tile rounds more in float32 (as in test_style_statistics).
@pytest.mark.parametrize("name, tolerance", [("gram", 1e-4), ("wasserstein", 1e-3)])
def test_tiled_equals_untiled_with_masks(rng, name, tolerance):
    content = rng.random((40, 56, 3), dtype=np.float32)
    styles = [rng.random((40, 40, 3), dtype=np.float32), rng.random((32, 48, 3), dtype=np.float32)]
    left = np.zeros((40, 56), np.float32)
    left[:, :24] = 1.0
    part = np.zeros((32, 48), np.float32)
    part[8:] = 1.0
    regions = make_regions((1, 40, 56), [(40, 40), (32, 48)], style_masks=[left, 1.0 - left],
                           style_regions=[None, part], feather=6)
    model = StyleTransferModel(content, styles, network="vgg16", weights=None, init="noise", seed=1,
                               style_loss=name, regions=regions, **LAYERS)
    untiled, gradient, losses, tiled_gradient = _tiled_and_untiled(model)
    for key in ("style_loss", "loss"):
        np.testing.assert_allclose(ops.convert_to_numpy(losses[key]), ops.convert_to_numpy(untiled[key]),
                                   rtol=tolerance)
    assert float(tf.norm(tiled_gradient - gradient) / tf.norm(gradient)) < 1e-3
    # The targets built tile by tile (the paintings' guided statistics) are the untiled ones.
    tiled = TiledObjective(model.feature_extractor, model.loss_settings, 16, model.terms)
    context = tiled.target_context(content[None], [style[None] for style in styles],
                                   **regions.context_arguments(model.image_shape))
    for built, kept in zip(objective.build_targets(model.terms, context)["style"], model.targets["style"]):
        # The statistics (the Wasserstein target's covariance root after them is an ill-conditioned function of them).
        rows = np.s_[..., : kept.shape[-1] + 1, :] if len(kept.shape) == 4 else np.s_[...]
        kept = ops.convert_to_numpy(kept)[rows]
        np.testing.assert_allclose(ops.convert_to_numpy(built)[rows], kept, rtol=2e-4, atol=1e-6 * np.abs(kept).max())


def test_the_guided_target_has_one_statistic_per_region_and_the_guide_per_layer():
    settings = LossSettings(guided_regions=2, **LAYERS)
    shapes = {"style": {"block1_conv1": (1, 8, 8, 64), "block2_conv1": (1, 4, 4, 128),
                        "block3_conv1": (1, 2, 2, 256)}}
    target_shapes = objective.StyleTerm().target_shapes((1, 8, 8), shapes, settings)
    assert target_shapes[:3] == [(1, 2, 64, 64), (1, 2, 128, 128), (1, 2, 256, 256)]
    assert target_shapes[3:] == [(1, 8, 8, 2), (1, 4, 4, 2), (1, 2, 2, 2)]
    with pytest.raises(ValueError, match="guided_regions=2"):
        objective.StyleTerm().target(objective.TargetContext(settings, styles=(np.zeros((1, 8, 8, 3)),)))
