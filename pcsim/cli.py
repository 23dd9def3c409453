"""``pcsim``: co-simulate the audio device and its PortCls driver stack (docs/cli.md)."""

from __future__ import annotations

import argparse
import json
import math
import signal
import sys
from pathlib import Path

from harness.build import DEFAULT_CLK_HZ
from harness.job import MINIPORTS
from rtl.export import TOPS, verilog_text
from rtl.regmap import REGMAP

from . import __version__, bench, board, campaign, demo
from .errors import (EXIT_CHECK_FAILED, EXIT_CODES, EXIT_INTERRUPTED, EXIT_OK,
                     EXIT_SIMULATION, EXIT_USAGE, SimulationError, UsageError)
from .midi import midi_play
from .debug import add_debug_options, debug_options
from .mixer import format_mixer, mixer_snapshot
from .outputs import STDIO, atomic_write_text, check_outputs
from .play import play, record, volume_note
from .progress import Progress
from .session import Session

__all__ = ["main", "build_parser"]

SIMULATORS = ("verilator", "icarus")
#: options whose value is a number that may be negative or inf/nan (argparse would take
#: "-10" or "-inf" for an option name)
NUMERIC_OPTIONS = ("--volume", "--seconds", "--tone", "--clk-hz")


def _print_json(report, omit=()):
    print(json.dumps({k: v for k, v in report.items() if k not in omit}, indent=2))


def cmd_verilog(args):
    if args.top not in TOPS:
        raise UsageError(f"unknown top {args.top!r} (choose {', '.join(TOPS)})")
    folder = Path(args.output)
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"-o {folder} is a file; name a folder")
    if not folder.exists():
        raise UsageError(f"-o {folder}: no such folder")
    out = check_outputs({"output file": folder / f"{args.top}.v"})["output file"]
    try:
        text = verilog_text(args.top, args.clk_hz)
    except ValueError as exc:
        raise UsageError(str(exc)) from None
    atomic_write_text(out, text)
    print(f"wrote {out} ({len(text.splitlines())} lines, top module {args.top}, "
          f"{args.clk_hz} Hz)")


def cmd_regmap(args):
    render = {"md": REGMAP.to_markdown, "c": REGMAP.to_c_header, "json": REGMAP.to_json}
    if args.output in (None, STDIO):
        sys.stdout.write(render[args.format]())
        return
    out = check_outputs({"output file": args.output})["output file"]
    atomic_write_text(out, render[args.format]())


def _packet_mode_option(parser):
    parser.add_argument("--packet-mode", action="store_true",
                        help="stream in WaveRT packets (Windows 10's low-latency path; needs "
                             "--miniport wavert)")


def cmd_play(args):
    if args.target != "sim":
        return board.play_on_target(args)
    note = volume_note(args.volume)
    if note:
        print(f"pcsim: note: {note}", file=sys.stderr)
    report = play(args.input, args.out, sim=args.sim, miniport=args.miniport,
                  report_path=args.report, volume_db=args.volume, mute=args.mute,
                  seconds=args.seconds, allow_long=args.allow_long,
                  packet_mode=args.packet_mode, pgo=args.pgo, debug=debug_options(args))
    if not args.quiet:
        _print_json(report)
    verdict = "bit-exact" if report["bit_exact"] else \
        f"NOT bit-exact ({report['mismatched_frames']} frames differ)"
    if args.volume is not None or args.mute:
        verdict += (f" at {report['volume_db']:+.2f} dB" +
                    (", muted" if report["mute"] else "") + " (codec gain model, "
                    f"{report['clipped_samples']} samples clipped)")
    print(f"pcsim play: {report['frames_out']} of {report['frames_in']} frames reached the "
          f"DAC, {verdict}, {report['underruns']} underruns; wrote {report['output']}",
          file=sys.stderr)
    ok = report["bit_exact"] and report["frames_out"] == report["frames_in"]
    return EXIT_OK if ok else EXIT_CHECK_FAILED


def cmd_record(args):
    report = record(args.output, args.seconds, in_wav=args.input, tone_hz=args.tone,
                    sim=args.sim, miniport=args.miniport, report_path=args.report,
                    allow_long=args.allow_long, packet_mode=args.packet_mode,
                    pgo=args.pgo, debug=debug_options(args))
    if not args.quiet:
        _print_json(report)
    verdict = "bit-exact" if report["bit_exact"] else "NOT bit-exact"
    print(f"pcsim record: {report['frames_out']} frames from the microphone ({verdict}), "
          f"{report['underruns']} overruns; wrote {report['output']}", file=sys.stderr)
    return EXIT_OK if report["bit_exact"] else EXIT_CHECK_FAILED


def cmd_midi_play(args):
    report = midi_play(args.input, dmus=args.dmus, sim=args.sim, seconds=args.seconds,
                       report_path=args.report, allow_long=args.allow_long,
                       pgo=args.pgo, debug=debug_options(args))
    if not args.quiet:
        _print_json(report, omit=("messages",))
    verdict = "intact and in order" if report["intact"] else "NOT intact"
    print(f"pcsim midi play: {report['messages_on_wire']} of {report['messages_played']} "
          f"messages on the wire through the {report['port']} port, {verdict}; max timing "
          f"error {report['max_timing_error_us']:.1f} us", file=sys.stderr)
    return EXIT_OK if report["intact"] else EXIT_CHECK_FAILED


def cmd_mixer(args):
    snapshot = mixer_snapshot(args.sim, debug_options(args))
    sys.stdout.write(json.dumps(snapshot, indent=2) + "\n" if args.json
                     else format_mixer(snapshot))


def cmd_demo(args):
    return demo.main(sim=args.sim)


def cmd_bench(args):
    return bench.run(sims=args.sim, seconds=args.seconds, path=args.path,
                     miniport=args.miniport, pgo=args.pgo, json_path=args.json)


def cmd_campaign(args):
    if args.merge:
        outputs = campaign.check_report_path(args.report, args.merge) if args.report else {}
        report = campaign.merge_reports(args.merge)
    elif args.replay is not None:
        outputs = campaign.check_report_path(args.report) if args.report else {}
        with Session(f"scenario {args.replay}", {}) as session:
            workdir = Path(args.keep) if args.keep else session.workdir / "job"
            report = session.run_with(campaign.replay, args.replay, args.sim, workdir,
                                      args.sabotage, job_dir=workdir)
    else:
        outputs = campaign.check_report_path(args.report) if args.report else {}
        bar = Progress("campaign", unit="scenarios")
        try:
            report = campaign.run_campaign(args.scenarios, args.seed, sim=args.sim,
                                           shard=campaign.parse_shard(args.shard),
                                           jobs=args.jobs, sabotage=args.sabotage,
                                           keep_dir=args.keep_dir, on_done=bar)
        finally:
            bar.close()
    if outputs:
        campaign.write_report(outputs["report file"], report)
    if not args.quiet:
        sys.stdout.write(campaign.summary_table(report) if "scenarios" in report
                         else json.dumps(report, indent=2) + "\n")
    failed = report["failures"] if "scenarios" in report else report["violations"]
    return EXIT_CHECK_FAILED if failed else EXIT_OK


def _number(kind, check, what):
    """An argparse type: a float (inf and nan included) that must pass ``check``."""
    def parse(text):
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not check(value):
            raise argparse.ArgumentTypeError(f"{what}, not {text}")
        return kind(value)
    return parse


finite = _number(float, math.isfinite, "must be a finite number")
positive_seconds = _number(float, lambda v: math.isfinite(v) and v > 0,
                           "must be a positive, finite number of seconds")
positive_hz = _number(float, lambda v: math.isfinite(v) and v > 0,
                      "must be a positive, finite frequency")
positive_int = _number(int, lambda v: math.isfinite(v) and v >= 1 and v == int(v),
                       "must be a positive whole number")


def _simulator_option(parser):
    parser.add_argument("--sim", choices=SIMULATORS, default="verilator",
                        help="the simulator (default: verilator)")


def _run_options(parser):
    """Options every simulating command with a report shares."""
    _simulator_option(parser)
    add_debug_options(parser)
    parser.add_argument("--report", metavar="R.json", help="write the JSON report here")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="do not print the report on standard output")
    parser.add_argument("--allow-long", action="store_true",
                        help="start even if the run is estimated to take over an hour")
    parser.add_argument("--pgo", action="store_true",
                        help="Verilator: the profile-guided build (built once per design, a "
                             "few minutes more the first time; then about 1.4-1.6x as fast; "
                             "not with --waves)")


def _epilog():
    return "exit status:\n" + "\n".join(f"  {code:3d}  {text}"
                                        for code, text in EXIT_CODES.items())


class _Parser(argparse.ArgumentParser):
    """argparse's parser with the exit statuses in every --help and one-line errors."""

    def __init__(self, *a, **kw):
        kw.setdefault("epilog", _epilog())
        kw.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*a, **kw)

    def error(self, message):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message}\n")


def build_parser():
    p = _Parser(prog="pcsim", description=__doc__)
    p.add_argument("--version", action="version", version=f"pcsim {__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND",
                           parser_class=_Parser)

    v = sub.add_parser("verilog", help="export the hardware as Verilog")
    v.add_argument("-o", "--output", default=".", help="output folder (default: .)")
    v.add_argument("--top", default="audio_soc", help=f"one of {', '.join(TOPS)}")
    v.add_argument("--clk-hz", type=positive_int, default=DEFAULT_CLK_HZ,
                   help="clock frequency, a multiple of 48 kHz >= 12.288 MHz")
    v.set_defaults(func=cmd_verilog)

    r = sub.add_parser("regmap", help="export the register map")
    r.add_argument("--format", choices=("md", "c", "json"), default="md")
    r.add_argument("-o", "--output", help="output file (default or '-': standard output)")
    r.set_defaults(func=cmd_regmap)

    pl = sub.add_parser("play", help="play a WAV through the driver stack to the DAC")
    pl.add_argument("input", metavar="IN.wav")
    pl.add_argument("--out", metavar="OUT.wav", help="what reached the DAC (default: "
                    "IN_out.wav beside the input)")
    pl.add_argument("--miniport", choices=MINIPORTS, default="wavert")
    pl.add_argument("--volume", type=finite, metavar="DB",
                    help="headphone volume in dB (-71.25 .. +24 in 0.75 dB steps; rounded to "
                         "the nearest step, clamped to the range)")
    pl.add_argument("--mute", action="store_true", help="mute the headphone output")
    pl.add_argument("--seconds", type=positive_seconds, metavar="S",
                    help="play only the first S seconds")
    _packet_mode_option(pl)
    _run_options(pl)
    board.add_play_target(pl)
    pl.set_defaults(func=cmd_play)

    rc = sub.add_parser("record", help="record from the microphone through the driver stack")
    rc.add_argument("output", metavar="OUT.wav")
    rc.add_argument("--seconds", type=positive_seconds, required=True,
                    help="how much to record")
    src = rc.add_mutually_exclusive_group(required=True)
    src.add_argument("--in", dest="input", metavar="IN.wav", help="feed the microphone a WAV")
    src.add_argument("--tone", type=positive_hz, metavar="HZ", help="feed the microphone a sine")
    rc.add_argument("--miniport", choices=MINIPORTS, default="wavert")
    _packet_mode_option(rc)
    _run_options(rc)
    rc.set_defaults(func=cmd_record)

    md = sub.add_parser("midi", help="MIDI through the MIDI or DMus port")
    msub = md.add_subparsers(dest="midi_command", required=True, metavar="ACTION",
                             parser_class=_Parser)
    mp = msub.add_parser("play", help="play a standard MIDI file (type 0 or 1) to the wire")
    mp.add_argument("input", metavar="FILE.mid")
    mp.add_argument("--dmus", action="store_true",
                    help="through the DMus port and the hardware's timestamped queue "
                         "(default: the MIDI port, timed by the application)")
    mp.add_argument("--seconds", type=positive_seconds, metavar="S",
                    help="play only the first S seconds (then All Notes Off)")
    _run_options(mp)
    mp.set_defaults(func=cmd_midi_play)

    mx = sub.add_parser("mixer", help="print the topology (nodes, connections, values)")
    _simulator_option(mx)
    add_debug_options(mx)
    mx.add_argument("--json", action="store_true", help="print it as JSON")
    mx.set_defaults(func=cmd_mixer)

    d = sub.add_parser("demo", help="play the bundled example through the stack and check it")
    _simulator_option(d)
    d.set_defaults(func=cmd_demo)

    b = sub.add_parser("bench", help="measure streaming speed on the simulators")
    b.add_argument("--sim", nargs="+", choices=SIMULATORS, default=list(SIMULATORS))
    b.add_argument("--seconds", type=positive_seconds, default=1.0,
                   help="audio seconds per run")
    b.add_argument("--path", choices=("register", "stack"), default="register",
                   help="register-level code on SD1 (default) or pcsim play through the "
                        "driver stack")
    b.add_argument("--miniport", choices=MINIPORTS, default="wavert",
                   help="the wave miniport of the stack path")
    b.add_argument("--no-pgo", dest="pgo", action="store_false",
                   help="Verilator: the plain build, not the profile-guided one")
    b.add_argument("--json", metavar="FILE", help="also write the results here")
    b.set_defaults(func=cmd_bench)

    c = sub.add_parser("campaign", help="randomized fault scenarios through the whole stack")
    c.add_argument("--scenarios", type=positive_int, default=100, metavar="N",
                   help="scenarios in the campaign (default: 100)")
    c.add_argument("--seed", type=int, default=1, metavar="S", help="the campaign's seed")
    c.add_argument("--shard", default="0/1", metavar="I/K",
                   help="run only scenarios i with i %% K == I (reports merge with --merge)")
    c.add_argument("--jobs", type=positive_int, metavar="J",
                   help="scenarios run at once (default: the number of cores)")
    c.add_argument("--keep-dir", metavar="DIR",
                   help="where failed scenarios' folders are kept (default: a new "
                        "temporary folder, named in the report)")
    c.add_argument("--replay", type=int, metavar="SEED",
                   help="run exactly the scenario with this seed (a failure's repro)")
    c.add_argument("--keep", metavar="DIR", help=argparse.SUPPRESS)
    c.add_argument("--merge", nargs="+", metavar="R.json", help="merge shard reports")
    c.add_argument("--sabotage", choices=("drop_buffer",), help=argparse.SUPPRESS)
    _simulator_option(c)
    c.add_argument("--report", metavar="R.json", help="write the JSON report here")
    c.add_argument("-q", "--quiet", action="store_true", help="print nothing on success")
    c.set_defaults(func=cmd_campaign)

    board.add_board_commands(sub, MINIPORTS)    # fpga build/program, board play
    return p


def join_numeric_values(argv):
    """``--volume -10`` -> ``--volume=-10``: argparse takes a value starting with '-' for an
    option unless it is joined to its option."""
    out, i = [], 0
    while i < len(argv):
        arg = argv[i]
        if arg in NUMERIC_OPTIONS and i + 1 < len(argv) and argv[i + 1].startswith("-"):
            out.append(f"{arg}={argv[i + 1]}")
            i += 2
            continue
        out.append(arg)
        i += 1
    return out


def _terminate(signum, frame):
    """SIGTERM ends a run like Ctrl-C: the simulator is stopped, temporary files removed."""
    raise KeyboardInterrupt


def main(argv=None):
    parser = build_parser()
    args = parser.parse_args(join_numeric_values(sys.argv[1:] if argv is None else argv))
    previous = signal.signal(signal.SIGTERM, _terminate)
    try:
        status = args.func(args)
    except (UsageError, SimulationError) as exc:
        print(f"pcsim: error: {exc}", file=sys.stderr)
        return EXIT_USAGE if isinstance(exc, UsageError) else EXIT_SIMULATION
    except KeyboardInterrupt:
        print("pcsim: interrupted; no output written", file=sys.stderr)
        return EXIT_INTERRUPTED
    finally:
        signal.signal(signal.SIGTERM, previous)
    return int(status or 0)

