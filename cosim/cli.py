"""``pcsim``: the command line (DESIGN.md section 5)."""

import argparse
import os
import sys
import tempfile
from pathlib import Path

__all__ = ["main"]


class CliError(Exception):
    """A user error: printed as one line, exit status 2."""


def _atomic_write(path, text):
    """Write ``text`` to ``path`` via a temporary file, so no half-written file is left."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def cmd_verilog(args):
    from rtl.export import verilog_text, TOPS
    if args.top not in TOPS:
        raise CliError(f"unknown top {args.top!r} (choose {', '.join(TOPS)})")
    try:
        text = verilog_text(args.top, args.clk_hz)
    except ValueError as exc:
        raise CliError(str(exc)) from None
    out = Path(args.output) / f"{args.top}.v"
    _atomic_write(out, text)
    print(f"wrote {out} ({len(text.splitlines())} lines, top module {args.top}, "
          f"{args.clk_hz} Hz)")


def cmd_regmap(args):
    from rtl.regmap import REGMAP
    text = {"md": REGMAP.to_markdown, "c": REGMAP.to_c_header,
            "json": REGMAP.to_json}[args.format]()
    if args.output:
        _atomic_write(args.output, text)
    else:
        sys.stdout.write(text)


def _stack_run(func, *a, **kw):
    """Run play/record, turning bad input and simulation failures into one-line errors."""
    from .build import SimulationFailed
    from .wavio import WavError
    try:
        return func(*a, **kw)
    except (WavError, ValueError) as exc:
        raise CliError(str(exc)) from None
    except SimulationFailed as exc:
        raise CliError(f"simulation failed: {exc}") from None


def cmd_play(args):
    from .player import play
    report = _stack_run(play, args.input, args.out, sim=args.sim, miniport=args.miniport,
                        waves=args.waves, report_path=args.report, quiet=args.quiet,
                        volume_db=args.volume, mute=args.mute, packet_mode=args.packet_mode)
    verdict = "bit-exact" if report["bit_exact"] else \
        f"NOT bit-exact ({report['mismatched_frames']} frames differ)"
    if args.volume is not None or args.mute:
        verdict += (f" at {report['volume_db']:+.2f} dB" +
                    (", muted" if report["mute"] else "") + " (codec gain model)")
    print(f"pcsim play: {report['frames_out']} of {report['frames_in']} frames reached the "
          f"DAC, {verdict}, {report['underruns']} underruns; wrote {report['output']}",
          file=sys.stderr)
    return 0 if report["bit_exact"] and report["frames_out"] == report["frames_in"] else 1


def cmd_record(args):
    from .player import record
    report = _stack_run(record, args.output, args.seconds, in_wav=args.input,
                        tone_hz=args.tone, sim=args.sim, miniport=args.miniport,
                        waves=args.waves, report_path=args.report, quiet=args.quiet,
                        packet_mode=args.packet_mode)
    verdict = "bit-exact" if report["bit_exact"] else "NOT bit-exact"
    print(f"pcsim record: {report['frames_out']} frames from the microphone ({verdict}), "
          f"{report['underruns']} overruns; wrote {report['output']}", file=sys.stderr)
    return 0 if report["bit_exact"] else 1


def cmd_midi_play(args):
    from .midi_player import midi_play
    report = _stack_run(midi_play, args.input, dmus=args.dmus, sim=args.sim,
                        seconds=args.seconds, report_path=args.report, quiet=args.quiet)
    verdict = "intact and in order" if report["intact"] else "NOT intact"
    print(f"pcsim midi play: {report['messages_on_wire']} of {report['messages_played']} "
          f"messages on the wire through the {report['port']} port, {verdict}; max timing "
          f"error {report['max_timing_error_us']:.1f} us", file=sys.stderr)
    return 0 if report["intact"] else 1


def cmd_mixer(args):
    import json
    from .build import SimulationFailed
    from .jobs import run_sim_job
    from .mixer import format_mixer
    with tempfile.TemporaryDirectory(prefix="pcsim-mixer-") as work:
        try:
            snap = run_sim_job("mixer_job", {}, args.sim, work)
        except SimulationFailed as exc:
            raise CliError(f"simulation failed: {exc}") from None
    snap.pop("build_s", None)
    sys.stdout.write(json.dumps(snap, indent=2) + "\n" if args.json else format_mixer(snap))


def cmd_demo(args):
    from cosim import demo
    return demo.main(sim=args.sim)


def cmd_bench(args):
    from bench import stream_bench
    return stream_bench.main(["--sim", *args.sim, "--seconds", str(args.seconds),
                              "--path", args.path, "--miniport", args.miniport]
                             + ([] if args.pgo else ["--no-pgo"]))


def _positive_int(text):
    try:
        value = int(float(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be positive: {text!r}")
    return value


def _decibels(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number of dB: {text!r}") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise argparse.ArgumentTypeError(f"not a finite number of dB: {text!r}")
    return value


def _miniports():
    from .player import MINIPORTS
    return MINIPORTS


def _stack_options(parser):
    """The options play and record share (DESIGN.md section 5)."""
    parser.add_argument("--miniport", choices=_miniports(), default="wavert")
    parser.add_argument("--sim", choices=("verilator", "icarus"), default="verilator")
    parser.add_argument("--waves", metavar="FILE.fst|FILE.vcd", help="record waveforms")
    parser.add_argument("--report", metavar="R.json", help="write the JSON report here")
    parser.add_argument("--packet-mode", action="store_true",
                        help="stream in WaveRT packets (Windows 10's low-latency path; "
                             "needs --miniport wavert)")
    parser.add_argument("-q", "--quiet", action="store_true", help="do not print the report")


def build_parser():
    p = argparse.ArgumentParser(prog="pcsim", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    v = sub.add_parser("verilog", help="export the hardware as Verilog")
    v.add_argument("-o", "--output", default=".", help="output directory (default: .)")
    v.add_argument("--top", default="audio_soc", help="audio_soc (default) or controller")
    v.add_argument("--clk-hz", type=_positive_int, default=12_288_000,
                   help="clock frequency, a multiple of 48 kHz >= 12.288 MHz")
    v.set_defaults(func=cmd_verilog)

    r = sub.add_parser("regmap", help="export the register map")
    r.add_argument("--format", choices=("md", "c", "json"), default="md")
    r.add_argument("-o", "--output", help="output file (default: standard output)")
    r.set_defaults(func=cmd_regmap)

    pl = sub.add_parser("play", help="play a WAV through the driver stack to the DAC")
    pl.add_argument("input", metavar="IN.wav")
    pl.add_argument("--out", metavar="OUT.wav", help="what reached the DAC (default: "
                    "IN_out.wav beside the input)")
    pl.add_argument("--volume", type=_decibels, metavar="DB",
                    help="headphone volume in dB (-71.25 .. +24 in 0.75 dB steps; rounded to "
                         "the nearest step)")
    pl.add_argument("--mute", action="store_true", help="mute the headphone output")
    _stack_options(pl)
    pl.set_defaults(func=cmd_play)

    rc = sub.add_parser("record", help="record from the microphone through the driver stack")
    rc.add_argument("output", metavar="OUT.wav")
    rc.add_argument("--seconds", type=float, required=True, help="how much to record")
    src = rc.add_mutually_exclusive_group(required=True)
    src.add_argument("--in", dest="input", metavar="IN.wav", help="feed the microphone a WAV")
    src.add_argument("--tone", type=float, metavar="HZ", help="feed the microphone a sine")
    _stack_options(rc)
    rc.set_defaults(func=cmd_record)

    md = sub.add_parser("midi", help="MIDI through the MIDI or DMus port")
    msub = md.add_subparsers(dest="midi_command", required=True, metavar="ACTION")
    mp = msub.add_parser("play", help="play a standard MIDI file (type 0 or 1) to the wire")
    mp.add_argument("input", metavar="FILE.mid")
    mp.add_argument("--dmus", action="store_true",
                    help="through the DMus port and the hardware's timestamped queue "
                         "(default: the MIDI port, timed by the application)")
    mp.add_argument("--sim", choices=("verilator", "icarus"), default="verilator")
    mp.add_argument("--seconds", type=float, metavar="S",
                    help="play only the first S seconds of the file")
    mp.add_argument("--report", metavar="R.json", help="write the JSON report here")
    mp.add_argument("-q", "--quiet", action="store_true", help="do not print the report")
    mp.set_defaults(func=cmd_midi_play)

    mx = sub.add_parser("mixer", help="print the topology (nodes, connections, values)")
    mx.add_argument("--sim", choices=("verilator", "icarus"), default="verilator")
    mx.add_argument("--json", action="store_true", help="print it as JSON")
    mx.set_defaults(func=cmd_mixer)

    d = sub.add_parser("demo", help="stream the bundled example through SD1 and check it")
    d.add_argument("--sim", choices=("verilator", "icarus"), default="verilator")
    d.set_defaults(func=cmd_demo)

    b = sub.add_parser("bench", help="measure streaming speed on the simulators")
    b.add_argument("--sim", nargs="+", choices=("verilator", "icarus"),
                   default=["verilator", "icarus"])
    b.add_argument("--seconds", type=float, default=1.0, help="audio seconds per run")
    b.add_argument("--path", choices=("register", "stack"), default="register",
                   help="register-level code on SD1 (default) or pcsim play through the "
                        "driver stack")
    b.add_argument("--miniport", choices=_miniports(), default="wavert",
                   help="the wave miniport of the stack path")
    b.add_argument("--no-pgo", dest="pgo", action="store_false",
                   help="Verilator: the plain build, not the profile-guided one")
    b.set_defaults(func=cmd_bench)
    return p


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status = args.func(args)
    except CliError as exc:
        print(f"pcsim: error: {exc}", file=sys.stderr)
        return 2
    return int(status or 0)


if __name__ == "__main__":
    sys.exit(main())
