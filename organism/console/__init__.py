"""The operator console: a page and its assets, served by the organism's ingress from this package."""
