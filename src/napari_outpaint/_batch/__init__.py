"""TODO: what the _batch room is for."""
