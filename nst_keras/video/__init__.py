"""Video: stylise a clip frame by frame without flicker, keep its sound, resume after a crash.

- :func:`stylize_video`: a generator of stylised frames from any iterable of
  frames, with a trained style network (one forward pass a frame, the
  previous result blended in along the optical flow where it is reliable) or
  by optimisation (Ruder et al. 2016: each frame starts from the previous
  result moved by the flow, and a temporal loss holds it there);
- :class:`VideoJob` / :func:`stylize_video_file`: a file to a file, the
  frames kept in ``OUTPUT.partial/`` so a rerun continues, the sound copied;
- :mod:`~nst_keras.video.io` and :mod:`~nst_keras.video.writer`: reading
  and writing clips (PyAV), animated GIF/WebP (Pillow) and frame folders;
- :mod:`~nst_keras.video.flow`: optical flow (OpenCV's DIS), its
  reliability, the warping error (Lai et al. 2018);
- :mod:`~nst_keras.video.synthetic`: clips made from paintings, for tests.

PyAV and OpenCV are the ``video`` extra: ``pip install "nst_keras[video]"``.

Example:

>>> from nst_keras.video import stylize_video
>>> for frame in stylize_video(frames, network="wave.keras"):   # doctest: +SKIP
...     show(frame)
"""

from nst_keras.lazy import lazy_exports

_EXPORTS = {
    "MissingExtra": "nst_keras.video.extra",
    "VideoError": "nst_keras.video.io",
    "VideoInfo": "nst_keras.video.io",
    "VideoJob": "nst_keras.video.job",
    "probe": "nst_keras.video.io",
    "read_frames": "nst_keras.video.io",
    "stylize_video": "nst_keras.video.loop",
    "stylize_video_file": "nst_keras.video.job",
    "warping_error": "nst_keras.video.flow",
    "write_video": "nst_keras.video.writer",
}

__all__ = sorted(_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
