"""The `hf-fair-compress` command line."""
