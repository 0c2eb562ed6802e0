"""The frame loop and the file job: resume stylises each frame once; the optimisation's schedule; the API."""

import os

import numpy as np
import pytest

from _video_helpers import needs_video, tiny_clip, tiny_network

pytestmark = needs_video


class _Stop(Exception):
    pass


@pytest.mark.slow
def test_an_interrupted_run_continues_and_stylises_each_frame_once(tmp_path):
    from nst_keras.video import VideoJob, probe

    tiny_clip(tmp_path / "clip.mp4", frames=10)
    network = tiny_network(tmp_path / "net.keras")
    output = tmp_path / "out.mp4"
    stylised = []

    def stop_after_four(event):
        if event.kind == "frame":
            stylised.append(event.data["index"])
            if len(stylised) == 4:
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        VideoJob.prepare(tmp_path / "clip.mp4", output=output, network=network).run(on_event=stop_after_four)
    assert not output.exists()
    assert sorted(os.listdir(f"{output}.partial")) == ["frame_00000{}.png".format(i) for i in range(1, 4)] + [
        "job.json"]  # the fourth frame was being saved when the run stopped
    events = []
    result = VideoJob.prepare(tmp_path / "clip.mp4", output=output, network=network).run(on_event=events.append)
    again = [event.data["index"] for event in events if event.kind == "frame"]
    assert sorted(stylised[:3] + again) == list(range(10))
    assert (result.frames, result.stylised) == (10, 7)
    assert probe(output).frames == 10 and not os.path.exists(f"{output}.partial")
    assert [event.kind for event in events][:2] == ["start", "frame"] and events[-1].kind == "saved"
    progress = [event.data for event in events if event.kind == "progress"]
    assert progress[-1]["done"] == progress[-1]["total"] == 10 and progress[-1]["fps"] > 0


def test_a_partial_folder_of_another_run_is_refused(tmp_path):
    from nst_keras.video import VideoJob

    tiny_clip(tmp_path / "clip.mp4", frames=3, sound=False)
    network = tiny_network(tmp_path / "net.keras")
    os.makedirs(tmp_path / "out.mp4.partial")
    (tmp_path / "out.mp4.partial" / "job.json").write_text('{"source": "elsewhere"}')
    job = VideoJob.prepare(tmp_path / "clip.mp4", output=tmp_path / "out.mp4", network=network)
    with pytest.raises(ValueError, match="holds frames of another run"):
        job.run()


def test_the_python_api_is_a_generator_over_any_frames():
    from nst_keras.fast import StyleNetwork
    from nst_keras.video import stylize_video

    frames = (np.full((16, 24, 3), value, np.uint8) for value in (10, 20, 30))
    results = stylize_video(frames, network=StyleNetwork(filters=4, residual_blocks=1), blend=0.5)
    first = next(results)
    assert first.shape == (16, 24, 3) and first.dtype == np.uint8
    assert len(list(results)) == 2


@pytest.mark.slow
def test_the_optimisation_gives_later_frames_a_quarter_of_the_steps_and_holds_them_to_the_last(tmp_path):
    from nst_keras.video import stylize_video
    from nst_keras.video.synthetic import camera_clip
    from _video_helpers import texture

    clip = camera_clip(texture(0, (96, 128, 3)), width=48, height=32, frames=4, pan=(0.05, 0.0), zoom=(1.2, 1.2))
    style = texture(3, (40, 40, 3))

    def run(temporal_weight):
        events = []
        outputs = list(stylize_video(clip, [style], vgg="vgg16", weights=None, epochs=8, steps_per_epoch=2,
                                     temporal_weight=temporal_weight, init="noise", seed=0, on_event=events.append))
        return outputs, [event.data for event in events if event.kind == "frame"]

    held, frames = run(1e4)
    assert [frame["steps"] for frame in frames] == [16, 4, 4, 4]
    assert all(frame["reliable"] > 0.5 for frame in frames[1:])
    free, _ = run(0.0)
    from nst_keras.video.flow import warping_error

    assert warping_error(held, clip) < warping_error(free, clip)
