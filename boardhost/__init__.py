"""The board seen from the host: bitstreams (:mod:`~boardhost.fpga`), the UARTBone client
(:mod:`~boardhost.bridge`), the HAL that runs the drivers against a board
(:mod:`~boardhost.hal`, :mod:`~boardhost.system`) and the simulated board
(:mod:`~boardhost.boardsim`)."""
