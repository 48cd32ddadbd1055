"""Probabilistic confidence models and allocation scoring/matching, as pure functions."""
