"""``territory bench``: our pages and computations against the naive way (not installed)."""
