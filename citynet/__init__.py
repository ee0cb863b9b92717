"""citynet: networks of Chinese cities from patent records, and the panels and regressions built on them."""

__version__ = "0.1.0"
