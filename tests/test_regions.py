"""Masks, label maps and regions as arrays (no TensorFlow): what is kept, what is shared, what is refused."""

import numpy as np
import pytest

from nst_keras import label_maps, masks
from nst_keras.regions import keep_bounds, make_regions


def _halves(height=32, width=48):
    left = np.zeros((height, width), np.float32)
    left[:, : width // 2] = 1.0
    return left, 1.0 - left


def test_feather_softens_inward_and_black_stays_black():
    left, right = _halves()
    soft = masks.feather(right, 8)
    assert np.array_equal(soft[right == 0], np.zeros(int((right == 0).sum()), np.float32))
    edge = soft[0, 24:40]
    assert 0.0 < edge[0] < 0.5 and np.all(np.diff(edge) >= 0) and edge[-1] == 1.0
    grey = np.full((16, 16), 0.5, np.float32)
    assert np.array_equal(masks.feather(grey, 8), grey)  # no black: nothing to feather towards


def test_a_resized_mask_keeps_black_black_and_refuses_another_aspect_ratio():
    left, _ = _halves(12, 16)
    big = masks.resize(left, 48, 64)
    assert np.all(big[:, 32:] == 0.0) and np.all(big[:, :30] == 1.0)
    with pytest.raises(ValueError, match="another aspect ratio"):
        masks.resize(left, 48, 48)


def test_as_mask_takes_what_callers_have_and_refuses_all_black():
    assert masks.as_mask(np.full((4, 4, 1), 255, np.uint8), (2, 4, 4)).shape == (2, 4, 4)
    assert masks.as_mask(np.ones((4, 4), bool), (1, 8, 8)).max() == 1.0
    with pytest.raises(ValueError, match="all-black"):
        masks.as_mask(np.zeros((4, 4)), (1, 4, 4))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        masks.as_mask(np.full((4, 4), 3.0), (1, 4, 4))


def test_style_shares_sum_to_one_and_blend_where_masks_overlap():
    both = np.ones((1, 8, 8), np.float32)
    shares, coverage = masks.style_shares([both, both], blend=[1.0, 3.0])
    np.testing.assert_allclose(shares[0, 0, 0], [0.25, 0.75])
    assert coverage.min() == 1.0
    left, right = _halves(8, 8)
    shares, coverage = masks.style_shares([left[None], right[None]], pixels=4)
    np.testing.assert_allclose(shares.sum(-1), 1.0, rtol=1e-6)
    assert shares[0, 0, 0, 0] == 1.0 and 0.0 < shares[0, 0, 4, 0] < 1.0


def test_label_colours_survive_compression_noise_and_anti_aliased_edges(rng):
    labels = np.zeros((64, 64, 3), np.uint8)
    labels[:, 32:] = (30, 60, 230)
    noisy = np.clip(labels.astype(int) + rng.integers(-12, 13, labels.shape), 0, 255).astype(np.uint8)
    noisy[:, 31] = (15, 30, 115)  # a blended edge column: no region of its own
    colours, index = label_maps.label_colours(noisy)
    assert len(colours) == 2
    assert np.all(index[:, :31] == 0) and np.all(index[:, 33:] == 1)


def test_label_maps_pair_by_colour_and_refuse_a_colour_without_partner():
    photo = np.zeros((16, 16, 3), np.uint8)
    photo[8:] = (0, 0, 255)
    painting = np.zeros((20, 10, 3), np.uint8)
    painting[:, 5:] = (0, 0, 250)
    regions, guides, names = label_maps.pair_labels(photo, [painting])
    assert names == ("#000000", "#0000ff")
    assert regions[12, 0].tolist() == [0.0, 1.0] and guides[0][0, 7].tolist() == [0.0, 1.0]
    red = painting.copy()
    red[:5] = (255, 0, 0)
    with pytest.raises(ValueError, match="#ff0000 has no partner in photo.png"):
        label_maps.pair_labels(photo, [red], "photo.png", ["doodle.png"])
    with pytest.raises(ValueError, match="photo.png: the label colour #0000ff has no partner"):
        label_maps.pair_labels(photo, [np.zeros((8, 8, 3), np.uint8)], "photo.png", ["doodle.png"])


def test_two_paintings_serve_the_regions_of_their_colours():
    photo = np.zeros((16, 16, 3), np.uint8)
    photo[:, 8:] = (255, 255, 0)
    sky = np.zeros((8, 8, 3), np.uint8)
    city = np.full((8, 8, 3), (255, 255, 0), np.uint8)
    regions = make_regions((1, 16, 16), [(8, 8), (8, 8)], label_maps=(photo, [sky, city]))
    assert regions.count == 2 and regions.keep is None
    assert regions.style_guides[0][..., 0].min() == 1.0 and regions.style_guides[0][..., 1].max() == 0.0
    assert regions.style_guides[1][..., 1].min() == 1.0


def test_make_regions_of_a_mask_two_style_masks_and_painting_regions():
    left, right = _halves()
    regions = make_regions((1, 32, 48), [(40, 40)], mask=right)
    assert regions.count == 1 and np.array_equal(regions.keep[0], right)
    regions = make_regions((1, 32, 48), [(40, 40), (20, 30)], style_masks=[left, right],
                           style_regions=[None, np.ones((10, 15), np.float32)])
    assert regions.count == 2 and regions.keep is None
    assert [guide.shape for guide in regions.style_guides] == [(40, 40, 2), (20, 30, 2)]
    only_left = make_regions((1, 32, 48), [(40, 40)], style_masks=[left])
    assert np.array_equal(only_left.keep[0], left)  # no style applies on the right: the photo is kept


def test_make_regions_refusals():
    left, right = _halves()
    with pytest.raises(ValueError, match="one of `style_masks` per style image"):
        make_regions((1, 32, 48), [(40, 40)], style_masks=[left, right])
    with pytest.raises(ValueError, match="meet"):
        make_regions((1, 32, 48), [(40, 40)], mask=left, style_masks=[right])
    with pytest.raises(ValueError, match="label_maps"):
        make_regions((1, 32, 48), [(40, 40)], label_maps=(np.zeros((32, 48, 3)), [np.zeros((4, 4, 3))]),
                     style_masks=[left])


def test_regions_resize_for_coarse_scales_and_the_box_keeps_the_photo():
    _, right = _halves()
    regions = make_regions((1, 32, 48), [(40, 40)], mask=right)
    small = regions.resized(16, 24, [(20, 20)])
    assert small.guides.shape == (1, 16, 24, 1) and np.all(small.keep[0, :, :12] == 0.0)
    content = np.random.default_rng(1).random((1, 32, 48, 3), dtype=np.float32)
    low, high = keep_bounds(content, regions.keep)
    assert np.array_equal(low[:, :, :24], content[:, :, :24]) and np.array_equal(high[:, :, :24], content[:, :, :24])
    assert np.all(low[:, :, 24:] == 0.0) and np.all(high[:, :, 24:] == 1.0)
