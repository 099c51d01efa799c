"""The SageMaker training entry point and the model artifacts it exchanges with the lake."""
