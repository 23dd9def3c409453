"""The board commands' user errors: one line, exit status 2, nothing written."""

from test_play import make_wav, one_line_error, pcsim


def test_board_play_missing_file(tmp_path):
    one_line_error(pcsim("board", "play", tmp_path / "none.wav", "--port", "/dev/ttyUSB9"),
                   "none.wav")


def test_board_play_bad_port(tmp_path):
    src = make_wav(tmp_path / "in.wav")
    one_line_error(pcsim("board", "play", src, "--port", tmp_path / "no-such-tty"),
                   "cannot open")


def test_fpga_unknown_board():
    result = pcsim("fpga", "build", "--board", "ulx3s-12f")
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_board_sim_refuses_seconds(tmp_path):
    src = make_wav(tmp_path / "in.wav")
    one_line_error(pcsim("play", src, "--target", "board-sim", "--seconds", "0.01"),
                   "not available with --target board-sim")
    assert not (tmp_path / "in_board.wav").exists()
