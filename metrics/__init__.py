"""metrics layer (see DESIGN.md §1)."""
