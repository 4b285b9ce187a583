"""The application: the `evidence` command, the demo, doctor and the review web app assembled from every layer.

The composition root sits above the layers (see the README's layout): nothing below imports it.
"""
