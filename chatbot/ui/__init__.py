"""The web app: Gradio Blocks, the chat handler, the feedback log."""
