"""Colour preservation (Gatys, Bethge, Hertzmann & Shechtman 2016, "Preserving Color in Neural Artistic Style Transfer").

Two ways to keep the photo's colours while taking the painting's strokes:

- ``"luminance"``: stylise as usual, then keep the result's luminance (Y of
  YIQ) and put back the content's chroma (I, Q): :func:`preserve_luminance`.
- ``"histogram"``: before stylising, give the style image the content's
  colour statistics (per-channel means and the 3x3 colour covariance, by a
  linear map), then stylise as usual: :func:`match_color_histogram`.

Pure numpy on float ``[H, W, 3]`` (or ``[B, H, W, 3]``) arrays in [0, 1].

Example:

>>> import numpy as np
>>> content = np.random.rand(32, 32, 3).astype("float32")
>>> stylized = np.random.rand(32, 32, 3).astype("float32")
>>> preserve_luminance(stylized, content).shape
(32, 32, 3)
"""

import numpy as np

# Luminance Y from R, G, B (Rec. 601, the Y of NTSC YIQ).
LUMA = (0.299, 0.587, 0.114)
# NTSC YIQ (FCC 1953 coefficients), as in the paper's luminance-only transfer.
_RGB_TO_YIQ = np.array(
    [
        LUMA,
        [0.595716, -0.274453, -0.321263],
        [0.211456, -0.522591, 0.311135],
    ],
    dtype=np.float64,
)
_YIQ_TO_RGB = np.linalg.inv(_RGB_TO_YIQ)

# Added to the diagonal of both covariances: a flat or two-colour style image
# has a singular covariance, which has no inverse square root.
_COVARIANCE_EPSILON = 1e-5

METHODS = ("eigen", "cholesky")


def _image(array, argument):
    image = np.asarray(array)
    if image.dtype == np.uint8:
        image = image.astype(np.float32) / 255.0
    if image.ndim not in (3, 4) or image.shape[-1] != 3 or 0 in image.shape:
        raise ValueError(
            f"Expected `{argument}` to be an RGB image [H, W, 3] or a batch [B, H, W, 3]. "
            f"Received: {argument} with shape {image.shape}"
        )
    return image.astype(np.float64)


def rgb_to_yiq(image):
    """Convert RGB to YIQ: channel 0 is the luminance Y, 1 and 2 the chroma I, Q.

    Example:

    >>> import numpy as np
    >>> rgb_to_yiq(np.ones((1, 1, 3)))[0, 0].round(6) + 0.0
    array([1., 0., 0.])
    """
    return np.asarray(image, dtype=np.float64) @ _RGB_TO_YIQ.T


def yiq_to_rgb(image):
    """Convert YIQ back to RGB (not clipped).

    Example:

    >>> import numpy as np
    >>> rgb = np.random.rand(4, 4, 3)
    >>> bool(np.allclose(yiq_to_rgb(rgb_to_yiq(rgb)), rgb))
    True
    """
    return np.asarray(image, dtype=np.float64) @ _YIQ_TO_RGB.T


def preserve_luminance(stylized_image, content_image):
    """Combine the stylised image's luminance with the content image's chroma.

    This is jcjohnson/neural-style's ``-original_colors 1``: Gatys et al.
    (2016) optimise the luminance channel alone, which needs a one-channel
    network input; combining the channels after an ordinary RGB stylisation
    gives nearly the same picture with no change to the model.

    Args:
        stylized_image: the result, ``[H, W, 3]`` or ``[B, H, W, 3]`` in [0, 1].
        content_image: the photo at the same size.

    Returns:
        float32 array of the same shape, clipped to [0, 1]: a saturated
        content colour at a much lighter or darker luminance can fall outside
        the RGB cube, and there the chroma is not kept exactly.

    Example:

    >>> import numpy as np
    >>> photo = 0.4 + 0.2 * np.random.rand(16, 16, 3)
    >>> out = preserve_luminance(np.full((16, 16, 3), 0.5), photo)
    >>> bool(np.allclose(rgb_to_yiq(out)[..., 0], 0.5, atol=1e-6))
    True
    """
    stylized = _image(stylized_image, "stylized_image")
    content = _image(content_image, "content_image")
    if stylized.shape != content.shape:
        raise ValueError(
            "Expected `stylized_image` and `content_image` to have the same shape. "
            f"Received: stylized_image with shape {stylized.shape}, content_image with shape {content.shape}"
        )
    yiq = rgb_to_yiq(content)
    yiq[..., 0] = rgb_to_yiq(stylized)[..., 0]
    return np.clip(yiq_to_rgb(yiq), 0.0, 1.0).astype(np.float32)


def color_statistics(image):
    """Per-channel mean ``[3]`` and colour covariance ``[3, 3]`` over all pixels.

    A batch ``[B, H, W, 3]`` gives the statistics of all its pixels together.

    Example:

    >>> import numpy as np
    >>> mean, cov = color_statistics(np.full((4, 4, 3), 0.25))
    >>> mean.tolist(), float(abs(cov).max())
    ([0.25, 0.25, 0.25], 0.0)
    """
    pixels = _image(image, "image").reshape(-1, 3)
    mean = pixels.mean(axis=0)
    centred = pixels - mean
    return mean, centred.T @ centred / len(pixels)


def _matrix_sqrt(cov, inverse=False):
    values, vectors = np.linalg.eigh(cov)
    values = np.maximum(values, _COVARIANCE_EPSILON)
    power = -0.5 if inverse else 0.5
    return (vectors * values**power) @ vectors.T


def match_color_histogram(style_image, content_image, method="eigen", clip=True):
    """Give ``style_image`` the colour mean and covariance of ``content_image``.

    Each style pixel ``p`` becomes ``A (p - mu_s) + mu_c`` with ``A``
    chosen so that ``A Sigma_s A^T = Sigma_c`` (Gatys et al. 2016, section 2.2):

    - ``"eigen"`` (default): ``A = Sigma_c^(1/2) Sigma_s^(-1/2)`` with
      symmetric square roots from eigen decompositions (the paper's Image
      Analogies variant).
    - ``"cholesky"``: ``A = L_c L_s^(-1)`` with Cholesky factors.

    Args:
        style_image: ``[H, W, 3]`` in [0, 1] (or uint8), any size.
        content_image: ``[H, W, 3]`` or a batch; a batch gives the pooled
            statistics of all its images.
        method: ``"eigen"`` or ``"cholesky"``.
        clip: clip the result to [0, 1] (the statistics then match up to the
            clipped pixels).

    Returns:
        float32 array of ``style_image``'s shape.

    Example:

    >>> import numpy as np
    >>> style = np.random.rand(32, 32, 3) * 0.5
    >>> photo = np.random.rand(16, 16, 3) * 0.2 + 0.4
    >>> matched = match_color_histogram(style, photo)
    >>> bool(np.allclose(matched.mean(axis=(0, 1)), photo.mean(axis=(0, 1)), atol=1e-3))
    True
    """
    if method not in METHODS:
        raise ValueError(f"Expected `method` to be one of {METHODS}. Received: method={method!r}")
    style = _image(style_image, "style_image")
    style_mean, style_cov = color_statistics(style)
    content_mean, content_cov = color_statistics(content_image)
    eye = np.eye(3) * _COVARIANCE_EPSILON
    if method == "eigen":
        transform = _matrix_sqrt(content_cov + eye) @ _matrix_sqrt(style_cov + eye, inverse=True)
    else:
        transform = np.linalg.cholesky(content_cov + eye) @ np.linalg.inv(np.linalg.cholesky(style_cov + eye))
    matched = (style - style_mean) @ transform.T + content_mean
    if clip:
        matched = np.clip(matched, 0.0, 1.0)
    return matched.astype(np.float32)
