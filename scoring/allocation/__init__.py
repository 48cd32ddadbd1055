"""Allocation: who labels what next (docs/allocation.md). Pure functions, one step per module:

config (constants, weights) -> candidates (eligible pairs, bounded) -> formulas/scorers
(pair scores) -> matching/capacity/shared_capacity (min-cost flows under capacities) ->
plan/metrics (plan rows, constraint columns, expected figures) -> pipeline (the stage);
adapters build the inputs from the lake, pareto sweeps weights, synthetic feeds the bench.
"""
