"""TODO: what the _layers room is for."""
