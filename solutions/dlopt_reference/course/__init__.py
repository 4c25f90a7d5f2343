"""Instructor tooling: student versions of the exercises, the book build, leak checks.

Run ``python -m dlopt_reference.course --help`` from the course root.
"""
