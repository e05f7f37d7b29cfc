"""Adapters: one folder per counterpart, each with codec, rules, mapping and transport."""
