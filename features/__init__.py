"""Feature definitions: pure DataFrame -> DataFrame functions and the feature-set registry."""
