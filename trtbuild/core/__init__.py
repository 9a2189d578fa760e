"""The foundation: errors, host facts, digests, atomic writes, the stage cache and the engine set; stdlib, pydantic
and matplotlib only. The build and the runtime both stand on it."""
