"""TODO: what the _qt room is for."""
