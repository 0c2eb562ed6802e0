"""Reading clips: what a video file, an animated GIF or WebP, or a folder of numbered frames holds, and its frames.

:func:`probe` checks a source without decoding its pictures (the container's
index and packets only) and returns a :class:`VideoInfo`; a source that cannot
be used raises :class:`VideoError` naming it and the reason, before anything
is written. :func:`read_frames` then yields its frames as uint8 RGB arrays,
upright (the rotation a phone records is applied), at the working size.

Containers (MP4, MOV, MKV, WebM, AVI ...) are read with PyAV, whose wheels
bring FFmpeg's decoders; animated GIF and WebP with Pillow, which keeps each
frame's own duration; a folder's images with :mod:`nst_keras.images`.

Example:

>>> info = probe("clip.mp4")                          # doctest: +SKIP
>>> info.frames, float(info.fps), info.rotation, info.audio  # doctest: +SKIP
(120, 24.0, 0, 'aac')
>>> frames = list(read_frames(info, size=256))        # doctest: +SKIP
"""

import dataclasses
import fractions
import os
import re

import numpy as np
from PIL import Image

from nst_keras import images
from nst_keras.batch.names import discover_images
from nst_keras.video.extra import require

# The largest frame read, in pixels: 8K UHD (7680 x 4320) fits; larger frames
# would take gigabytes per second of clip in memory before they are scaled down.
MAX_FRAME_PIXELS = 2**25
# The shortest side frames are scaled to (the optimisation's VGG needs 32).
MIN_SIDE = 8
# Extensions read with Pillow (their frames carry their own durations).
ANIMATION_EXTENSIONS = (".gif", ".webp")
# A folder of frames has no rate of its own: this one unless told.
FRAMES_FPS = 24


class VideoError(ValueError):
    """A source that cannot be used as a video; ``str(err)`` is ``"{path}: {reason}"``.

    Example:

    >>> str(VideoError("clip.mp4", "no video stream"))
    'clip.mp4: no video stream'
    """

    def __init__(self, path, reason):
        super().__init__(path, reason)
        self.path, self.reason = os.fspath(path), reason

    def __str__(self):
        return f"{self.path}: {self.reason}"


@dataclasses.dataclass
class VideoInfo:
    """What a source holds, for the part to stylise (``start``, ``duration``).

    Attributes:
        path: the source as given.
        kind: ``"container"`` (PyAV), ``"animation"`` (GIF or WebP) or ``"frames"`` (a folder).
        width, height: the stored frame size (before ``rotation``).
        rotation: degrees counter-clockwise that a player turns the stored
            frames by (0, 90, 180 or 270).
        fps: the frame rate as a fraction.
        frames: frames in the part.
        start, duration: the part, in seconds (``duration`` of the part).
        audio: the audio codec's name, or ``None``.
        durations: for an animation, each frame's duration in seconds.
        files: for a folder, its frame files in order.

    Example:

    >>> VideoInfo("a.mp4", "container", 1920, 1080, 90, fractions.Fraction(30), 60).upright_size
    (1080, 1920)
    """

    path: str
    kind: str
    width: int
    height: int
    rotation: int
    fps: fractions.Fraction
    frames: int
    start: float = 0.0
    duration: float = 0.0
    audio: str | None = None
    durations: list = dataclasses.field(default_factory=list)
    files: list = dataclasses.field(default_factory=list)

    @property
    def upright_size(self):
        """``(width, height)`` as the frames are shown: swapped for a quarter turn."""
        return (self.height, self.width) if self.rotation % 180 else (self.width, self.height)

    def working_size(self, size=None):
        """The upright ``(width, height)`` frames are stylised at: long side ``size``, both sides even.

        H.264 in yuv420p, the format browsers play, needs even sides.

        Example:

        >>> VideoInfo("a.mp4", "container", 1920, 1080, 0, fractions.Fraction(30), 60).working_size(500)
        (500, 280)
        """
        width, height = images.working_size(*self.upright_size, size, min_side=MIN_SIDE)
        return max(2, width - width % 2), max(2, height - height % 2)


def _reason(err):
    """FFmpeg's words for an error, on one line."""
    return " ".join(str(getattr(err, "strerror", None) or err).split())


def _too_large(path, width, height):
    if width * height > MAX_FRAME_PIXELS:
        raise VideoError(path, f"frames of {width}x{height} pixels are above the limit of {MAX_FRAME_PIXELS} pixels")


def _part(path, start, duration, length):
    if start < 0 or (duration is not None and duration <= 0):
        raise VideoError(path, f"expected start >= 0 and duration > 0 seconds; got start={start}, duration={duration}")
    if length is not None and start >= length:
        raise VideoError(path, f"start={start:g} s is past the end of the clip ({length:.3g} s)")
    return start + (duration if duration is not None else float("inf"))


def probe(path, start: float = 0.0, duration: float | None = None, fps=None) -> VideoInfo:
    """Check ``path`` (a clip, an animated GIF or WebP, or a folder of numbered frames); return its :class:`VideoInfo`.

    Args:
        path: the source.
        start, duration: the part to use, in seconds (default: all of it).
        fps: the frame rate of a folder of frames (default :data:`FRAMES_FPS`).

    Raises:
        VideoError: no such file, not a video, no video stream, a truncated
            file, no frames (in the part), or frames above
            :data:`MAX_FRAME_PIXELS`.

    Example:

    >>> probe("missing.mp4")
    Traceback (most recent call last):
    ...
    nst_keras.video.io.VideoError: missing.mp4: no such file
    """
    shown = os.fspath(path)
    if os.path.isdir(shown):
        return _probe_folder(shown, start, duration, fps)
    if not os.path.exists(shown):
        raise VideoError(shown, "no such file")
    if os.path.getsize(shown) == 0:
        raise VideoError(shown, "empty file")
    if shown.lower().endswith(ANIMATION_EXTENSIONS):
        return _probe_animation(shown, start, duration)
    return _probe_container(shown, start, duration)


def _probe_container(path, start, duration):
    av = require("av")
    try:
        container = av.open(path)
    except av.error.FFmpegError as err:
        raise VideoError(path, f"not a video file, or truncated ({_reason(err)})") from None
    with container:
        if not container.streams.video:
            raise VideoError(path, "no video stream")
        stream = container.streams.video[0]
        width, height = stream.codec_context.width, stream.codec_context.height
        if not width or not height:
            raise VideoError(path, "no video stream (no frame size)")
        _too_large(path, width, height)
        fps = stream.average_rate or stream.guessed_rate or stream.base_rate
        if not fps:
            raise VideoError(path, "no frame rate")
        length = float(container.duration / av.time_base) if container.duration else None
        end = _part(path, start, duration, length)
        base, origin = stream.time_base, stream.start_time or 0
        times = []
        try:
            for packet in container.demux(stream):
                if packet.size and packet.pts is not None:
                    times.append(float((packet.pts - origin) * base))
        except av.error.FFmpegError as err:
            raise VideoError(path, f"truncated or damaged ({_reason(err)})") from None
        if not times:
            raise VideoError(path, "no frames")
        if stream.frames and len(times) < stream.frames:
            raise VideoError(path, f"truncated: {len(times)} of its {stream.frames} frames are there")
        rotation = _rotation(path)
        count = sum(start <= t < end for t in times)
        if count == 0:
            raise VideoError(path, f"no frames between {start:g} s and {end:g} s")
        audio = container.streams.audio[0].codec_context.name if container.streams.audio else None
    return VideoInfo(path, "container", width, height, rotation, fractions.Fraction(fps), count, start,
                     count / float(fps), audio)


def _rotation(path):
    """The display rotation of the first frame, which also proves the pictures decode."""
    av = require("av")
    try:
        with av.open(path) as container:
            for frame in container.decode(video=0):
                return int(round(getattr(frame, "rotation", 0) or 0)) % 360
    except av.error.FFmpegError as err:
        raise VideoError(path, f"cannot be decoded ({_reason(err)})") from None
    raise VideoError(path, "no frame can be decoded")


def _seconds(im):
    # Browsers show a GIF frame of 0 or 10 ms for 100 ms: so do we, with 10 ms as the floor.
    milliseconds = float(im.info.get("duration") or 100)
    return (100.0 if milliseconds < 20 else milliseconds) / 1000.0


def _probe_animation(path, start, duration):
    try:
        with images.opened(path) as im:
            width, height = im.size
            _too_large(path, width, height)
            durations = []
            for index in range(getattr(im, "n_frames", 1)):
                im.seek(index)
                durations.append(_seconds(im))
    except images.ImageError as err:
        raise VideoError(path, err.reason) from None
    except (OSError, ValueError, EOFError) as err:
        raise VideoError(path, f"truncated or damaged ({err})") from None
    times = np.concatenate([[0.0], np.cumsum(durations)[:-1]])
    end = _part(path, start, duration, float(sum(durations)))
    chosen = [d for t, d in zip(times, durations) if start <= t < end]
    if not chosen:
        raise VideoError(path, "no frames")
    fps = fractions.Fraction(len(durations) / sum(durations)).limit_denominator(1001)
    return VideoInfo(path, "animation", width, height, 0, fps, len(chosen), start, float(sum(chosen)),
                     durations=chosen)


def _frame_number(path):
    numbers = re.findall(r"\d+", os.path.basename(path))
    return int(numbers[-1]) if numbers else None


def _probe_folder(path, start, duration, fps):
    fps = fractions.Fraction(fps if fps is not None else FRAMES_FPS).limit_denominator(1001)
    found = [item.path for item in discover_images(path) if not item.error]
    numbered = sorted((number, file) for file in found if (number := _frame_number(file)) is not None)
    if not numbered:
        raise VideoError(path, "no numbered image files (frame_0001.png, ...)")
    times = [index / float(fps) for index in range(len(numbered))]
    end = _part(path, start, duration, len(numbered) / float(fps))
    files = [file for t, (_, file) in zip(times, numbered) if start <= t < end]
    try:
        width, height = images.image_size(files[0])
    except images.ImageError as err:
        raise VideoError(err.path, err.reason) from None
    _too_large(path, width, height)
    return VideoInfo(path, "frames", width, height, 0, fps, len(files), start, len(files) / float(fps), files=files)


def _upright(pixels, rotation):
    return np.ascontiguousarray(np.rot90(pixels, rotation // 90)) if rotation else pixels


def read_frames(info: VideoInfo, size: int | None = None):
    """Yield the frames of ``info``'s part as uint8 ``[H, W, 3]`` arrays, upright, at ``info.working_size(size)``.

    Raises :class:`VideoError` if a frame cannot be decoded.

    Example:

    >>> next(read_frames(probe("clip.mp4"), size=64)).shape             # doctest: +SKIP
    (36, 64, 3)
    """
    width, height = info.working_size(size)
    if info.kind == "frames":
        for file in info.files:
            try:
                pixels = images.load_image(file)
            except images.ImageError as err:
                raise VideoError(err.path, err.reason) from None
            yield _resized(pixels, width, height)
        return
    if info.kind == "animation":
        yield from _animation_frames(info, width, height)
        return
    yield from _container_frames(info, width, height)


def _resized(pixels, width, height):
    array = np.asarray(pixels)
    if array.dtype != np.uint8:
        array = np.round(np.clip(array, 0.0, 1.0) * 255).astype(np.uint8)
    if array.shape[:2] == (height, width):
        return array
    return np.asarray(Image.fromarray(array).resize((width, height), Image.Resampling.LANCZOS, reducing_gap=2.0))


def _animation_frames(info, width, height):
    time, done = 0.0, 0
    with Image.open(info.path) as im:
        for index in range(getattr(im, "n_frames", 1)):
            im.seek(index)
            if done >= info.frames:
                return
            if time >= info.start - 1e-9:
                done += 1
                yield _resized(np.asarray(im.convert("RGB")), width, height)
            time += _seconds(im)


def _container_frames(info, width, height):
    av = require("av")
    stored = (height, width) if info.rotation % 180 else (width, height)
    end = info.start + info.duration
    done = 0
    try:
        with av.open(info.path) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            origin = stream.start_time or 0
            if info.start > 0:
                container.seek(int(info.start / stream.time_base) + origin, stream=stream, backward=True)
            for frame in container.decode(stream):
                time = float((frame.pts - origin) * stream.time_base) if frame.pts is not None else info.start
                if time < info.start - 1e-6:
                    continue
                if done >= info.frames or time >= end + 1e-6:
                    return
                pixels = frame.reformat(width=stored[0], height=stored[1], format="rgb24",
                                        interpolation="AREA").to_ndarray()
                done += 1
                yield _upright(pixels, info.rotation)
    except av.error.FFmpegError as err:
        raise VideoError(info.path, f"cannot be decoded ({_reason(err)})") from None
