"""Labelled datasets, FER+ crowd votes, scores, and run folders: shared by evaluate and training/."""
