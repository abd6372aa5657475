"""What a user runs: the command line (``cli``), sweeps (``sweep/``), benchmarks (``bench*``), the
textbook figures, reports and plots, watching and recording a trained agent, the exact solver's
command, and the demo. The top layer below the public API: it may import every layer."""
