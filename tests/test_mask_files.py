"""Mask and label-map files go through the image reader: any format, alpha, EXIF; refused in one line."""

import numpy as np
import pytest
from PIL import Image

from nst_keras.images import ImageError
from nst_keras.mask_files import load_label_map, load_mask, read_region_files


def _left_white(width=40, height=30):
    mask = np.zeros((height, width), np.uint8)
    mask[:, : width // 2] = 255
    return mask


def test_a_greyscale_mask_of_another_size_is_resized_black_kept_black(tmp_path):
    path = tmp_path / "mask.png"
    Image.fromarray(_left_white()).save(path)
    mask = load_mask(str(path), 80, 60)
    assert mask.shape == (60, 80) and mask.dtype == np.float32
    assert np.all(mask[:, 40:] == 0.0) and np.all(mask[:, :38] == 1.0)


def test_alpha_is_the_mask_and_exif_orientation_is_applied(tmp_path):
    colour = np.full((30, 40, 3), 200, np.uint8)  # a bright image: its colour would say white everywhere
    rgba = np.dstack([colour, _left_white()])
    path = tmp_path / "cutout.png"
    Image.fromarray(rgba, "RGBA").save(path)
    mask = load_mask(str(path), 40, 30)
    assert mask[:, :20].min() == 1.0 and mask[:, 20:].max() == 0.0
    # Stored sideways with EXIF orientation 6 (turned 90 degrees clockwise to display): the right half goes down.
    stored = np.zeros((40, 30), np.uint8)
    stored[:, 15:] = 255
    exif = Image.Exif()
    exif[0x0112] = 6
    turned = tmp_path / "turned.jpg"
    Image.fromarray(stored).save(turned, exif=exif, quality=100)
    mask = load_mask(str(turned), 40, 30)
    assert mask[18:].min() > 0.9 and mask[:12].max() < 0.1


def test_bad_masks_are_refused_naming_the_file(tmp_path):
    black, square = tmp_path / "black.png", tmp_path / "square.png"
    Image.fromarray(np.zeros((30, 40), np.uint8)).save(black)
    Image.fromarray(np.full((30, 30), 255, np.uint8)).save(square)
    with pytest.raises(ImageError, match=r"black.png: the mask is all black"):
        load_mask(str(black), 40, 30)
    with pytest.raises(ImageError, match=r"square.png: the mask is 30x30, another aspect ratio"):
        load_mask(str(square), 40, 30)
    with pytest.raises(ImageError, match="no such file"):
        load_mask(str(tmp_path / "missing.png"), 40, 30)


def test_a_label_map_is_resized_without_new_colours(tmp_path):
    labels = np.zeros((15, 20, 3), np.uint8)
    labels[:, 10:] = (255, 0, 0)
    labels[5:, :5] = (0, 255, 0)
    path = tmp_path / "labels.png"
    Image.fromarray(labels).save(path)
    resized = load_label_map(str(path), 70, 52)
    assert resized.shape == (52, 70, 3)
    assert {tuple(c) for c in resized.reshape(-1, 3)} == {(0, 0, 0), (255, 0, 0), (0, 255, 0)}


def test_region_files_are_counted_against_the_styles(tmp_path):
    path = tmp_path / "mask.png"
    Image.fromarray(_left_white()).save(path)
    found = read_region_files((30, 40, 3), [(15, 20, 3), (30, 40, 3)], mask=str(path),
                              style_masks=[str(path), str(path)], style_regions=[None, str(path)])
    assert sorted(found) == ["mask", "style_masks", "style_regions"]
    assert found["style_regions"][0] is None and found["style_regions"][1].shape == (30, 40)
    with pytest.raises(ValueError, match="one `style_regions` file per style image"):
        read_region_files((30, 40, 3), [(20, 20, 3)], style_regions=[str(path), str(path)])
    with pytest.raises(ValueError, match="together"):
        read_region_files((30, 40, 3), [(20, 20, 3)], label_map=str(path))
