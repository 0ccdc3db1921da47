"""Texts, views and rendering: pure functions from state to what a person sees."""
