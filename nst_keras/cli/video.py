"""``nst-keras video``: stylise a clip without flicker, keep its sound, continue after a crash.

Parse, call :class:`nst_keras.video.VideoJob`, print. The source is checked
before TensorFlow loads (no pictures decoded), so a bad file is refused in
about a second with nothing written. Finished frames are kept in
``OUTPUT.partial/``; the same command run again continues from there.

Example:

>>> from nst_keras.cli import main
>>> main(["video", "clip.mp4", "-o", "out.mp4", "--network", "wave.keras"])  # doctest: +SKIP
0
"""

import argparse
import dataclasses
import sys

from nst_keras.cli import network as network_cli, options
from nst_keras.cli.common import (EXIT_FAILURE, EXIT_OK, UsageError, info, interrupt_on_sigterm, plural, usage_errors,
                                  weights_argument, weights_errors)
from nst_keras.defaults import VIDEO_BLEND, VIDEO_TEMPORAL_WEIGHT
from nst_keras.settings import ImageSettings, LossSettings, RunSettings

DESCRIPTION = (
    "Stylise the clip INPUT (MP4, MOV, MKV, WebM, AVI, an animated GIF or WebP, or a folder of numbered frames) into "
    "OUTPUT, whose extension picks the format (.mp4: H.264, yuv420p). The frame rate, duration, rotation and sound "
    "are kept; the sound is copied as it is where the format allows. With --network each frame goes through a "
    "network from nst-keras train, and the previous output is blended in along the optical flow where it is "
    "reliable (--blend-strength). With STYLE images each frame is optimised (Ruder et al. 2016): the first for "
    "--epochs, each later one for --frame-epochs from the previous result moved by the flow, held there by the "
    "temporal loss. Finished frames are kept in OUTPUT.partial/: after Ctrl-C or a crash the same command continues.")


def add_parser(commands: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add ``video`` to the sub-command parsers ``commands``; return its parser.

    Example:

    >>> from nst_keras.cli import build_parser
    >>> args = build_parser().parse_args(["video", "a.mp4", "-o", "b.mp4", "--network", "n.keras"])
    >>> args.size, args.blend, args.blend_strength, args.temporal_weight
    (None, True, 0.15, 100.0)
    """
    parser = commands.add_parser(
        "video", help="stylise a video clip, steady and with its sound",
        parents=[options.loss_options(), network_cli.network_options(),
                 options.model_options()],
        usage=("%(prog)s INPUT -o OUTPUT --network NETWORK.keras [options]\n"
               "       %(prog)s INPUT STYLE [STYLE ...] -o OUTPUT [options]"),
        description=DESCRIPTION,
        epilog="Exit status: 0 written, 1 interrupted (run the same command again to continue) or failed, "
               "2 bad usage or input.")
    parser.add_argument("input", metavar="INPUT", help="the clip, animated GIF/WebP, or folder of numbered frames")
    parser.add_argument("style", nargs="*", metavar="STYLE", help="style image(s) to optimise towards; none with "
                                                                   "--network")
    parser.add_argument("-o", "--output", required=True, help="the clip to write: .mp4 (default choice), .mov, "
                                                              ".mkv, .avi, .webm, .gif or .webp")
    options.add_setting(parser, ImageSettings, "size", default=None,
                        help="long side of the frames in pixels (default: the source's)")
    options.add_setting(parser, ImageSettings, "style_scale")
    parser.add_argument("--start", type=float, default=0.0, metavar="SECONDS", help="stylise from here (default 0)")
    parser.add_argument("--duration", type=float, default=None, metavar="SECONDS",
                        help="stylise this long (default: to the end)")
    parser.add_argument("--fps", type=float, default=None, metavar="RATE",
                        help="frame rate of a folder of frames (default 24)")
    parser.add_argument("--frames-dir", default=None, metavar="DIR", help="also write the frames as PNG files here")
    parser.add_argument("--blend", action=argparse.BooleanOptionalAction, default=True,
                        help="with --network: blend the previous output in along the optical flow where it is "
                             "reliable (default on)")
    parser.add_argument("--blend-strength", type=float, default=VIDEO_BLEND, metavar="S",
                        help="how much of the previous output --blend mixes in, 0 to 1 (default %(default)s)")
    options.add_setting(parser, LossSettings, "temporal_weight", default=VIDEO_TEMPORAL_WEIGHT,
                        help="with STYLE: weight of the temporal loss that holds each frame to the previous result "
                             "moved by the flow (0: frames optimised independently)")
    for name in ("epochs", "steps_per_epoch", "learning_rate", "precision"):
        options.add_setting(parser, RunSettings, name)
    parser.add_argument("--frame-epochs", type=options.positive_int, default=None, metavar="N",
                        help="with STYLE: epochs of each frame after the first (default: a quarter of --epochs)")
    parser.add_argument("--overwrite", action="store_true", help="replace OUTPUT (and frames in --frames-dir)")
    parser.add_argument("--quiet", action="store_true", help="print nothing but errors")
    parser.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    options.record_defaults(parser)
    return parser


# The options that apply with --network (the rest optimise the frames).
NETWORK_OPTIONS = ("output", "size", "start", "duration", "fps", "frames_dir", "blend", "blend_strength", "overwrite",
                   "quiet", "network", "style_index", "style_weights", "precision")


def _progress(args):
    """Events as lines; progress on one line rewritten in a terminal, every tenth of the clip otherwise."""
    tty = sys.stderr.isatty()

    def report(event):
        if event.kind in ("frame", "saved"):  # the last line says it
            return
        if event.kind != "progress":
            info(args, options.with_flags(event.message))
            return
        data = event.data
        step = max(1, data["total"] // 10)
        if tty and not args.quiet:
            end = "\n" if data["done"] == data["total"] else ""
            print(f"\r{event.message}   ", end=end, file=sys.stderr, flush=True)
        elif data["done"] % step == 0 or data["done"] == data["total"]:
            info(args, event.message)

    return report


def run(args: argparse.Namespace) -> int:
    """Run ``nst-keras video``: 0 written, 1 interrupted or failed, 2 bad usage or input.

    Example:

    >>> run(build_parser().parse_args(["video", "a.mp4", "-o", "b.mp4", "--network", "n.keras"]))  # doctest: +SKIP
    0
    """
    from nst_keras.video.extra import MissingExtra, require

    if args.network is not None:
        if args.style:
            raise UsageError(f"{args.style[0]}: STYLE images are not used with --network; leave them out")
        options.refuse_options(args, NETWORK_OPTIONS, "with --network")
        network_cli.check_network_file(args.network)
    elif not args.style:
        raise UsageError("video needs STYLE images to optimise towards, or --network NETWORK.keras")
    else:
        options.refuse_options(args, [name for name in vars(args) if name not in ("style_index", "style_weights",
                                                                                    "blend", "blend_strength")],
                               "without --network")
    if not 0.0 <= args.blend_strength <= 1.0:
        raise UsageError(f"--blend-strength: expected a number from 0 to 1, got {args.blend_strength}")
    try:
        require("av"), require("cv2")
    except MissingExtra as err:
        raise UsageError(str(err)) from None
    from nst_keras.video import VideoJob

    loss = {name: getattr(args, name) for name in LossSettings.names() if hasattr(args, name)}
    run_settings = {name: getattr(args, name) for name in ("epochs", "steps_per_epoch", "learning_rate", "precision")}
    with usage_errors(args):
        job = VideoJob.prepare(
            args.input, args.style, args.output, network=args.network, size=args.size, start=args.start,
            duration=args.duration, fps=args.fps, frames_dir=args.frames_dir, overwrite=args.overwrite,
            style_scale=args.style_scale, blend=args.blend_strength if args.blend else 0.0,
            frame_epochs=args.frame_epochs, style_choice=network_cli.network_style(args), vgg=args.model,
            weights=weights_argument(args), **loss, **run_settings)
    if args.network is not None:  # loaded here: the style choice is checked against it
        job = dataclasses.replace(job, loaded=network_cli.load_network(args)[0])
    try:
        with weights_errors(args), interrupt_on_sigterm():
            result = job.run(on_event=_progress(args))
    except KeyboardInterrupt:
        print(file=sys.stderr)
        info(args, f"interrupted: finished frames are kept in {job.partial}; run the same command again to continue")
        return EXIT_FAILURE
    kept = result.frames - result.stylised
    before = f"{kept} kept from before; " if kept else ""
    info(args, f"wrote {result.output}: {plural(result.frames, 'frame')} in {result.seconds:.1f} s "
               f"({before}sound {result.audio})")
    return EXIT_OK
