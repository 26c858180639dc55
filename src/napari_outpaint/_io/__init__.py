"""TODO: what the _io room is for."""
