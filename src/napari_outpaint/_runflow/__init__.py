"""TODO: what the _runflow room is for."""
