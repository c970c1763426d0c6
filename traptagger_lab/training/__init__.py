"""Species-classifier training: crops, training CSV, label translation, training, evaluation."""
