"""TODO: what the _pipeline room is for."""
