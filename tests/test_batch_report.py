"""Item reports, the run's report and progress events (nst_keras.batch.report)."""

import json

from nst_keras import batch


def test_report_counts_lines_and_json(tmp_path):
    report = batch.BatchReport(source="photos", output_dir="out", styles=["wave.jpg"], shard=(1, 2), total=3)
    report.items += [
        batch.ItemReport("a.jpg", "wave", "out/a.jpg__wave.png", "done", seconds=1.5, losses={"loss": 0.5},
                         warnings=["animated or multi-page image; only the first frame is used"]),
        batch.ItemReport("b.jpg", None, None, "failed", "empty file"),
        batch.ItemReport("c.jpg", "wave", "out/c.jpg__wave.png", "skipped", "output exists"),
    ]
    assert report.summary() == "1 done, 1 failed, 1 skipped" and not report.ok
    assert report.failure_lines() == ["b.jpg: empty file"]
    path = tmp_path / "deep" / "report.json"
    report.write_json(path)
    data = json.loads(path.read_text())
    assert data["shard"] == "1/2" and data["counts"] == {"done": 1, "failed": 1, "skipped": 1, "total": 3}
    assert data["items"][0]["warnings"] == ["animated or multi-page image; only the first frame is used"]
    assert [p.name for p in path.parent.iterdir()] == ["report.json"]      # no temporary file left


def test_progress_lines():
    start = batch.Progress("stylizing", processed=1, total=None, contents=["a", "b", "c", "d"], style="wave",
                           size=(32, 40))
    assert start.line() == "[1/?] 0 done, 0 failed, 0 skipped, ETA --; stylising a, b, c and 1 more with wave at 40x32"
    assert batch.Progress("end", eta=4000).line().endswith("ETA 1h06m")
    assert batch.Progress("warning", message="anim.gif: first frame used").line() == "anim.gif: first frame used"
