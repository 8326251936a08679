"""Notebooks: find their variables, inject a run's values, execute, export."""
