"""Helpers shared by the image tests: small writers and colour checks."""

import os

import numpy as np
import pytest

import _image_corpus as corpus
from nst_keras.images import ImageError, load_image

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ONE_LEVEL = 1.0 / 255
is_root = hasattr(os, "geteuid") and os.geteuid() == 0
QUAD_CORNERS = (corpus.RED, corpus.GREEN, corpus.BLUE, corpus.YELLOW)


def rgb01(colour):
    return np.array(colour, np.float32) / 255


def write(path, data):
    path.write_bytes(data)
    return path


def save(path, image, fmt=None, **options):
    image.save(path, format=fmt, **options)
    return path


def assert_corners(array, expected, tol):
    for got, want in zip(corpus.corners(array), expected):
        np.testing.assert_allclose(got, rgb01(want), atol=tol)


def refusal(path, *args, **kwargs):
    """The ImageError that loading ``path`` raises, checked to be a ValueError saying "path: reason"."""
    with pytest.raises(ImageError) as info:
        load_image(path, *args, **kwargs)
    error = info.value
    assert isinstance(error, ValueError)
    assert str(error) == f"{error.path}: {error.reason}"
    return error


def noise_image(seed=5, shape=(32, 40, 3)):
    return np.random.default_rng(seed).integers(0, 256, shape, dtype=np.uint8)
