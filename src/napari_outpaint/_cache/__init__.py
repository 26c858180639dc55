"""TODO: what the _cache room is for."""
