"""Shared fixtures: tiny random images and the optional real VGG16 weights."""

import os
import pathlib

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import pytest
from PIL import Image

SHARED = pathlib.Path(__file__).resolve().parents[2] / "shared"
VGG16_WEIGHTS = SHARED / "weights" / "vgg16_imagenet_notop.weights.h5"
CONTENT_DIR = SHARED / "images" / "content"
STYLE_DIR = SHARED / "images" / "style"


def _user_vgg16_weights():
    """Where `nst-keras weights fetch` puts VGG16, read before any test moves the caches."""
    from nst_keras.weights import vgg16_cache_path

    return vgg16_cache_path()


USER_VGG16_WEIGHTS = _user_vgg16_weights()


@pytest.fixture
def rng():
    return np.random.default_rng(0)


@pytest.fixture
def tiny_content(rng):
    return rng.random((32, 48, 3), dtype=np.float32)


@pytest.fixture
def tiny_style(rng):
    return rng.random((40, 40, 3), dtype=np.float32)


@pytest.fixture
def vgg16_weights():
    """Real ImageNet VGG16 weights: ../shared/weights, else the user cache that `weights fetch` fills."""
    for path in (VGG16_WEIGHTS, USER_VGG16_WEIGHTS):
        if path.is_file():
            return str(path)
    pytest.skip(
        f"real VGG16 weights not found at {VGG16_WEIGHTS} nor {USER_VGG16_WEIGHTS}; "
        "run `nst-keras weights fetch` to get them"
    )


@pytest.fixture
def shared_images():
    if not (CONTENT_DIR.is_dir() and STYLE_DIR.is_dir()):
        pytest.skip(f"test photos and paintings not found under {SHARED / 'images'}")
    return CONTENT_DIR, STYLE_DIR


@pytest.fixture
def pair(tmp_path, rng):
    """A small random content PNG and style JPEG; their paths as strings."""
    content = tmp_path / "content.png"
    style = tmp_path / "style.jpg"
    Image.fromarray((rng.random((40, 60, 3)) * 255).astype(np.uint8)).save(content)
    Image.fromarray((rng.random((48, 48, 3)) * 255).astype(np.uint8)).save(style)
    return str(content), str(style)


@pytest.fixture
def no_model(monkeypatch):
    """Make building a model fail loudly: refusals must come before it."""
    import nst_keras.model

    def refuse(*args, **kwargs):
        raise AssertionError("the model was built")

    monkeypatch.setattr(nst_keras.model.StyleTransferModel, "__init__", refuse)


@pytest.fixture
def example_env(tmp_path, vgg16_weights):
    """Environment that runs the examples tiny, with real VGG16 weights, writing into tmp_path."""
    return dict(
        os.environ,
        NST_KERAS_WEIGHTS=vgg16_weights,
        NST_KERAS_EXAMPLE_OUTPUT=str(tmp_path),
        NST_KERAS_EXAMPLE_SIZE="64",
        NST_KERAS_EXAMPLE_EPOCHS="2",
        NST_KERAS_EXAMPLE_STEPS="2",
        TF_CPP_MIN_LOG_LEVEL="3",
    )
