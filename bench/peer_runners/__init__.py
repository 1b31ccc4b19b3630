"""Scripts run with a peer tool's own venv python (not imported by the project): each re-trains the
benchmark model and times one peer scan. See `bench.peers`."""
