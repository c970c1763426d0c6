"""ipywidgets tools for notebooks and Voila apps; the logic lives in library functions."""
