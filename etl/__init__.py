"""ETL layer: raw vendor exports to the canonical tables.

This layer knows nothing of graphs, metrics or regressions.
"""
