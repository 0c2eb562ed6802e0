"""A clip stylised file to file: checked first, frames kept as they are finished, the output written whole at the end.

:meth:`VideoJob.prepare` checks the source (:func:`nst_keras.video.io.probe`:
no pictures decoded, no TensorFlow), the output name and the style images, so
a bad input is refused with nothing written. :meth:`VideoJob.run` stylises the
frames into ``OUTPUT.partial/`` (one PNG each, written atomically), then
encodes the clip with the source's sound beside the output and renames it into
place. Interrupted, the same job run again continues from the first frame not
in ``OUTPUT.partial/``; each frame is stylised once.

Example:

>>> result = stylize_video_file("clip.mp4", output="out.mp4", network="wave.keras", size=512)   # doctest: +SKIP
>>> result.frames, result.audio                                                                # doctest: +SKIP
(120, 'copied')
"""

import dataclasses
import json
import os
import shutil
import time

import numpy as np
from PIL import Image

from nst_keras import images
from nst_keras.defaults import VIDEO_TEMPORAL_WEIGHT
from nst_keras.events import emit
from nst_keras.files import atomic_write, temp_sibling, unwritable_reason
from nst_keras.settings import StylizeSettings
from nst_keras.video import io, writer

PARTIAL_SUFFIX = ".partial"
_RECORD = "job.json"


def _frame_name(index):
    return f"frame_{index + 1:06d}.png"


@dataclasses.dataclass
class VideoResult:
    """What :meth:`VideoJob.run` did.

    Attributes:
        output: the clip written.
        frames: its frames.
        stylised: frames stylised by this run (the rest were kept from an interrupted one).
        seconds: the run's time.
        audio: what became of the sound (:func:`nst_keras.video.writer.write_video`).
    """

    output: str
    frames: int
    stylised: int
    seconds: float
    audio: str


@dataclasses.dataclass
class VideoJob:
    """One source clip stylised into one output clip; build it with :meth:`prepare`, then :meth:`run` it.

    Example:

    >>> job = VideoJob.prepare("clip.mp4", ["wave.jpg"], "out.mp4", size=256, epochs=4)   # doctest: +SKIP
    >>> job.info.frames                                                                  # doctest: +SKIP
    120
    """

    info: io.VideoInfo
    output: str
    size: int | None
    styles: list
    style_paths: list
    network: str | None
    settings: StylizeSettings
    options: dict
    frames_dir: str | None = None
    loaded: object = None  # the network, when the caller has loaded it already

    @classmethod
    def prepare(cls, source, style=(), output=None, *, network=None, size=None, start=0.0, duration=None, fps=None,
                frames_dir=None, overwrite=False, style_scale=1.0, settings=None, blend=None, frame_epochs=None,
                style_choice=None, vgg=None, weights="auto", **overrides):
        """Check everything that can be checked without TensorFlow; return the job.

        Args:
            source: a clip, an animated GIF or WebP, or a folder of numbered frames.
            style: style image files (the optimisation), or none with ``network``.
            output: the clip to write; its extension picks the format (:data:`nst_keras.video.writer.VIDEO_EXTENSIONS`).
            network: a style network file (from ``nst-keras train``).
            size: the long side of the frames stylised (default: the source's).
            start, duration: the part of the source, in seconds.
            fps: the rate of a folder of frames.
            frames_dir: also write the frames as PNG files into this folder.
            overwrite: replace ``output`` (and frames in ``frames_dir``).
            style_scale: the style images' long side relative to the frames'.
            settings, **overrides: the optimisation's
                :class:`~nst_keras.settings.StylizeSettings`.
            blend, frame_epochs, style_choice, vgg, weights: as
                :class:`~nst_keras.video.loop.FrameStylizer` takes them.

        Raises:
            nst_keras.video.VideoError: a source that cannot be used.
            nst_keras.images.ImageError: a style image that cannot be read.
            ValueError: an output that cannot be written, a bad setting.

        Example:

        >>> VideoJob.prepare("missing.mp4", output="out.mp4", network="wave.keras")
        Traceback (most recent call last):
        ...
        nst_keras.video.io.VideoError: missing.mp4: no such file
        """
        if output is None:
            raise ValueError("Expected `output`: the clip to write. Received: output=None")
        output = os.fspath(output)
        writer.check_extension(output)
        styles = [style] if isinstance(style, (str, os.PathLike)) else [os.fspath(path) for path in style]
        if (network is None) == (not styles):
            raise ValueError("Expected `style` images or a `network`, not both. "
                             f"Received: style={styles}, network={network!r}")
        info = io.probe(source, start, duration, fps)
        _check_output(output, os.fspath(source), overwrite)
        if frames_dir is not None and not overwrite and os.path.isdir(frames_dir) and any(
                name.startswith("frame_") for name in os.listdir(frames_dir)):
            raise ValueError(f"{frames_dir}: already holds frames; pass overwrite=True to replace them")
        if network is not None:
            from nst_keras.fast.files import check_network_file

            check_network_file(network)
        if settings is None:
            overrides.setdefault("temporal_weight", VIDEO_TEMPORAL_WEIGHT)
        settings = StylizeSettings.from_kwargs(settings, **overrides)
        style_size = max(images.MIN_SIDE, round(max(info.working_size(size)) * style_scale))
        decoded = [images.load_image(path, style_size) for path in styles]
        options = dict(blend=blend, frame_epochs=frame_epochs, style_choice=style_choice, vgg=vgg, weights=weights)
        return cls(info, output, size, decoded, styles, None if network is None else os.fspath(network), settings,
                   options, None if frames_dir is None else os.fspath(frames_dir))

    @property
    def partial(self):
        """The folder that keeps the finished frames: ``OUTPUT.partial``."""
        return self.output + PARTIAL_SUFFIX

    def _record(self):
        """What a resumed run must share with the interrupted one."""
        paths = [os.path.realpath(path) for path in self.style_paths]
        return {"source": os.path.realpath(self.info.path), "start": self.info.start, "frames": self.info.frames,
                "size": list(self.info.working_size(self.size)), "style": paths,
                "network": None if self.network is None else os.path.realpath(self.network),
                "settings": self.settings.to_dict(), "options": {k: v for k, v in self.options.items()
                                                                 if k not in ("vgg", "weights")}}

    def _open_partial(self):
        record = json.loads(json.dumps(self._record()))
        path = os.path.join(self.partial, _RECORD)
        if os.path.isdir(self.partial):
            try:
                with open(path, encoding="utf-8") as fp:
                    found = json.load(fp)
            except (OSError, ValueError):
                found = None
            if found == record:
                return sorted(name for name in os.listdir(self.partial) if name.startswith("frame_"))
            raise ValueError(f"{self.partial}: holds frames of another run; run the same command to continue it, "
                             "or delete the folder to start over")
        os.makedirs(self.partial)
        with atomic_write(path, "w") as fp:
            json.dump(record, fp)
        return []

    def run(self, *, on_event=None) -> VideoResult:
        """Stylise the frames not yet in ``OUTPUT.partial/``, then write the output; events go to ``on_event``.

        ``"start"``, then ``"progress"`` after each frame (``done``, ``total``,
        ``fps``, ``eta``), then ``"saved"``.

        Example:

        >>> job.run(on_event=lambda event: print(event.message))     # doctest: +SKIP
        """
        from nst_keras.video.loop import FrameStylizer

        start = time.perf_counter()
        done = set(self._open_partial())
        total = self.info.frames
        width, height = self.info.working_size(self.size)
        how = f"the network {os.path.basename(self.network)}" if self.network else "optimisation"
        emit(on_event, "start", f"stylising {total} frames of {width}x{height} at {float(self.info.fps):.3g} fps "
                                f"with {how}" + (f" ({len(done)} kept from before)" if done else ""),
             frames=total, kept=len(done), width=width, height=height)
        stylizer, previous, stylised = None, None, 0
        for index, frame in enumerate(io.read_frames(self.info, self.size)):
            name = _frame_name(index)
            if name in done:
                previous = (frame, index)
                continue
            if stylizer is None:
                network = self.network if self.loaded is None else self.loaded
                stylizer = FrameStylizer(network, self.styles or None, self.settings, on_event=on_event,
                                         **self.options)
            if previous is not None and stylizer.previous is None:
                stylizer.restore(previous[0], _load(os.path.join(self.partial, _frame_name(previous[1]))),
                                 previous[1] + 1)
            result = stylizer(frame)
            with atomic_write(os.path.join(self.partial, name)) as fp:
                Image.fromarray(result).save(fp, format="PNG", compress_level=1)
            stylised += 1
            elapsed = time.perf_counter() - start
            rate = stylised / elapsed
            eta = (total - index - 1) / rate
            emit(on_event, "progress", f"{index + 1}/{total} frames, {rate:.2f} frames/s, {eta:.0f} s left",
                 done=index + 1, total=total, fps=rate, eta=eta)
        audio = self._write()
        emit(on_event, "saved", f"wrote {self.output}", path=self.output, audio=audio)
        return VideoResult(self.output, total, stylised, time.perf_counter() - start, audio)

    def _frames(self):
        for index in range(self.info.frames):
            yield _load(os.path.join(self.partial, _frame_name(index)))

    def _write(self):
        temp = temp_sibling(self.output)
        info = self.info
        source = info.path if info.kind == "container" else None
        try:
            audio = writer.write_video(temp, self._frames(), info.fps, name=self.output, rotation=info.rotation,
                                       audio_from=source, start=info.start, duration=info.duration,
                                       durations=info.durations or None)
            os.replace(temp, self.output)
        except BaseException:
            if os.path.exists(temp):
                os.remove(temp)
            raise
        if self.frames_dir is not None:
            os.makedirs(self.frames_dir, exist_ok=True)
            for index in range(info.frames):
                shutil.copyfile(os.path.join(self.partial, _frame_name(index)),
                                os.path.join(self.frames_dir, _frame_name(index)))
        shutil.rmtree(self.partial, ignore_errors=True)
        return audio


def _load(path):
    with Image.open(path) as im:
        return np.asarray(im.convert("RGB"))


def _check_output(output, source, overwrite):
    if os.path.isdir(output):
        raise ValueError(f"{output}: is a directory")
    if os.path.exists(output) and os.path.realpath(output) == os.path.realpath(source):
        raise ValueError(f"{output}: is the same file as the input {source}")
    if os.path.lexists(output) and not overwrite:
        raise ValueError(f"{output}: already exists; pass overwrite=True to replace it")
    reason = unwritable_reason(output)
    if reason:
        raise ValueError(f"{output}: {reason}")


def stylize_video_file(source, style=(), output=None, *, on_event=None, **options) -> VideoResult:
    """Stylise the clip ``source`` into ``output``: :meth:`VideoJob.prepare` with ``options``, then run.

    Example:

    >>> stylize_video_file("clip.mp4", ["wave.jpg"], "out.mp4", size=256, epochs=4).frames   # doctest: +SKIP
    120
    """
    return VideoJob.prepare(source, style, output, **options).run(on_event=on_event)
