"""TODO: what the _imaging room is for."""
