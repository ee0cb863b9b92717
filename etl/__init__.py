"""ETL layer: raw vendor exports to the canonical tables (DESIGN §3).

This layer knows nothing of graphs, metrics or regressions.
"""
