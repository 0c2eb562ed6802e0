"""Writing clips: H.264 MP4 (or the container the extension names) with the source's sound, or GIF/WebP.

:func:`write_video` encodes uint8 upright frames at a constant frame rate.
MP4, MOV, MKV and AVI get H.264 in yuv420p (what browsers play), WebM gets
VP9; the stored orientation and the rotation flag of the source are kept
(the frames are turned back and the flag is set). The sound is copied
packet for packet where the container takes its codec (AAC into MP4, Opus
into WebM ...), otherwise decoded and encoded again in the container's usual
codec; GIF and animated WebP (Pillow) have no sound.

Example:

>>> write_video("out.mp4", frames, fractions.Fraction(24), audio_from="clip.mp4")   # doctest: +SKIP
'copied'
"""

import fractions
import io
import os

import numpy as np
from PIL import Image

from nst_keras.video.extra import require

# Extension -> (FFmpeg container, video codec); GIF and WebP go through Pillow.
CONTAINERS = {".mp4": ("mp4", "libx264"), ".m4v": ("mp4", "libx264"), ".mov": ("mov", "libx264"),
              ".mkv": ("matroska", "libx264"), ".avi": ("avi", "libx264"), ".webm": ("webm", "libvpx-vp9")}
ANIMATIONS = (".gif", ".webp")
VIDEO_EXTENSIONS = tuple(CONTAINERS) + ANIMATIONS
# x264's constant quality: 18 is visually lossless for most material.
CRF = 18


def check_extension(path) -> str:
    """The lower-case extension of ``path``, or ``ValueError`` if it names no format written here.

    Example:

    >>> check_extension("out.MP4")
    '.mp4'
    >>> check_extension("out.flv")   # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: Expected `output` to end in one of .mp4, .m4v, .mov, .mkv, .avi, .webm, ... Received: output='out.flv'
    """
    ext = os.path.splitext(os.fspath(path))[1].lower()
    if ext not in VIDEO_EXTENSIONS:
        raise ValueError(f"Expected `output` to end in one of {', '.join(VIDEO_EXTENSIONS)}. "
                         f"Received: output={os.fspath(path)!r}")
    return ext


def write_video(path, frames, fps, *, name=None, rotation=0, audio_from=None, start=0.0, duration=None,
                durations=None) -> str:
    """Encode ``frames`` (uint8 ``[H, W, 3]``, upright) into ``path``; return what became of the sound.

    Args:
        path: the file to write (a temporary name is fine: ``name`` gives the format).
        frames: an iterable of frames of one size (even sides for H.264).
        fps: the frame rate (a ``fractions.Fraction`` keeps 30000/1001 exact).
        name: the file name whose extension picks the format (default ``path``).
        rotation: the source's rotation flag (degrees counter-clockwise): the
            frames are stored turned back and the flag is set, as in the source.
        audio_from: a file whose first audio stream is copied in, or
            ``(samples, rate)``: float samples in [-1, 1] (``[n]`` or
            ``[n, channels]``) to encode.
        start, duration: the part of ``audio_from``'s sound to take, in seconds.
        durations: for GIF and WebP, each frame's duration in seconds.

    Returns:
        ``"copied"``, ``"re-encoded"``, ``"encoded"`` (samples given), ``"none"`` (no sound in the source),
        or ``"dropped"`` (GIF and WebP have none).

    Example:

    >>> import tempfile
    >>> write_video(os.path.join(tempfile.mkdtemp(), "out.gif"), [np.zeros((8, 8, 3), "uint8")] * 3, 10)
    'none'
    """
    ext = check_extension(name or path)
    if ext in ANIMATIONS:
        _write_animation(path, ext, frames, fps, durations)
        sound = isinstance(audio_from, tuple) or (audio_from is not None and _has_audio(audio_from))
        return "dropped" if sound else "none"
    av = require("av")
    container_format, codec = CONTAINERS[ext]
    options = {"movflags": "+faststart"} if container_format in ("mp4", "mov") else {}
    with av.open(os.fspath(path), "w", format=container_format, options=options) as out:
        stream = None
        for index, frame in enumerate(frames):
            if stream is None:
                stream = _video_stream(out, codec, fps, frame, rotation)
                sound = _audio(out, container_format, audio_from, start, duration)
            picture = av.VideoFrame.from_ndarray(np.ascontiguousarray(np.rot90(frame, -(rotation // 90))),
                                                 format="rgb24")
            picture.pts = index
            out.mux(stream.encode(picture))
        if stream is None:
            raise ValueError("Expected at least one frame. Received: frames with none")
        out.mux(stream.encode())
        return sound(out)


def _video_stream(out, codec, fps, frame, rotation):
    stream = out.add_stream(codec, rate=fractions.Fraction(fps))
    height, width = frame.shape[:2]
    stream.width, stream.height = (height, width) if rotation % 180 else (width, height)
    stream.pix_fmt = "yuv420p"
    stream.time_base = 1 / fractions.Fraction(fps)
    if codec == "libx264":
        stream.options = {"crf": str(CRF), "preset": "medium"}
    else:
        stream.options = {"crf": "30", "b": "0", "row-mt": "1", "deadline": "good", "cpu-used": "4"}
    if rotation:
        stream.set_display_rotation(rotation)
    return stream


def _has_audio(source):
    av = require("av")
    try:
        with av.open(os.fspath(source)) as container:
            return bool(container.streams.audio)
    except (av.error.FFmpegError, OSError):
        return False


def _copyable(container_format, template):
    """Whether ``container_format`` takes ``template``'s packets as they are (a header written to memory)."""
    av = require("av")
    try:
        with av.open(io.BytesIO(), "w", format=container_format) as trial:
            trial.add_stream_from_template(template)
            trial.start_encoding()
        return True
    except (av.error.FFmpegError, ValueError, NotImplementedError):
        return False


def _audio(out, container_format, source, start, duration):
    """Add the audio stream to ``out`` now (before the header); return the function that writes the sound."""
    if isinstance(source, tuple):
        return _samples(out, container_format, *source)
    if source is None or not _has_audio(source):
        return lambda out: "none"
    av = require("av")
    reader = av.open(os.fspath(source))
    template = reader.streams.audio[0]
    end = start + duration if duration is not None else float("inf")
    origin = template.start_time or 0
    if _copyable(container_format, template):
        stream = out.add_stream_from_template(template)
        offset = int(round(start / template.time_base))

        def copy(out):
            with reader:
                for packet in reader.demux(template):
                    if packet.pts is None or not packet.size:
                        continue
                    time = float((packet.pts - origin) * template.time_base)
                    if start <= time < end:
                        packet.pts -= origin + offset
                        packet.dts = None if packet.dts is None else packet.dts - origin - offset
                        packet.stream = stream
                        out.mux(packet)
            return "copied"

        return copy
    stream, resampler = _audio_encoder(out, container_format, template.codec_context.sample_rate,
                                       template.codec_context.layout.nb_channels)

    def within(frames):
        for frame in frames:
            time = float((frame.pts - origin) * template.time_base) if frame.pts is not None else 0.0
            if start <= time < end:
                yield frame

    def encode(out):
        with reader:
            _encode(out, stream, resampler, within(reader.decode(template)))
        return "re-encoded"

    return encode


def _audio_encoder(out, container_format, rate, channels):
    """An audio stream in the container's usual codec (AAC; Opus in WebM) and a resampler to its format."""
    av = require("av")
    codec = "libopus" if container_format == "webm" else "aac"
    stream = out.add_stream(codec, rate=48000 if codec == "libopus" else rate)
    stream.layout = "stereo" if channels > 1 else "mono"
    resampler = av.AudioResampler(format=stream.codec_context.codec.audio_formats[0].name, layout=stream.layout,
                                  rate=stream.rate)
    return stream, resampler


def _encode(out, stream, resampler, frames):
    """Resample ``frames`` to ``stream``'s format, encode them into ``out`` and flush the encoder."""
    for frame in frames:
        for part in resampler.resample(frame):
            part.pts = None  # the muxer numbers the resampled parts
            out.mux(stream.encode(part))
    out.mux(stream.encode())


def _samples(out, container_format, samples, rate):
    av = require("av")
    samples = np.asarray(samples, "float32").reshape(len(samples), -1)
    stream, resampler = _audio_encoder(out, container_format, int(rate), samples.shape[1])

    def encode(out):
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples.T), format="fltp", layout=stream.layout)
        frame.sample_rate = int(rate)
        _encode(out, stream, resampler, [frame])
        return "encoded"

    return encode


def _write_animation(path, ext, frames, fps, durations):
    pictures = [Image.fromarray(np.asarray(frame)) for frame in frames]
    if not pictures:
        raise ValueError("Expected at least one frame. Received: frames with none")
    milliseconds = [int(round(1000 * d)) for d in durations] if durations else [int(round(1000 / fps))] * len(pictures)
    options = {"lossless": False, "quality": 90} if ext == ".webp" else {"optimize": False, "disposal": 1}
    with open(path, "wb") as fp:
        pictures[0].save(fp, format=ext[1:].upper(), save_all=True, append_images=pictures[1:], loop=0,
                         duration=milliseconds[:len(pictures)], **options)
