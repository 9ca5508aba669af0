"""fuzzplug: differential fuzzing of Linux mm patches through executable models."""

__version__ = "0.1.0"
