"""``type=`` converters of the command lines' integer options (argparse reports their errors)."""

import argparse

__all__ = ["nonneg_int", "positive_int"]


def nonneg_int(text):
    """An integer >= 0, or an ``argparse.ArgumentTypeError`` saying what was wrong."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a non-negative integer, got {value}")
    return value


def positive_int(text):
    """An integer >= 1, or an ``argparse.ArgumentTypeError`` saying what was wrong."""
    value = nonneg_int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value
