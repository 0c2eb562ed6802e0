"""Style networks with masks: the photo kept outside, several styles blended per pixel in one pass."""

import keras
import numpy as np
import pytest

from nst_keras.fast import StyleNetwork, style_map, stylize_with_network


def _distinct_styles(network, rng):
    """Give each style of the conditional normalisations its own scale and shift (they start equal)."""
    for layer in _norms(network):
        layer.affine.gamma.assign(rng.normal(1.0, 0.5, layer.affine.gamma.shape).astype("float32"))
        layer.affine.beta.assign(rng.normal(0.0, 0.5, layer.affine.beta.shape).astype("float32"))


def _norms(network):
    found = [norm for _, norm in network._encoder + network._decoder]
    return found + [layer for block in network._residual for layer in block[1::2]]


def test_a_one_style_network_with_a_mask_leaves_the_outside_unchanged(rng):
    network = StyleNetwork(filters=8, residual_blocks=1)
    photo = rng.random((36, 52, 3), dtype=np.float32)
    mask = np.zeros((36, 52), np.float32)
    mask[:, 20:] = 1.0
    out = stylize_with_network(network, photo, mask=mask)
    whole = stylize_with_network(network, photo)
    assert np.array_equal(out[:, :20], photo[:, :20])
    np.testing.assert_allclose(out[:, 20:], whole[:, 20:], rtol=1e-6)


def test_a_two_style_network_with_a_left_right_map_matches_each_style_on_its_half(rng):
    keras.utils.set_random_seed(3)
    network = StyleNetwork(filters=8, residual_blocks=1, styles=2)
    _distinct_styles(network, rng)
    photo = rng.random((48, 64, 3), dtype=np.float32)
    weights = np.zeros((48, 64, 2), np.float32)
    weights[:, :32, 0] = weights[:, 32:, 1] = 1.0
    mixed = stylize_with_network(network, photo, style=weights)
    singles = [stylize_with_network(network, photo, style=index) for index in (0, 1)]
    for half, own in ((np.s_[:, :24], 0), (np.s_[:, 40:], 1)):  # away from the seam
        to_own, to_other = (np.abs(mixed[half] - singles[i][half]).mean() for i in (own, 1 - own))
        assert to_own < 0.5 * to_other, (to_own, to_other)
    # A map of one style everywhere is that style.
    np.testing.assert_allclose(stylize_with_network(network, photo, style=np.tile([0.0, 1.0], (48, 64, 1))),
                               singles[1], atol=1e-5)


def test_style_maps_are_checked_and_normalised():
    assert style_map(np.full((2, 2, 2), 3.0), 2, (1, 2, 2))[0, 0, 0].tolist() == [0.5, 0.5]
    with pytest.raises(ValueError, match=r"\[H, W, 3\]"):
        style_map(np.ones((2, 2, 2)), 3, (1, 2, 2))
