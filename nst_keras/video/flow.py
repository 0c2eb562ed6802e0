"""Optical flow between frames, where it can be trusted, and the warping error that measures flicker.

:class:`FlowEstimator` runs OpenCV's DIS optical flow (Kroeger et al. 2016)
on the grey levels of two frames. :func:`reliable_mask` keeps the pixels
whose forward and backward flows agree and that lie off motion boundaries
(Sundaram et al. 2010, as Ruder et al. 2016 use it): elsewhere the pixel was
hidden in the other frame or the flow is wrong. :func:`warping_error` is Lai
et al.'s (2018) measure of temporal consistency, computed with the flow of
the input frames.

Example:

>>> import numpy as np
>>> frames = np.random.default_rng(0).integers(0, 255, (2, 32, 48, 3), dtype=np.uint8)
>>> flows = FlowEstimator().flows(frames[1], frames[0])
>>> flows.backward.shape, flows.mask.shape
((32, 48, 2), (32, 48))
"""

import dataclasses

import numpy as np

from nst_keras import warping
from nst_keras.video.extra import require

PRESETS = ("ultrafast", "fast", "medium")
# Sundaram et al.'s thresholds, as Ruder et al. use them (flows in pixels).
_AGREE_RELATIVE, _AGREE_ABSOLUTE = 0.01, 0.5
_BOUNDARY_RELATIVE, _BOUNDARY_ABSOLUTE = 0.01, 0.002


@dataclasses.dataclass
class Flows:
    """The flows between a frame and the one before it.

    Attributes:
        backward: ``[H, W, 2]`` from the current frame to the previous one:
            warping the previous frame (or its result) by it lines it up with
            the current one.
        forward: ``[H, W, 2]`` from the previous frame to the current one.
        mask: ``[H, W]`` float32, 1 where ``backward`` is reliable, else 0.
    """

    backward: np.ndarray
    forward: np.ndarray
    mask: np.ndarray

    @property
    def reliable(self) -> float:
        """The share of the frame where the flow is reliable (near 0 at a cut).

        Example:

        >>> Flows(None, None, np.ones((2, 2), "float32")).reliable
        1.0
        """
        return float(np.mean(self.mask))


def _warp_numpy(image, flow):
    return warping.warp(image[None].astype(np.float32), flow[None].astype(np.float32)).numpy()[0]


def reliable_mask(backward, forward):
    """``[H, W]`` float32: 1 where ``backward`` (current to previous) and ``forward`` agree, off motion boundaries.

    A pixel ``p`` passes when ``|w + w'|^2 <= 0.01 (|w|^2 + |w'|^2) + 0.5``,
    with ``w = backward[p]`` and ``w'`` the forward flow at ``p + w``, when
    ``p + w`` lies inside the frame, and when the backward flow's gradient
    stays below ``0.01 |w|^2 + 0.002``.

    Example:

    >>> flow = np.zeros((8, 8, 2), "float32"); flow[..., 0] = 2.0
    >>> mask = reliable_mask(flow, -flow)
    >>> float(mask[:, :6].min()), float(mask[:, 6:].max())
    (1.0, 0.0)
    """
    backward = np.asarray(backward, np.float32)
    returned = _warp_numpy(np.asarray(forward, np.float32), backward)
    disagreement = np.sum(np.square(backward + returned), axis=-1)
    size = np.sum(np.square(backward), axis=-1) + np.sum(np.square(returned), axis=-1)
    agree = disagreement <= _AGREE_RELATIVE * size + _AGREE_ABSOLUTE
    dy = np.gradient(backward, axis=0)
    dx = np.gradient(backward, axis=1)
    gradient = np.sum(np.square(dx) + np.square(dy), axis=-1)
    smooth = gradient <= _BOUNDARY_RELATIVE * np.sum(np.square(backward), axis=-1) + _BOUNDARY_ABSOLUTE
    inside = warping.valid_mask(backward[None]).numpy()[0, ..., 0] > 0
    return (agree & smooth & inside).astype(np.float32)


class FlowEstimator:
    """OpenCV's DIS optical flow between frames, made once and reused.

    Args:
        preset: ``"ultrafast"``, ``"fast"`` or ``"medium"`` (OpenCV's; on one
            core at 1280x720 about 24, 44 and 183 ms a flow).

    Example:

    >>> FlowEstimator("fast").preset
    'fast'
    """

    def __init__(self, preset="medium"):
        if preset not in PRESETS:
            raise ValueError(f"Expected `preset` to be one of {PRESETS}. Received: preset={preset!r}")
        cv2 = require("cv2")
        self.preset = preset
        self._cv2 = cv2
        self._dis = cv2.DISOpticalFlow_create(getattr(cv2, f"DISOPTICAL_FLOW_PRESET_{preset.upper()}"))

    def flow(self, source, target):
        """``[H, W, 2]``: for each pixel of ``source``, where it is in ``target`` (uint8 RGB frames).

        Example:

        >>> frame = np.zeros((16, 16, 3), np.uint8)
        >>> FlowEstimator().flow(frame, frame).shape
        (16, 16, 2)
        """
        grey = [self._cv2.cvtColor(np.ascontiguousarray(frame), self._cv2.COLOR_RGB2GRAY) for frame in (source, target)]
        return self._dis.calc(grey[0], grey[1], None)

    def flows(self, current, previous) -> Flows:
        """The :class:`Flows` between ``current`` and the frame before it, ``previous``.

        Example:

        >>> flows = FlowEstimator().flows(frame, previous_frame)     # doctest: +SKIP
        """
        backward = self.flow(current, previous)
        forward = self.flow(previous, current)
        return Flows(backward, forward, reliable_mask(backward, forward))


def warp_frame(image, flow):
    """``image`` ``[H, W, C]`` moved by ``flow`` ``[H, W, 2]`` (:func:`nst_keras.warping.warp`), as float32.

    Example:

    >>> image = np.arange(6, dtype="float32").reshape(2, 3, 1)
    >>> flow = np.zeros((2, 3, 2), "float32"); flow[..., 1] = 1
    >>> warp_frame(image, flow)[..., 0].tolist()
    [[3.0, 4.0, 5.0], [3.0, 4.0, 5.0]]
    """
    return _warp_numpy(np.asarray(image), flow)


def warping_error(outputs, inputs, estimator=None):
    """Lai et al.'s (2018) warping error of a stylised clip: lower is steadier.

    For each pair of consecutive frames, the mean squared difference (RGB in
    [0, 1]) between the output frame and the previous output frame warped
    onto it by the flow of the *input* frames, over the pixels where that
    flow is reliable (:func:`reliable_mask`); averaged over the pairs.

    Args:
        outputs, inputs: sequences of uint8 ``[H, W, 3]`` frames of one size.
        estimator: a :class:`FlowEstimator` (default ``"medium"``).

    Example:

    >>> still = np.repeat(np.random.default_rng(1).integers(0, 255, (1, 16, 16, 3), dtype=np.uint8), 3, axis=0)
    >>> warping_error(still, still)
    0.0
    """
    estimator = estimator or FlowEstimator()
    errors = []
    for index in range(1, len(inputs)):
        flows = estimator.flows(inputs[index], inputs[index - 1])
        if flows.mask.sum() == 0:
            continue
        moved = warp_frame(np.asarray(outputs[index - 1], np.float32) / 255.0, flows.backward)
        difference = np.sum(np.square(np.asarray(outputs[index], np.float32) / 255.0 - moved), axis=-1)
        errors.append(float(np.sum(flows.mask * difference) / (3 * flows.mask.sum())))
    return float(np.mean(errors)) if errors else 0.0


def blend(result, previous_result, flows, strength):
    """``result`` with the previous frame's result, moved onto it, mixed in by ``strength`` where the flow is reliable.

    Args:
        result: this frame's result, float ``[H, W, 3]`` in [0, 1].
        previous_result: the previous frame's output, float in [0, 1].
        flows: the :class:`Flows` between the two input frames.
        strength: 0 (no blending) to 1 (the previous result wherever reliable).

    Example:

    >>> a, b = np.zeros((4, 4, 3), "float32"), np.ones((4, 4, 3), "float32")
    >>> flows = Flows(np.zeros((4, 4, 2), "float32"), None, np.ones((4, 4), "float32"))
    >>> float(blend(a, b, flows, 0.25).mean())
    0.25
    """
    moved = warp_frame(previous_result, flows.backward)
    weight = strength * flows.mask[..., None]
    return np.clip((1.0 - weight) * result + weight * moved, 0.0, 1.0).astype(np.float32)
