"""The phyper example: small neural networks on Iris over a grid of hyperparameters.

Run it with ``snakemake -j8 all`` from the repository root (or ``make demo``).
"""
