"""Clips in, clips out: frame count, rate, duration, size, rotation and sound kept; bad files refused."""

import fractions
import os

import numpy as np
import pytest
from PIL import Image

from _video_helpers import needs_video, run_cli, stream_facts, tiny_clip, tiny_network

pytestmark = needs_video


@pytest.fixture(scope="module")
def network(tmp_path_factory):
    return tiny_network(tmp_path_factory.mktemp("net") / "tiny.keras")


@pytest.mark.slow
def test_the_network_path_keeps_frames_rate_duration_size_and_sound(tmp_path, network):
    source = tmp_path / "clip.mp4"
    tiny_clip(source, frames=12, fps=fractions.Fraction(12))
    code, lines = run_cli("video", source, "-o", tmp_path / "out.mp4", "--network", network)
    assert code == 0, lines
    assert lines[-1].startswith(f"wrote {tmp_path / 'out.mp4'}: 12 frames in ")
    before, after = stream_facts(source), stream_facts(tmp_path / "out.mp4")
    assert after["frames"] == before["frames"] == 12
    assert after["fps"] == before["fps"] == 12
    assert after["seconds"] == pytest.approx(before["seconds"])
    assert after["size"] == before["size"] == (48, 32)
    assert after["audio"] == "aac" and after["audio_seconds"] == pytest.approx(before["audio_seconds"], abs=0.03)
    assert "sound copied" in lines[-1]
    assert not os.path.exists(f"{tmp_path / 'out.mp4'}.partial")


@pytest.mark.slow
def test_rotation_is_kept_and_frames_are_stylised_upright(tmp_path, network):
    source = tmp_path / "phone.mp4"
    tiny_clip(source, frames=4, width=48, height=32, rotation=90)
    code, lines = run_cli("video", source, "-o", tmp_path / "out.mov", "--network", network,
                          "--frames-dir", tmp_path / "frames")
    assert code == 0, lines
    assert stream_facts(tmp_path / "out.mov")["rotation"] == stream_facts(source)["rotation"] == 90
    assert stream_facts(tmp_path / "out.mov")["size"] == stream_facts(source)["size"] == (32, 48)
    frames = sorted(os.listdir(tmp_path / "frames"))
    assert len(frames) == 4 and Image.open(tmp_path / "frames" / frames[0]).size == (48, 32)  # upright


def test_a_part_is_read_at_the_working_size(tmp_path):
    from nst_keras.video import probe, read_frames

    tiny_clip(tmp_path / "clip.mp4", frames=24, fps=fractions.Fraction(12))
    info = probe(tmp_path / "clip.mp4", start=0.5, duration=1.0)
    frames = list(read_frames(info, size=24))
    assert (info.frames, info.duration) == (12, 1.0)
    assert len(frames) == 12 and frames[0].shape == (16, 24, 3) and frames[0].dtype == np.uint8


def test_gif_and_frame_folders_are_read_and_written(tmp_path):
    from nst_keras.video import probe, read_frames, write_video

    clip = [np.full((16, 20, 3), 20 * i, np.uint8) for i in range(5)]
    assert write_video(tmp_path / "a.gif", clip, fractions.Fraction(10)) == "none"
    info = probe(tmp_path / "a.gif")
    assert (info.kind, info.frames, info.duration) == ("animation", 5, pytest.approx(0.5))
    assert [int(f.mean()) for f in read_frames(info)] == [0, 20, 40, 60, 80]
    folder = tmp_path / "frames"
    folder.mkdir()
    for i in (10, 2, 1):  # numbered, not zero-padded: read in numeric order
        Image.fromarray(np.full((16, 20, 3), i, np.uint8)).save(folder / f"f{i}.png")
    info = probe(folder, fps=5)
    assert (info.kind, info.frames, float(info.fps)) == ("frames", 3, 5.0)
    assert [int(f.mean()) for f in read_frames(info)] == [1, 2, 10]


def _audio_only(path):
    import av

    from nst_keras.video import synthetic

    with av.open(str(path), "w", format="mp4") as out:
        stream = out.add_stream("aac", rate=22050)
        frame = av.AudioFrame.from_ndarray(synthetic.tone(0.2, 22050)[None], format="fltp", layout="mono")
        frame.sample_rate = 22050
        out.mux(stream.encode(frame))
        out.mux(stream.encode())


@pytest.mark.parametrize("case, reason", [
    ("text", "not a video file"), ("audio", "no video stream"), ("truncated", "truncated"),
    ("empty", "empty file"), ("no_frames", "no numbered image files"), ("huge", "above the limit"),
    ("late", "past the end"),
])
def test_bad_sources_get_one_line_exit_2_and_no_output(tmp_path, network, monkeypatch, case, reason):
    source = tmp_path / "in.mp4"
    extra = []
    if case == "text":
        source.write_text("not a video at all\n" * 50)
    elif case == "audio":
        _audio_only(source)
    elif case == "truncated":
        tiny_clip(source, frames=24, sound=False)
        data = source.read_bytes()
        source.write_bytes(data[: len(data) * 2 // 3])  # moov is at the start (faststart): the frames are cut
    elif case == "empty":
        source.write_bytes(b"")
    elif case == "no_frames":
        source = tmp_path / "frames"
        source.mkdir()
        (source / "notes.txt").write_text("no pictures")
    elif case == "huge":
        tiny_clip(source, frames=2, sound=False)
        monkeypatch.setattr("nst_keras.video.io.MAX_FRAME_PIXELS", 1000)
    elif case == "late":
        tiny_clip(source, frames=2, sound=False)
        extra = ["--start", "5"]
    output = tmp_path / "out.mp4"
    code, lines = run_cli("video", source, "-o", output, "--network", network, *extra)
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith(f"nst-keras: error: {source}") and reason in lines[0], lines
    assert not output.exists() and not os.path.exists(f"{output}.partial")


def test_usage_errors(tmp_path, network):
    tiny_clip(tmp_path / "in.mp4", frames=2, sound=False)
    code, lines = run_cli("video", tmp_path / "in.mp4", "-o", tmp_path / "o.flv", "--network", network)
    assert code == 2 and ".mp4" in lines[-1]
    code, lines = run_cli("video", tmp_path / "in.mp4", "-o", tmp_path / "o.mp4")
    assert code == 2 and "STYLE images" in lines[-1]
    code, lines = run_cli("video", tmp_path / "in.mp4", "-o", tmp_path / "o.mp4", "--network", network,
                          "--epochs", "3")
    assert code == 2 and lines[-1].endswith("--epochs: not used with --network; leave it out")


def test_a_missing_extra_is_one_line_naming_the_install(tmp_path, monkeypatch, network):
    import nst_keras.video.extra as extra

    real = extra.importlib.import_module

    def without_av(name, *args):
        if name == "av":
            raise ImportError("No module named 'av'")
        return real(name, *args)

    monkeypatch.setattr(extra.importlib, "import_module", without_av)
    code, lines = run_cli("video", tmp_path / "in.mp4", "-o", tmp_path / "o.mp4", "--network", network)
    assert code == 2
    assert lines == ['nst-keras: error: video needs av, which is not installed: pip install "nst_keras[video]"']
