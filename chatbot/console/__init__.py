"""The operator's console (issue 20): the question log, health and metrics, the OpenAI-compatible API."""
