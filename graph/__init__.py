"""graph layer (see DESIGN.md §1)."""
