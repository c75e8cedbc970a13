"""Speed and memory goals of pytest-gomodnet, measured side by side: ``python -m bench``."""
