"""This device's drivers (adapter, WaveRT, WavePci, WaveCyclic, Topology, MIDI, DMus). They use
``portdrv`` and the register-map data in ``rtl.regmap`` only; never ``cosim``."""
