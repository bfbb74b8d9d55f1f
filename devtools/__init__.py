"""Maintainer helpers for the dockwright template, shared by tasks.py, noxfile.py and tests/."""
