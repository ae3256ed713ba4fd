"""Diagrams, reports, dossiers and notices, drawn from the services' reads."""
