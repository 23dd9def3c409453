"""The board seen from the host: bitstreams (fpga), the UARTBone client and the HAL that runs the drivers against a board."""
