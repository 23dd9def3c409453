"""Board tops for ECP5 boards: :mod:`rtl.boards.tops` (the tops, the board table and the
pin mapping) and :mod:`rtl.boards.pll` (the EHXPLLL)."""
