"""Layers: each file holds one concept, its forward and backward side by side."""
