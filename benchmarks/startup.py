"""Seconds from starting ``nst-keras stylize`` to its first optimisation step.

Runs the command line in a fresh process, ``--repeats`` times, at a small size
with one step (``--epochs 1 --steps-per-epoch 1``, VGG16 weights from a
file). A small bootstrap (``-c`` code, below) records wall-clock timestamps
without changing what runs: it installs an import hook that, when
``nst_keras.model`` is imported, wraps ``StyleTransferModel.__init__`` and
``fit`` to note when the model starts being built, when ``fit`` is called,
and when the first step begins and ends (a Keras callback); then it calls
``nst_keras.cli.main`` as the ``nst-keras`` script does. The parent notes the
time just before starting the process and when it has exited.

Phases (medians over the repeats):

- interpreter: process start to the bootstrap's first line (Python itself);
- imports and input checks: to ``nst_keras.model`` imported (the CLI parses
  the arguments, decodes the images and resolves the weights, then imports
  TensorFlow and Keras);
- to model build start; model build (VGG16 weights loaded, targets computed);
- compile and fit set-up: to the first step's start;
- first step: tracing the train step and running it;
- exit: saving the image and interpreter shutdown.

As a cross-check, the real ``nst-keras`` console script is also timed end to
end with the same arguments.

Usage::

    python benchmarks/startup.py                # 5 repeats at 128 px
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

import _perf

BOOTSTRAP = r"""
import json, os, sys, time
marks = {"bootstrap": time.time()}
import importlib.abc, importlib.machinery

def patch(module):
    cls = module.StyleTransferModel
    init, fit = cls.__init__, cls.fit
    def timed_init(self, *args, **kwargs):
        marks.setdefault("model_init", time.time())
        init(self, *args, **kwargs)
        marks.setdefault("model_built", time.time())
    def timed_fit(self, *args, **kwargs):
        import keras
        class FirstStep(keras.callbacks.Callback):
            def on_train_batch_begin(self, batch, logs=None):
                marks.setdefault("first_step_begin", time.time())
            def on_train_batch_end(self, batch, logs=None):
                marks.setdefault("first_step_end", time.time())
        marks.setdefault("fit_called", time.time())
        kwargs["callbacks"] = list(kwargs.get("callbacks") or []) + [FirstStep()]
        return fit(self, *args, **kwargs)
    cls.__init__, cls.fit = timed_init, timed_fit

class Hook(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name != "nst_keras.model":
            return None
        sys.meta_path.remove(self)
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        run = spec.loader.exec_module
        def exec_module(module):
            run(module)
            marks["model_imported"] = time.time()
            patch(module)
        spec.loader.exec_module = exec_module
        return spec

sys.meta_path.insert(0, Hook())
from nst_keras.cli import main
try:
    code = main(sys.argv[1:])
finally:
    with open(os.environ["NST_STARTUP_MARKS"], "w") as f:
        json.dump(marks, f)
sys.exit(code)
"""

PHASES = [
    ("interpreter start", "start", "bootstrap"),
    ("imports and input checks (to nst_keras.model imported)", "bootstrap", "model_imported"),
    ("to model build start", "model_imported", "model_init"),
    ("model build (VGG16 load, targets)", "model_init", "model_built"),
    ("compile and fit set-up", "model_built", "first_step_begin"),
    ("first step (trace + run)", "first_step_begin", "first_step_end"),
    ("save and exit", "first_step_end", "exit"),
]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--size", type=int, default=128, help="output long side (default 128)")
    parser.add_argument("--repeats", type=int, default=5, help="runs (default 5)")
    _perf.add_input_arguments(parser)
    args = parser.parse_args(argv)

    print("\n".join(_perf.machine_lines()))
    folder = tempfile.mkdtemp(prefix="nst_startup_")
    common = [args.content, args.style, "--size", str(args.size), "--epochs", "1", "--steps-per-epoch", "1",
              "--model", "vgg16", "--weights", args.weights, "--quiet", "--overwrite"]
    env = dict(os.environ)
    env.pop("TF_CPP_MIN_LOG_LEVEL", None)  # as a user's shell has it
    print(f"command: nst-keras stylize CONTENT STYLE -o OUT.png {' '.join(common[2:])}")
    print()
    runs, scripts = [], []
    script = shutil.which("nst-keras", path=os.path.dirname(sys.executable)) or shutil.which("nst-keras")
    try:
        for repeat in range(args.repeats):
            marks_file = os.path.join(folder, f"marks{repeat}.json")
            output = os.path.join(folder, "out.png")
            env["NST_STARTUP_MARKS"] = marks_file
            start = time.time()
            done = subprocess.run([sys.executable, "-c", BOOTSTRAP, "stylize", *common[:2], "-o", output,
                                   *common[2:]], env=env, capture_output=True, text=True)
            end = time.time()
            if done.returncode != 0:
                print(f"run {repeat} failed (exit {done.returncode}): {done.stderr.strip()[-500:]}")
                return 1
            with open(marks_file, encoding="utf-8") as file:
                marks = json.load(file)
            marks.update(start=start, exit=end)
            runs.append(marks)
            if script:
                start = time.perf_counter()
                subprocess.run([script, "stylize", *common[:2], "-o", output, *common[2:]], env=env,
                               capture_output=True, check=True)
                scripts.append(time.perf_counter() - start)
    finally:
        shutil.rmtree(folder, ignore_errors=True)

    print(f"{'phase':58} {'median s':>9} {'min':>6} {'max':>6}")
    for label, begin, end in PHASES:
        values = [run[end] - run[begin] for run in runs]
        print(f"{label:58} {_perf.median(values):9.2f} {min(values):6.2f} {max(values):6.2f}")
    to_first = [run["first_step_begin"] - run["start"] for run in runs]
    first_done = [run["first_step_end"] - run["start"] for run in runs]
    total = [run["exit"] - run["start"] for run in runs]
    print(f"{'start to first step begun':58} {_perf.median(to_first):9.2f} {min(to_first):6.2f} {max(to_first):6.2f}")
    print(f"{'start to first step done':58} {_perf.median(first_done):9.2f} {min(first_done):6.2f} "
          f"{max(first_done):6.2f}")
    print(f"{'whole command (bootstrap)':58} {_perf.median(total):9.2f} {min(total):6.2f} {max(total):6.2f}")
    if scripts:
        print(f"{'whole command (the nst-keras script itself)':58} {_perf.median(scripts):9.2f} "
              f"{min(scripts):6.2f} {max(scripts):6.2f}")
    print()
    print(f"load average at end: {_perf.load_average()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
