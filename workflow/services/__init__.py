"""The engine's capabilities, side by side, each over the store and the registry."""
