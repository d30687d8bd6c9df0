"""Web chat entry point: `python app.py [--host H] [--port N] [--share] [--auth user:pw]
[--documents DIR] [--embeddings DIR] [--model NAME] [--feedback DIR]`."""

import sys

from chatbot.cli import main

if __name__ == "__main__":
    sys.exit(main(["serve", *sys.argv[1:]]))
