"""Make the walk-through of docs/debugging.md: a DPC-latency glitch, from the timeline to the
waveform, and the GTKWave screenshot it shows (docs/debugging-gtkwave.png).

It runs ``dpc_latency_spike_glitches_and_recovers`` of tests/wavert_tests.py (WaveRT render;
the DPC is held back for three buffers) with waves and the drivers' timeline, finds the port's GLITCH line in the timeline,
takes the interrupt whose DPC came too late, writes the GTKWave save file and opens it under
Xvfb zoomed on that interrupt, and grabs the screen.

    python tools/debug_walkthrough.py [--sim verilator|icarus] [--png docs/debugging-gtkwave.png]

Needs gtkwave, xvfb-run and ImageMagick's ``import`` (apt-get install gtkwave xvfb
imagemagick). Prints the timeline lines around the glitch, as quoted in the document.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from harness.build import build, run, soc_design  # noqa: E402
from harness.gtkw import write_save_file  # noqa: E402

#: the view: from a little before the late interrupt to a little after the glitch (ps)
BEFORE_PS, AFTER_PS = 300_000, 700_000
SCREEN = "1600x1000x24"
#: how long GTKWave gets to load and draw before the screen is grabbed (s)
DRAW_WAIT_S = 8


def timeline_events(path):
    """``[(time_ps, component, event, detail)]`` of a timeline file."""
    out = []
    for line in Path(path).read_text().splitlines():
        m = re.match(r"\s*(\d+)\.(\d{3}) ns  (\S+)\s+(\S+)\s*(.*)", line)
        if m:
            out.append((int(m[1]) * 1000 + int(m[2]), m[3], m[4], m[5]))
    return out


def glitch_window(events):
    """The view around the first glitch: from the last ISR before it to just after it."""
    glitch = next(e for e in events if e[2] == "GLITCH")
    isr = max(e[0] for e in events if e[2] == "ISR_ENTER" and e[0] < glitch[0])
    return glitch, isr - BEFORE_PS, glitch[0] + AFTER_PS


def screenshot(save_file, start_ps, end_ps, png):
    """Open ``save_file`` in GTKWave under Xvfb, zoomed on the window, and grab the screen."""
    for tool in ("gtkwave", "xvfb-run", "import"):
        if shutil.which(tool) is None:
            sys.exit(f"debug_walkthrough: {tool} is missing (apt-get install gtkwave xvfb "
                     f"imagemagick)")
    script = Path(save_file).with_suffix(".tcl")
    script.write_text(f"gtkwave::setZoomRangeTimes {start_ps} {end_ps}\n")
    shell = (f"gtkwave -S {script} {save_file} >/dev/null 2>&1 & "
             f"sleep {DRAW_WAIT_S}; import -window root {png}; kill $!")
    subprocess.run(["xvfb-run", "-a", "-s", f"-screen 0 {SCREEN}", "sh", "-c", shell],
                   check=True, timeout=120)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sim", choices=("verilator", "icarus"), default="verilator")
    parser.add_argument("--png", default=str(REPO / "docs" / "debugging-gtkwave.png"))
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="pcsim-walkthrough-"))
    waves = work / "glitch.fst"
    run(build(soc_design(), args.sim, waves="fst"), "wavert_tests",
        testcase="dpc_latency_spike_glitches_and_recovers",
        test_dir=work / "sim", test_module_dir=REPO / "tests", waves_file=waves)
    events = timeline_events(work / "sim" / "timeline.txt")
    glitch, start, end = glitch_window(events)
    print("the interrupts and DPCs up to the glitch:")
    for e in events:
        if e[0] <= glitch[0] and e[2].split("_")[0] in ("ISR", "DPC", "GLITCH", "KSSTATE"):
            print(f"{e[0] / 1e6:12.3f} us  {e[1]:<9}{e[2]:<16}{e[3]}")
    print("everything in the view:")
    for e in events:
        if start <= e[0] <= end:
            print(f"{e[0] / 1e6:12.3f} us  {e[1]:<9}{e[2]:<16}{e[3]}")
    save_file = write_save_file(waves)
    screenshot(save_file, start, end, Path(args.png).resolve())
    print(f"waves {waves}, view {save_file}, screenshot {args.png}")


if __name__ == "__main__":
    main()
