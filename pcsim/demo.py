"""``make demo``: play the bundled example through the whole driver stack (client, WaveRT
port and miniport, registers, DMA, codec) and print the report; exit 0 only if the DAC
output equals the input bit for bit."""

import json
from pathlib import Path

from .errors import EXIT_CHECK_FAILED, EXIT_OK
from .play import play

__all__ = ["main", "EXAMPLE"]

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "hello.wav"


def main(sim="verilator", wav=EXAMPLE, out="demo_out.wav", report="demo_report.json"):
    print(f"demo: playing {Path(wav).name} through client -> WaveRT port -> WaveRT miniport "
          f"-> controller -> codec on {sim}", flush=True)
    result = play(wav, out, sim=sim, report_path=report)
    print(json.dumps(result, indent=2))
    ok = result["bit_exact"] and result["frames_out"] == result["frames_in"]
    verdict = "bit-exact" if ok else f"MISMATCH ({result['mismatched_frames']} frames differ)"
    print(f"demo: DAC output {verdict}; wrote {out} and {report}")
    return EXIT_OK if ok else EXIT_CHECK_FAILED
