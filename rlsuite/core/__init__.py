"""The bottom layer: what every other layer may use and nothing here imports from above."""

__version__ = "0.1.0"
