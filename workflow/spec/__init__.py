"""The definitions and plans as validated, frozen specs: parsing, lint, content rules."""
