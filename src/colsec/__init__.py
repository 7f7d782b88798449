"""colsec: collective cyber security and crisis response for an alliance of national CERTs."""

__all__ = ["__version__"]

__version__ = "0.1.0"
