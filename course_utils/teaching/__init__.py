"""What the notebooks show and check: plots and audio players, exercises."""
