"""The bottom layer: settings, errors, timing and locks. Imports nothing else of ours."""
