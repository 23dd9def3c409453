"""``make demo``: stream the bundled WAV through SD1 with register-level code on the
simulated device and check that the DAC output equals the input bit for bit."""

import json
import sys
import tempfile
from pathlib import Path

from .jobs import run_job
from .wavio import read_wav, write_wav

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "hello.wav"


def main(sim="verilator", wav=EXAMPLE, out=None):
    pcm = read_wav(wav)
    out = Path(out) if out else Path("demo_out.wav")
    with tempfile.TemporaryDirectory(prefix="pcsim-demo-") as tmp:
        pcm_file = Path(tmp) / "input.pcm"
        pcm_file.write_bytes(pcm.data)
        print(f"demo: {wav.name}: {pcm.frames} frames, {pcm.channels} ch, {pcm.bits}-bit, "
              f"{pcm.rate} Hz -> SD1 -> codec DAC A on {sim}", flush=True)
        report = run_job(sim, pcm_file, pcm.channels, pcm.bits, Path(tmp) / "job")
        raw = Path(report.pop("dac_out")).read_bytes()
    frames = []
    for i in range(0, len(raw), 6):
        left = int.from_bytes(raw[i:i + 3], "little", signed=True)
        right = int.from_bytes(raw[i + 3:i + 6], "little", signed=True)
        frames.append((left, right))
    write_wav(out, frames, pcm.channels, pcm.bits, pcm.rate)
    audio_s = pcm.frames / pcm.rate
    report["audio_s"] = audio_s
    report["audio_s_per_wall_s"] = audio_s / report["wall_s"] if report["wall_s"] else 0
    print(json.dumps(report, indent=2))
    verdict = "bit-exact" if report["bit_exact"] else \
        f"MISMATCH ({report['mismatched_frames']} frames differ)"
    print(f"demo: DAC output {verdict}; wrote {out}")
    return 0 if report["bit_exact"] else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
