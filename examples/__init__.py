"""Example services instrumented with slokit."""
