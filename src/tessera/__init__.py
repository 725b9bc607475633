"""Tessera: a privacy-preserving health data space for cancer research.

Each organisation's data is one tile; a patient's full journey is a mosaic that is
never assembled in one place.
"""

__version__ = "0.1.0"
