"""The onboarding API example: a Starlette app with slokit's middleware, fault knobs, traffic and a live demo.

Run ``make demo`` from the repository root (see docs/demo.md).
"""
