"""Reading and writing raw tracking results in every common layout (never imports torch)."""
