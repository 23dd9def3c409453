"""pytest entry for the MIDI cosim tests (tests/midi_tests.py) on both simulators, and unit
tests of the MIDI device model's parser (no simulator)."""

import pytest

from harness.build import build, run, soc_design
from cosim.midi_device import MidiMessage, MidiParser

SIMULATORS = ["icarus", "verilator"]
TESTS = [
    "mpu401_commands_and_reset",
    "midi_out_running_status_and_long_sysex",
    "midi_in_interrupt_handler_drains",
    "midi_in_framing_error",
    "midi_divider_change",
    "midi_timestamp_queue",
]


@pytest.mark.parametrize("sim", SIMULATORS)
@pytest.mark.parametrize("testcase", TESTS)
def test_midi(sim, testcase):
    result = build(soc_design(), sim)
    run(result, "midi_tests", testcase=testcase)


def feed(parser, data, t0=0.0):
    """Feed bytes arriving at t0, t0+1, ...; return the messages."""
    return [m for i, byte in enumerate(data) for m in parser.feed(byte, t0 + i)]


def test_parser_running_status_and_realtime_inside_messages():
    msgs = feed(MidiParser(), [0x90, 0x3C, 0xF8, 0x64, 0x3E, 0x00, 0xFE, 0xC1, 0x05, 0x06])
    assert msgs == [
        MidiMessage(2, b"\xF8"),
        MidiMessage(0, b"\x90\x3C\x64"),
        MidiMessage(4, b"\x90\x3E\x00", running_status=True),
        MidiMessage(6, b"\xFE"),
        MidiMessage(7, b"\xC1\x05"),
        MidiMessage(9, b"\xC1\x06", running_status=True),
    ]


def test_parser_sysex_with_realtime_and_system_common():
    parser = MidiParser()
    msgs = feed(parser, [0xF0, 0x7D, 0x01, 0xFA, 0x02, 0xF7, 0x45, 0xF2, 0x10, 0x20, 0xF6,
                         0xF0, 0x03, 0x91, 0x40, 0x50, 0xF7])
    assert msgs == [
        MidiMessage(3, b"\xFA"),
        MidiMessage(0, b"\xF0\x7D\x01\x02\xF7"),
        MidiMessage(7, b"\xF2\x10\x20"),          # 0x45 had no status: stray
        MidiMessage(10, b"\xF6"),
        MidiMessage(11, b"\xF0\x03"),              # a status byte ends the sysex early
        MidiMessage(13, b"\x91\x40\x50"),
    ]
    assert [(b.time_ns, b.value) for b in parser.stray] == [(6, 0x45), (16, 0xF7)]
