"""Species classification of detections, and what it suggests for each cluster."""
