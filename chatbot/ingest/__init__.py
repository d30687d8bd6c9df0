"""Reading document files (one reader per format) and cutting them into passages."""
