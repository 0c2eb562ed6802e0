"""The frame loop: each frame stylised with what the previous one left, so the result does not flicker.

Two ways, one :class:`FrameStylizer`:

- **a trained style network** (``network``): one forward pass a frame; with
  ``blend`` the previous output, moved along the optical flow of the input
  frames, is mixed into the new result where that flow is reliable
  (:func:`nst_keras.video.flow.blend`), which steadies what the network
  alone leaves swimming;
- **optimisation** (``style``): Ruder, Dosovitskiy & Brox (2016), "Artistic
  style transfer for videos". The first frame gets the full ``epochs``; each
  later frame starts from the previous result moved by the flow, and the
  temporal loss term (:class:`nst_keras.objective.TemporalTerm`, weight
  ``temporal_weight``) holds it to that result where the flow is reliable,
  for ``frame_epochs`` (default a quarter of ``epochs``). One
  :class:`~nst_keras.StyleTransferModel` serves every frame
  (:meth:`~nst_keras.StyleTransferModel.set_content`): its step is traced once.

At a cut (the flow reliable on less than :data:`CUT_RELIABLE` of the frame)
the new shot starts afresh: no blending, and the optimisation gives the frame
the full ``epochs`` from the frame itself, as for the first frame.

:func:`stylize_video` is the generator over any iterable of frames.

Example:

>>> import numpy as np
>>> from nst_keras.fast import StyleNetwork
>>> frames = np.random.default_rng(0).integers(0, 255, (3, 24, 32, 3), dtype=np.uint8)
>>> results = list(stylize_video(frames, network=StyleNetwork(filters=4, residual_blocks=1)))
>>> len(results), results[0].shape, results[0].dtype
(3, (24, 32, 3), dtype('uint8'))
"""

import numpy as np

from nst_keras.defaults import VIDEO_BLEND, VIDEO_TEMPORAL_WEIGHT
from nst_keras.events import emit
from nst_keras.settings import StylizeSettings
from nst_keras.video import flow as flows_

# Below this share of reliable flow, a frame starts a new shot.
CUT_RELIABLE = 0.2
BLEND, TEMPORAL_WEIGHT = VIDEO_BLEND, VIDEO_TEMPORAL_WEIGHT


def _as_uint8(image):
    return np.round(np.clip(np.asarray(image, np.float32), 0.0, 1.0) * 255.0).astype(np.uint8)


def _as_float(frame):
    array = np.asarray(frame)
    return array.astype(np.float32) / 255.0 if array.dtype == np.uint8 else array.astype(np.float32)


def _restart(optimizer, shape):
    """Forget the optimizer's steps and moments (a new frame is a new problem); keep its settings."""
    optimizer.iterations.assign(0)
    for variable in optimizer.variables:
        if tuple(variable.shape) == tuple(shape):
            variable.assign(np.zeros(shape, variable.dtype))


def default_frame_epochs(epochs: int) -> int:
    """A later frame's epochs by default: a quarter of the first frame's, at least 1.

    Example:

    >>> default_frame_epochs(10), default_frame_epochs(2)
    (2, 1)
    """
    return max(1, epochs // 4)


class FrameStylizer:
    """Stylises the frames of one clip in order, keeping the previous input and output for the next frame.

    Args:
        network: a trained style network (a ``keras.Model`` or a network
            file from ``nst-keras train``), or ``None`` to optimise.
        style: for the optimisation, one ``[h, w, 3]`` style image or a list
            (float in [0, 1] or uint8), sized for the frames.
        settings: a :class:`~nst_keras.settings.StylizeSettings` for the
            optimisation (keyword ``overrides`` apply on top). Its
            Without ``settings``, ``temporal_weight`` defaults to
            :data:`TEMPORAL_WEIGHT` here.
        frame_epochs: epochs of each later frame (default
            :func:`default_frame_epochs`).
        blend: with a network, how much of the previous output to mix in
            where the flow is reliable (0: none); default :data:`BLEND`.
        style_choice: a network's style index or blend weights.
        flow_preset: DIS's preset (:data:`nst_keras.video.flow.PRESETS`).
        vgg, weights: the VGG and its weights for the optimisation.
        on_event: called with events (:mod:`nst_keras.events`): ``"weights"``
            (the optimisation's VGG, weights and precision), ``"frame"`` after
            each frame, with its index, steps and reliable share.

    Example:

    >>> stylizer = FrameStylizer(network="wave.keras")       # doctest: +SKIP
    >>> first, second = stylizer(frame0), stylizer(frame1)   # doctest: +SKIP
    """

    def __init__(self, network=None, style=None, settings=None, *, frame_epochs=None, blend=None, style_choice=None,
                 flow_preset="medium", vgg=None, weights="auto", on_event=None, **overrides):
        if (network is None) == (style is None or len(style if isinstance(style, (list, tuple)) else [style]) == 0):
            raise ValueError("Expected either `network` (a trained style network) or `style` images to optimise "
                             f"towards. Received: network={network!r}, style with "
                             f"{0 if style is None else len(style) if isinstance(style, (list, tuple)) else 1}")
        if network is not None and isinstance(network, str):
            from nst_keras.fast.files import load_network

            network = load_network(network, StylizeSettings.from_kwargs(settings, **overrides).run.precision)[0]
        self.network = network
        self.blend = BLEND if blend is None else float(blend)
        if not 0.0 <= self.blend <= 1.0:
            raise ValueError(f"Expected `blend` to be in [0, 1]. Received: blend={blend!r}")
        if settings is None:
            overrides.setdefault("temporal_weight", TEMPORAL_WEIGHT)
        self.settings = StylizeSettings.from_kwargs(settings, **overrides)
        run = self.settings.run
        self.frame_epochs = default_frame_epochs(run.epochs) if frame_epochs is None else int(frame_epochs)
        if self.frame_epochs < 1:
            raise ValueError(f"Expected `frame_epochs` to be an integer >= 1. Received: frame_epochs={frame_epochs!r}")
        self.styles = [] if style is None else [_as_float(s) for s in (style if isinstance(style, (list, tuple))
                                                                       else [style])]
        self.style_choice, self.vgg, self.weights, self.on_event = style_choice, vgg, weights, on_event
        self.estimator = flows_.FlowEstimator(flow_preset) if (network is None or self.blend > 0) else None
        self.model = self.run = None  # the optimisation's model and resolved run settings, from the first frame
        self.previous = None  # (input uint8, output float32)
        self.index = 0

    def restore(self, previous_input, previous_output, index):
        """Continue after frame ``index - 1``, whose input and output were these (a resumed run).

        Example:

        >>> stylizer.restore(frames[9], results[9], 10)            # doctest: +SKIP
        """
        self.previous = (np.asarray(previous_input), _as_float(previous_output))
        self.index = int(index)

    def __call__(self, frame):
        """The stylised ``frame`` (uint8 ``[H, W, 3]``), as uint8.

        Example:

        >>> stylizer(frame).dtype                                    # doctest: +SKIP
        dtype('uint8')
        """
        frame = np.asarray(frame)
        if frame.dtype != np.uint8:
            frame = _as_uint8(frame)
        found = None
        if self.previous is not None and self.estimator is not None:
            if self.previous[0].shape != frame.shape:
                raise ValueError(f"Expected frames of one size. Received: {frame.shape} after {self.previous[0].shape}")
            found = self.estimator.flows(frame, self.previous[0])
            if found.reliable < CUT_RELIABLE:
                found = None
        if self.network is not None:
            result, steps = self._network_frame(frame, found), 0
        else:
            result, steps = self._optimised_frame(frame, found)
        self.previous = (frame, result)
        emit(self.on_event, "frame", f"frame {self.index + 1}", index=self.index, steps=steps,
             reliable=None if found is None else found.reliable)
        self.index += 1
        return _as_uint8(result)

    def _network_frame(self, frame, found):
        from nst_keras.fast import stylize_with_network

        result = stylize_with_network(self.network, frame, style=self.style_choice)
        if found is not None and self.blend > 0:
            result = flows_.blend(result, self.previous[1], found, self.blend)
        return result

    def _build(self, frame):
        from nst_keras.model import StyleTransferModel
        from nst_keras.optimizers import get_optimizer
        from nst_keras.precision import resolve_precision
        from nst_keras.weights import resolve_weights

        run = self.settings.run.resolved(max(frame.shape[:2]), precision=resolve_precision)
        resolved = resolve_weights(self.vgg, self.weights)
        if resolved.note:
            emit(self.on_event, "note", f"note: {resolved.note}")
        emit(self.on_event, "weights", f"network: {resolved.network}; weights: {resolved.source}; "
                                       f"precision: {run.precision}", network=resolved.network, weights=resolved.source)
        kwargs = {name: getattr(self.settings.loss, name) for name in self.settings.loss.names()}
        self.model = StyleTransferModel(_as_float(frame), self.styles, network=resolved.network,
                                        weights=resolved.weights, dtype=run.precision, **kwargs)
        self.model.compile(optimizer=get_optimizer(run.optimizer, run.learning_rate, run.history_size))
        self.run = run

    def _optimised_frame(self, frame, found):
        from nst_keras.averaging import IterateAveraging

        if self.model is None:
            self._build(frame)
        elif found is None:
            self.model.set_content(_as_float(frame))
        if found is None:
            epochs = self.run.epochs
        else:
            moved = flows_.warp_frame(self.previous[1], found.backward)
            self.model.set_content(_as_float(frame), initial=moved,
                                   target_inputs={"previous_frame": moved, "previous_mask": found.mask[..., None]})
            epochs = self.frame_epochs
        _restart(self.model.optimizer, self.model.generated_image.shape)
        callbacks = [IterateAveraging(self.run.ema_decay)] if self.run.ema_decay is not None else []
        self.model.fit(epochs=epochs, steps_per_epoch=self.run.steps_per_epoch, callbacks=callbacks, verbose=0)
        return self.model.generated_image_array(), epochs * self.run.steps_per_epoch


def stylize_video(frames, style=None, *, network=None, **options):
    """Yield each of ``frames`` stylised (uint8 ``[H, W, 3]``), steadied by the frames before it.

    Args:
        frames: any iterable of ``[H, W, 3]`` frames of one size (uint8, or
            float in [0, 1]): a list, a generator reading a camera,
            :func:`nst_keras.video.read_frames`.
        style: style images, to stylise by optimisation (Ruder et al. 2016).
        network: a trained style network or its file, for one forward pass a
            frame (with ``blend``).
        **options: :class:`FrameStylizer`'s keyword arguments: ``blend``,
            ``frame_epochs``, ``settings``, ``style_choice``, ``on_event``,
            and settings by name (``epochs=4``, ``temporal_weight=50``).

    Example:

    >>> frames = nst_keras.video.read_frames(nst_keras.video.probe("clip.mp4"), size=256)   # doctest: +SKIP
    >>> for result in stylize_video(frames, [painting], epochs=4, steps_per_epoch=25):     # doctest: +SKIP
    ...     show(result)
    """
    stylizer = FrameStylizer(network=network, style=style, **options)
    for frame in frames:
        yield stylizer(frame)
