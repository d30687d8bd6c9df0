"""From a question to ranked passages: hybrid dense + keyword search, place and fact-kind checks."""
