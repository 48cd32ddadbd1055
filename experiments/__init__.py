"""Synthetic labeling platform (generator), policy simulation, A/B analysis, forecasting."""
