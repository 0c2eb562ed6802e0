"""Tiny clips made in the tests (no files shipped), and the skip when the video extra is missing."""

import fractions

import numpy as np
import pytest

from _cli_helpers import run_cli  # noqa: F401 (the video tests take it from here)
from nst_keras.video.extra import INSTALL, available

needs_video = pytest.mark.skipif(not available(), reason=f"the video extra is not installed: {INSTALL}")


def texture(seed=0, shape=(120, 160, 3)):
    """A smooth random picture: noise blurred by nearest-neighbour upsampling and averaging."""
    coarse = np.random.default_rng(seed).integers(0, 256, (shape[0] // 8, shape[1] // 8, 3)).astype(np.float32)
    fine = np.kron(coarse, np.ones((8, 8, 1), np.float32))
    smooth = (fine + np.roll(fine, 4, 0) + np.roll(fine, 4, 1) + np.roll(fine, (4, 4), (0, 1))) / 4
    return smooth.astype(np.uint8)


def tiny_clip(path, frames=12, width=48, height=32, fps=fractions.Fraction(12), rotation=0, sound=True):
    """Write a pan over a random texture with a tone; return the frames (upright)."""
    from nst_keras.video import synthetic, writer

    clip = synthetic.camera_clip(texture(), width=width, height=height, frames=frames, disc=texture(1))
    audio = (synthetic.tone(frames / float(fps), 22050), 22050) if sound else None
    writer.write_video(str(path), clip, fps, rotation=rotation, audio_from=audio)
    return clip


def tiny_network(path):
    """A random 4-filter style network file."""
    from nst_keras.fast import StyleNetwork, save_network

    network = StyleNetwork(filters=4, residual_blocks=1)
    network(np.zeros((1, 8, 8, 3), "float32"))
    save_network(network, str(path), {"styles": ["noise.png"]})
    return str(path)


def stream_facts(path):
    """Frames, rate, video seconds, stored size, rotation, audio codec and audio seconds of a file."""
    import av

    with av.open(str(path)) as container:
        video = container.streams.video[0]
        frames = sum(1 for packet in container.demux(video) if packet.size)
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        rotation = next(container.decode(video)).rotation
        audio = container.streams.audio[0] if container.streams.audio else None
        return dict(frames=frames, fps=video.average_rate, seconds=float(video.duration * video.time_base),
                    size=(video.codec_context.width, video.codec_context.height), rotation=rotation,
                    audio=audio and audio.codec_context.name,
                    audio_seconds=audio and float(audio.duration * audio.time_base))
