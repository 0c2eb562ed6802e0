import numpy as np
import pytest

from nst_keras.color import (
    color_statistics,
    match_color_histogram,
    preserve_luminance,
    rgb_to_yiq,
    yiq_to_rgb,
)


def test_yiq_round_trip(rng):
    rgb = rng.random((8, 8, 3))
    np.testing.assert_allclose(yiq_to_rgb(rgb_to_yiq(rgb)), rgb, atol=1e-12)
    grey = np.full((2, 2, 3), 0.3)
    np.testing.assert_allclose(rgb_to_yiq(grey)[..., 1:], 0.0, atol=1e-12)


def test_luminance_mode_keeps_content_chroma_and_result_luminance(rng):
    # Muted colours, as in photos, so no pixel leaves the RGB cube.
    content = 0.35 + 0.3 * rng.random((24, 32, 3))
    stylized = 0.3 + 0.4 * rng.random((24, 32, 3))
    out = preserve_luminance(stylized, content)
    assert out.shape == content.shape and out.dtype == np.float32
    np.testing.assert_allclose(rgb_to_yiq(out)[..., 1:], rgb_to_yiq(content)[..., 1:], atol=1e-5)
    np.testing.assert_allclose(rgb_to_yiq(out)[..., 0], rgb_to_yiq(stylized)[..., 0], atol=1e-5)


def test_luminance_mode_clips_and_takes_batches(rng):
    content = rng.random((2, 16, 16, 3))
    out = preserve_luminance(np.ones((2, 16, 16, 3)), content)
    assert out.shape == (2, 16, 16, 3) and out.min() >= 0.0 and out.max() <= 1.0
    with pytest.raises(ValueError, match="same shape"):
        preserve_luminance(np.ones((8, 8, 3)), content)


@pytest.mark.parametrize("method", ["eigen", "cholesky"])
def test_histogram_mode_moves_style_means_and_covariance_to_content(method, rng):
    # A reddish, strongly correlated style and a bluish photo of another size.
    base = rng.random((40, 40, 1))
    noise = rng.random((40, 40, 3))
    style = np.array([0.2, 0.1, 0.05]) + np.array([0.5, 0.3, 0.1]) * base + np.array([0.1, 0.2, 0.3]) * noise
    content = np.stack(
        [0.3 + 0.2 * rng.random((30, 20)), 0.4 + 0.25 * rng.random((30, 20)), 0.35 + 0.3 * rng.random((30, 20))],
        axis=-1,
    )
    content_mean, content_cov = color_statistics(content)
    style_mean, style_cov = color_statistics(style)
    assert not np.allclose(style_mean, content_mean, atol=0.05)
    matched = match_color_histogram(style, content, method=method)
    assert matched.shape == style.shape and matched.dtype == np.float32
    assert matched.min() >= 0.0 and matched.max() <= 1.0
    mean, cov = color_statistics(matched)
    np.testing.assert_allclose(mean, content_mean, atol=1e-4)
    # The covariances are regularised by 1e-5 on the diagonal (about 0.3 % here).
    np.testing.assert_allclose(cov, content_cov, atol=5e-5)
    assert not np.allclose(style_cov, content_cov, atol=5e-4)


def test_histogram_mode_keeps_the_style_layout(rng):
    # The map is affine per pixel: the order of the style's luminance survives.
    style = np.repeat(np.linspace(0.1, 0.9, 32)[None, :, None], 32, axis=0) * np.array([1.0, 0.8, 0.6])
    content = 0.3 + 0.3 * rng.random((16, 16, 3))
    matched = match_color_histogram(style, content)
    assert np.all(np.diff(rgb_to_yiq(matched)[0, :, 0]) > 0)


def test_histogram_mode_survives_a_flat_style(rng):
    matched = match_color_histogram(np.full((8, 8, 3), 0.5), rng.random((8, 8, 3)))
    assert np.all(np.isfinite(matched))


def test_bad_arguments():
    with pytest.raises(ValueError, match="method"):
        match_color_histogram(np.zeros((4, 4, 3)), np.zeros((4, 4, 3)), method="lab")
    with pytest.raises(ValueError, match="Received: style_image with shape"):
        match_color_histogram(np.zeros((4, 4)), np.zeros((4, 4, 3)))
