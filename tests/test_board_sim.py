"""The simulated board (Verilator, boardhost.boardsim): the host talks UARTBone bytes over the
simulated USB-UART to the bridge, the registers and the board RAM; ``pcsim play --target
board-sim`` plays a WAV through the driver stack to the I2S pins, bit for bit. The bridge's
bandwidth and register-read latency are measured and printed (pytest -s shows them)."""

import json

import pytest

from boardhost.boardsim import BoardSim
from boardhost.bridge import BridgeClient, BridgeTimeout, encode_frame
from pcsim.cli import main
from rtl.bridge_map import CMD_READ, RAM_BASE
from rtl.regmap import REGMAP

from test_play import speech

GCTL, INTCTL, SD1CTL, SD1STS = (REGMAP[n] for n in ("GCTL", "INTCTL", "SD1CTL", "SD1STS"))


@pytest.fixture(scope="module")
def board(tmp_path_factory):
    sim = BoardSim(tmp_path_factory.mktemp("board"))
    yield sim, BridgeClient(sim)
    sim.close()


def test_registers_and_ram_through_the_bridge(board):
    sim, client = board
    gcap = client.read_register_word(0)
    assert gcap & 0xFFFF == REGMAP["GCAP"].reset and gcap >> 24 == REGMAP["VMAJ"].reset
    client.write_register_bytes(GCTL.offset, (1).to_bytes(4, "little"))     # out of reset
    sim.advance_to(sim.now_100ns() + 10)
    assert GCTL.field("CRST").get(client.read_register_word(GCTL.offset)) == 1
    # one byte of a word: the strobe window leaves the other bytes alone
    client.write_register_bytes(INTCTL.offset, (0x80000003).to_bytes(4, "little"))
    client.write_register_bytes(INTCTL.offset + 3, b"\x40")
    assert client.read_register_word(INTCTL.offset) == 0x40000003
    client.write_register_bytes(SD1CTL.offset, (1 << 20 | 1 << 2).to_bytes(3, "little"))
    assert client.read_register_word(SD1CTL.offset) & 0xFFFFFF == 1 << 20 | 1 << 2
    data = bytes(range(7, 250))
    client.write_ram(RAM_BASE + 0x1003, data)               # unaligned at both ends
    assert client.read_ram(RAM_BASE + 0x1003, len(data)) == data
    assert client.read_ram(RAM_BASE + 0x1000, 3) == bytes(3)
    # latency of one register read: 6 bytes out, 4 back, 10 bits each at the board's rate
    start, reads = sim.now_100ns(), 20
    for _ in range(reads):
        client.read_register_word(0)
    latency_us = (sim.now_100ns() - start) / reads / 10
    wire_us = 10 * 10 * sim.uart_div / sim.clk_hz * 1e6
    print(f"\nregister read: {latency_us:.1f} us (the 10 bytes on the wire: {wire_us:.1f} us)")
    assert wire_us <= latency_us < wire_us + 3


def test_truncated_frame_recovers(board):
    """Half a frame, then silence past the bridge's timeout: the next frame is served."""
    sim, client = board
    sim.write(encode_frame(CMD_READ, 0, length=1)[:3])
    sim.advance_to(sim.now_100ns() + 1_100_000)             # 110 ms > the 100 ms timeout
    assert client.read_register_word(0) & 0xFFFF == REGMAP["GCAP"].reset


def test_no_answer_is_a_timeout(board):
    sim, client = board
    sim.write(b"\x00" * 6)                                  # an unknown command: no answer
    with pytest.raises(BridgeTimeout):
        sim.read(4)


def test_play_on_the_simulated_board_is_bit_exact(tmp_path, capsys):
    """Speech through the bridge HAL, WaveRT port and miniport, controller, codec and I2S
    serializer: the I2S receiver on the Pmod pins gets every sample; the bridge carries
    what 16-bit stereo at 48 kHz needs."""
    src = speech(tmp_path, 4800)
    out, report_path = tmp_path / "out.wav", tmp_path / "r.json"
    status = main(["play", str(src), "--target", "board-sim", "--out", str(out),
                   "--report", str(report_path), "-q"])
    report = json.loads(report_path.read_text())
    assert status == 0 and report["bit_exact"] and report["frames_out"] == 4800
    assert report["underruns"] == 0 and report["interrupts"] > 0
    assert report["bridge_bytes_per_s"] > report["audio_bytes_per_s"]
    line = capsys.readouterr().err
    assert "bit-exact" in line and "kB/s" in line
    print(f"\n{line.strip()}")


def test_board_sim_rejects_volume(tmp_path):
    src = speech(tmp_path, 10)
    assert main(["play", str(src), "--target", "board-sim", "--volume", "-6"]) == 2
